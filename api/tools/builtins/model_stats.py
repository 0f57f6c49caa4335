"""``model_stats``: how each model has behaved, from the message rows themselves.

A prompt engineer comparing models asks "which one is faster, wordier, more often cut
off by max_tokens?". Every reply row already records its model, token usage, finish
reason, time to first token and duration, so one GROUP BY with ``percentile_cont``
answers it per model (or per model and prompt version of the library, to see whether
v3 gives shorter answers than v2), for this thread or all the owner's threads (never
another principal's), over any recent window: no separate analytics store, and the
same SQL works from psql.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

from api.tools.base import Tool, ToolContext
from db.models import Message, Thread


class ModelStatsArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Arguments of ``model_stats``."""

    scope: Annotated[
        Literal["thread", "all"],
        msgspec.Meta(
            description='"thread": replies in this conversation; "all": all your threads.'
        ),
    ] = "thread"
    since_hours: (
        Annotated[
            int, msgspec.Meta(ge=1, le=24 * 366, description="Only replies from the last N hours.")
        ]
        | None
    ) = None
    by_prompt_version: Annotated[
        bool,
        msgspec.Meta(
            description="Also group by the prompt (library) version the replies were "
            "generated with: compare prompt versions on each model."
        ),
    ] = False


def _conditions(args: ModelStatsArgs, ctx: ToolContext) -> list[ColumnElement[bool]]:
    conditions = [
        Message.role == "assistant",
        Message.model.is_not(None),
        # A reply still being written has no final numbers yet.
        Message.status != "in_progress",
    ]
    if args.scope == "thread":
        conditions.append(Message.thread_id == ctx.thread_id)
    else:
        owned = select(Thread.id).where(Thread.owner_id == ctx.owner_id)
        conditions.append(Message.thread_id.in_(owned))
    if args.since_hours is not None:
        conditions.append(Message.created_at >= func.now() - timedelta(hours=args.since_hours))
    return conditions


def _query(args: ModelStatsArgs, ctx: ToolContext) -> Any:
    conditions = _conditions(args, ctx)
    keys: list[InstrumentedAttribute[Any]] = [Message.model]
    if args.by_prompt_version:
        keys += [Message.prompt_id, Message.prompt_version]
    names = [key.key for key in keys]
    # Why a reply ended: its finish reason, or its status when it never finished.
    reason = func.coalesce(Message.finish_reason, Message.status).label("reason")
    per_reason = (
        select(*keys, reason, func.count().label("n"))
        .where(*conditions)
        .group_by(*keys, reason)
        .subquery()
    )
    reasons = (
        select(
            *(per_reason.c[name] for name in names),
            func.jsonb_object_agg(per_reason.c.reason, per_reason.c.n, type_=JSONB).label(
                "finish_reasons"
            ),
        )
        .group_by(*(per_reason.c[name] for name in names))
        .subquery()
    )
    timed = Message.duration_ms.is_not(None) & Message.completion_tokens.is_not(None)
    stats = (
        select(
            *keys,
            func.count().label("replies"),
            func.sum(Message.prompt_tokens).label("prompt_tokens"),
            func.sum(Message.completion_tokens).label("completion_tokens"),
            func.avg(Message.completion_tokens).label("avg_completion_tokens"),
            func.percentile_cont(0.5)
            .within_group(Message.time_to_first_token_ms)
            .label("ttft_ms_p50"),
            func.percentile_cont(0.95)
            .within_group(Message.time_to_first_token_ms)
            .label("ttft_ms_p95"),
            func.percentile_cont(0.5).within_group(Message.duration_ms).label("duration_ms_p50"),
            (
                func.sum(Message.completion_tokens).filter(timed)
                * 1000.0
                / func.nullif(func.sum(Message.duration_ms).filter(timed), 0)
            ).label("tokens_per_second"),
        )
        .where(*conditions)
        .group_by(*keys)
        .subquery()
    )
    # NULL prompt columns (replies without a prompt of the library) join as equal.
    same = [reasons.c[name].is_not_distinct_from(stats.c[name]) for name in names]
    return (
        select(stats, reasons.c.finish_reasons)
        .join(reasons, and_(*same))
        .order_by(stats.c.replies.desc(), *(stats.c[name] for name in names))
    )


def _number(value: Any) -> float | None:
    # avg() and sums come back as Decimal; the model wants plain, short numbers.
    return None if value is None else round(float(value), 1)


async def model_stats(args: ModelStatsArgs, ctx: ToolContext) -> dict[str, Any]:
    """Per model: reply count, finish reasons, token totals, latency percentiles, speed."""
    async with ctx.session_factory() as session:
        rows = (await session.execute(_query(args, ctx))).all()
    models = [
        {
            "model": row.model,
            **(
                {
                    "prompt_id": row.prompt_id and str(row.prompt_id),
                    "prompt_version": row.prompt_version,
                }
                if args.by_prompt_version
                else {}
            ),
            "replies": row.replies,
            "finish_reasons": row.finish_reasons,
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "avg_completion_tokens": _number(row.avg_completion_tokens),
            "ttft_ms_p50": _number(row.ttft_ms_p50),
            "ttft_ms_p95": _number(row.ttft_ms_p95),
            "duration_ms_p50": _number(row.duration_ms_p50),
            "tokens_per_second": _number(row.tokens_per_second),
        }
        for row in rows
    ]
    return {
        "scope": args.scope,
        "since_hours": args.since_hours,
        "by_prompt_version": args.by_prompt_version,
        "models": models,
    }


TOOL = Tool(
    name="model_stats",
    description=(
        "Compare how models behaved in this thread or all your threads: replies, finish reasons "
        "(e.g. how often cut off by max_tokens), token usage, time to first token "
        "(p50/p95), duration and tokens per second; by_prompt_version also splits them by the "
        "prompt library version the replies used."
    ),
    arguments=ModelStatsArgs,
    handler=model_stats,
    timeout_s=10,
)
