"""The generation pipeline: call the model, stream its reply to followers, store it.

A generation runs as a task of the app's task group with its own DB session, so
it never depends on the HTTP connection that started it. Text is kept in memory
and written to the assistant row in batches; the final write is shielded from
cancellation so a stop, a shutdown or a dropped client never loses the reply.

When the model calls tools, each round is stored as rows of the message tree: the
assistant turn with its ``tool_calls``, one ``tool`` message per result, then a new
assistant reply, and the model is called again, at most ``max_tool_rounds`` times.
A call of a client-defined function ends the generation with the reply in status
``requires_action`` until the client posts the outputs.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import anyio
import openai
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.errors import UpstreamError, UpstreamTimeoutError
from api.generation.events import (
    DonePayload,
    ErrorPayload,
    Event,
    EventName,
    MessageCompleted,
    MessageCreated,
    MessageDelta,
    encode_payload,
)
from api.generation.reply import Reply, ToolCallBuffer
from api.generation.store import write_events
from api.generation.stream import GenerationStream
from api.generation.tools_step import CallResult, run_calls
from api.llm.errors import describe_upstream_error
from api.llm.router import ModelRouter
from api.messages.mapping import to_message
from api.messages.rows import new_message
from api.messages.schemas import Message
from api.settings import GenerationSettings
from api.tools.base import ToolContext
from api.tools.client import ClientFunction
from api.tools.registry import ToolRegistry
from db import models as m

logger = logging.getLogger(__name__)

# The finish reason of a reply whose model still wanted tools after the last round.
MAX_TOOL_ROUNDS_REASON = "max_tool_rounds"


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """Everything a generation needs, decided and stored by the request handler."""

    generation_id: UUID
    thread_id: UUID
    assistant_id: UUID
    user_id: UUID | None
    announce: list[Message]
    model: str
    params: dict[str, Any]
    context: list[dict[str, Any]]
    # Offered to the model: built-in tool names enabled in the thread, client functions.
    tools: list[str] = field(default_factory=list)
    client_functions: dict[str, ClientFunction] = field(default_factory=dict)


@dataclass(slots=True)
class Turn:
    """The assistant row being written and what the model is sent for it."""

    assistant_id: UUID
    context: list[dict[str, Any]]
    # The row's siblings, known when it was stored: only this generation adds messages
    # to the thread while it runs, so they need not be read back.
    sibling_ids: list[UUID]
    rounds: int = 0


class GenerationRunner:
    """Runs one generation from a stored plan to its final row."""

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        router: ModelRouter,
        registry: ToolRegistry,
        settings: GenerationSettings,
    ) -> None:
        self._engine = engine
        self._session_factory = session_factory
        self._router = router
        self._registry = registry
        self._flush_interval = settings.playground_flush_interval_ms / 1000
        self._flush_chars = settings.playground_flush_chars
        self._max_rounds = settings.playground_max_tool_rounds

    async def run(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        """Generate, publish and store the reply (and its tool rounds); ends with ``done``."""
        for message in plan.announce:
            stream.publish("message.created", encode_payload(MessageCreated(message=message)))
        turn = Turn(
            assistant_id=plan.assistant_id,
            context=list(plan.context),
            sibling_ids=plan.announce[-1].sibling_ids,
        )
        # The same for every round of the generation.
        tools = self._tool_specs(plan)
        async with self._session_factory() as session:
            while True:
                reply = Reply()
                next_turn: Turn | None = None
                try:
                    with anyio.CancelScope() as scope:
                        stream.cancel_scope = scope
                        if stream.cancel_reason is not None:
                            scope.cancel()
                        await self._stream_reply(plan, tools, stream, turn, reply)
                        if reply.status == "completed" and reply.calls:
                            next_turn = await self._tool_round(session, plan, stream, turn, reply)
                    if scope.cancelled_caught:
                        reply.status = stream.cancel_reason or "cancelled"
                        next_turn = None
                except Exception as exc:
                    logger.exception("generation %s failed", plan.generation_id)
                    self._fail(stream, reply, f"internal error: {type(exc).__name__}: {exc}")
                    next_turn = None
                if next_turn is not None:
                    turn = next_turn
                    continue
                with anyio.CancelScope(shield=True):
                    await self._finish(session, plan, stream, turn, reply)
                return

    async def _stream_reply(
        self,
        plan: GenerationPlan,
        tools: list[dict[str, Any]],
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
    ) -> None:
        params = dict(plan.params)
        if tools:
            params["tools"] = tools
        try:
            upstream = await self._router.open_stream(plan.model, turn.context, params)
        except openai.APIError as exc:
            status, detail = describe_upstream_error(exc)
            if stream.opened:
                self._fail(stream, reply, detail)
            else:
                reply.status, reply.error = "failed", detail
                error_class = UpstreamTimeoutError if status == 504 else UpstreamError
                stream.fail_open(error_class(detail))
            return
        stream.mark_opened()
        try:
            async for chunk in upstream:
                if chunk.usage is not None:
                    reply.prompt_tokens = chunk.usage.prompt_tokens
                    reply.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        self._append(stream, turn.assistant_id, reply, delta.content)
                        if self._due(reply):
                            await self._flush(turn.assistant_id, reply)
                    if delta is not None and delta.tool_calls:
                        for fragment in delta.tool_calls:
                            buffer = reply.calls.setdefault(fragment.index, ToolCallBuffer())
                            buffer.id = fragment.id or buffer.id
                            if fragment.function is not None:
                                buffer.name += fragment.function.name or ""
                                buffer.arguments += fragment.function.arguments or ""
                    if choice.finish_reason:
                        reply.finish_reason = choice.finish_reason
            reply.status = "completed"
        except Exception as exc:
            # Anything breaking the stream here (dropped connection, malformed chunk, an
            # error event) comes from the model server: the reply fails, the text is kept.
            self._fail(stream, reply, f"the model server stream broke: {describe_exception(exc)}")
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()

    def _tool_specs(self, plan: GenerationPlan) -> list[dict[str, Any]]:
        specs = self._registry.openai_specs(plan.tools)
        specs.extend(function.openai_spec() for function in plan.client_functions.values())
        return specs

    async def _tool_round(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
    ) -> Turn | None:
        """Run the calls of a finished turn, store the round, and return the next turn
        (None when the generation ends here: round limit, or the client must answer)."""
        turn.rounds += 1
        for call in reply.tool_calls:
            call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
        if turn.rounds > self._max_rounds:
            reply.finish_reason = MAX_TOOL_ROUNDS_REASON
            return None
        results = await run_calls(
            reply.tool_calls,
            assistant_id=turn.assistant_id,
            enabled=set(plan.tools),
            registry=self._registry,
            client_functions=plan.client_functions,
            context=ToolContext(
                session_factory=self._session_factory,
                thread_id=plan.thread_id,
                request_message_id=plan.user_id,
            ),
            stream=stream,
        )
        if any(result.pending for result in results):
            reply.status = "requires_action"
        next_turn: Turn | None = None
        with anyio.CancelScope(shield=True):
            next_turn = await self._store_round(session, plan, stream, turn, reply, results)
        return next_turn

    async def _store_round(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
        results: list[CallResult],
    ) -> Turn | None:
        parent_id = turn.assistant_id
        answered = [result for result in results if not result.pending]
        for result in answered:
            session.add(
                new_message(
                    plan.thread_id,
                    parent_id,
                    "tool",
                    result.outcome.model_text(),
                    id=result.tool_message_id,
                    error=result.outcome.error,
                    tool_call_id=result.call.id,
                )
            )
            # One by one: each tool row's parent must exist, and timestamps must increase.
            await session.flush()
            parent_id = result.tool_message_id
        if reply.status == "requires_action":
            await session.execute(
                update(m.Thread).where(m.Thread.id == plan.thread_id).values(head_id=parent_id)
            )
            await session.commit()
            return None
        finished = await self._update_reply(session, turn, reply)
        # Its server defaults come back with the INSERT (eager_defaults): no read-back.
        placeholder = new_message(
            plan.thread_id,
            parent_id,
            "assistant",
            "",
            status="in_progress",
            model=plan.model,
            params=plan.params,
            request_message_count=len(turn.context) + 1 + len(answered),
        )
        next_id = placeholder.id
        session.add(placeholder)
        await session.flush()
        await session.execute(
            update(m.Generation)
            .where(m.Generation.id == plan.generation_id)
            .values(message_id=next_id)
        )
        await session.execute(
            update(m.Thread)
            .where(m.Thread.id == plan.thread_id)
            .values(head_id=next_id, last_activity_at=func.clock_timestamp())
        )
        await session.commit()
        if finished is not None:
            stream.publish("message.completed", encode_payload(MessageCompleted(message=finished)))
        # The first reply below a new tool row: it has no siblings.
        created = to_message(placeholder, [next_id])
        stream.publish("message.created", encode_payload(MessageCreated(message=created)))
        context = [
            *turn.context,
            {
                "role": "assistant",
                "content": reply.content or None,
                "tool_calls": [call.as_openai() for call in reply.tool_calls],
            },
            *(
                {"role": "tool", "tool_call_id": r.call.id, "content": r.outcome.model_text()}
                for r in answered
            ),
        ]
        return Turn(
            assistant_id=next_id, context=context, sibling_ids=[next_id], rounds=turn.rounds
        )

    async def _update_reply(
        self, session: AsyncSession, turn: Turn, reply: Reply
    ) -> Message | None:
        row = (
            await session.execute(
                update(m.Message)
                .where(m.Message.id == turn.assistant_id)
                .values(
                    **reply.final_values(),
                    updated_at=func.clock_timestamp(),
                    completed_at=func.clock_timestamp(),
                )
                .returning(m.Message)
            )
        ).scalar_one_or_none()
        return None if row is None else to_message(row, turn.sibling_ids)

    def _append(self, stream: GenerationStream, message_id: UUID, reply: Reply, text: str) -> None:
        if reply.first_token_at is None:
            reply.first_token_at = time.perf_counter()
        reply.parts.append(text)
        reply.unflushed_chars += len(text)
        stream.publish(
            "message.delta", encode_payload(MessageDelta(message_id=message_id, content=text))
        )

    def _due(self, reply: Reply) -> bool:
        return (
            reply.unflushed_chars >= self._flush_chars
            or time.perf_counter() - reply.last_flush >= self._flush_interval
        )

    async def _flush(self, message_id: UUID, reply: Reply) -> None:
        # One autocommit statement on a pooled connection, held only for that statement.
        async with self._engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(
                update(m.Message)
                .where(m.Message.id == message_id)
                .values(content=reply.content, updated_at=func.clock_timestamp())
            )
        reply.unflushed_chars = 0
        reply.last_flush = time.perf_counter()

    def _fail(self, stream: GenerationStream, reply: Reply, detail: str) -> None:
        reply.status, reply.error = "failed", detail
        stream.publish(
            "error", encode_payload(ErrorPayload(code="generation_failed", detail=detail))
        )

    async def _finish(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
    ) -> None:
        """Store the final row, the remaining events and the generation's end in one
        transaction, then publish ``message.completed`` and ``done`` locally."""
        final: list[Event] = []
        try:
            await session.rollback()
            finished = await self._update_reply(session, turn, reply)
            await session.execute(
                update(m.Thread)
                .where(m.Thread.id == plan.thread_id)
                .values(last_activity_at=func.clock_timestamp())
            )
            items: list[tuple[EventName, str]] = []
            if finished is not None:
                items.append(
                    ("message.completed", encode_payload(MessageCompleted(message=finished)))
                )
            items.append(("done", encode_payload(DonePayload())))
            while stream.persisting is not None:
                await stream.persisting.wait()
            final = stream.prepare(items)
            pending = stream.take_unpersisted()
            await write_events(session, [(stream, [*pending, *final])])
            await session.execute(
                update(m.Generation)
                .where(m.Generation.id == plan.generation_id)
                .values(status="finished", finished_at=func.clock_timestamp())
            )
            await session.commit()
        except Exception as exc:
            logger.exception("could not store the reply of generation %s", plan.generation_id)
            await self._release(plan, turn.assistant_id, describe_exception(exc))
            error = ErrorPayload(code="storage_failed", detail=describe_exception(exc))
            final = stream.prepare(
                [("error", encode_payload(error)), ("done", encode_payload(DonePayload()))]
            )
        finally:
            stream.deliver(final)
            stream.mark_finished()

    async def _release(self, plan: GenerationPlan, assistant_id: UUID, detail: str) -> None:
        """Best effort after a failed final write: never leave the thread busy."""
        try:
            async with self._session_factory() as session:
                await session.execute(
                    update(m.Message)
                    .where(m.Message.id == assistant_id, m.Message.status == "in_progress")
                    .values(status="failed", error=f"could not store the reply: {detail}")
                )
                await session.execute(
                    update(m.Generation)
                    .where(m.Generation.id == plan.generation_id)
                    .values(status="finished", finished_at=func.clock_timestamp())
                )
                await session.commit()
        except Exception:
            logger.exception("could not release generation %s", plan.generation_id)


def describe_exception(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an error event or the ``error`` column."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
