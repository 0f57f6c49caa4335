"""Turn stored rows into the bodies clients see."""

from __future__ import annotations

from typing import cast
from uuid import UUID

import msgspec

from api.schemas.messages import Message, Role, Status, Timings, Usage
from api.schemas.params import ChatParams
from api.schemas.threads import Thread
from api.schemas.tools import ClientFunction
from db import models as m


def usage_of(prompt_tokens: int | None, completion_tokens: int | None) -> Usage | None:
    """Token counts as clients see them, with their total; None when none is known."""
    if prompt_tokens is None and completion_tokens is None:
        return None
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=(prompt_tokens or 0) + (completion_tokens or 0),
    )


def to_message(row: m.Message, sibling_ids: list[UUID]) -> Message:
    """Build the client view of ``row``; usage and timings are grouped when present."""
    usage = usage_of(row.prompt_tokens, row.completion_tokens)
    timings = None
    if row.time_to_first_token_ms is not None or row.duration_ms is not None:
        timings = Timings(
            time_to_first_token_ms=row.time_to_first_token_ms, duration_ms=row.duration_ms
        )
    return Message(
        id=row.id,
        thread_id=row.thread_id,
        parent_id=row.parent_id,
        role=cast(Role, row.role),
        content=row.content,
        status=cast(Status, row.status),
        sibling_ids=sibling_ids,
        model=row.model,
        params=row.params,
        request_message_count=row.request_message_count,
        prompt_id=row.prompt_id,
        prompt_version=row.prompt_version,
        usage=usage,
        finish_reason=row.finish_reason,
        timings=timings,
        error=row.error,
        tool_calls=row.tool_calls,
        tool_call_id=row.tool_call_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
        version=row.version,
    )


def to_thread(row: m.Thread) -> Thread:
    """Build the client view of a thread row."""
    return Thread(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        system_prompt=row.system_prompt,
        default_system_prompt=row.default_system_prompt,
        prompt_id=row.prompt_id,
        prompt_version=(
            row.prompt_version
            if row.prompt_version is not None or row.prompt_id is None
            else "latest"
        ),
        prompt_variables=row.prompt_variables,
        model=row.model,
        params=msgspec.convert(row.params, ChatParams),
        tools=msgspec.convert(row.tools, list[str | ClientFunction]),
        metadata=row.metadata_,
        head_id=row.head_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_activity_at=row.last_activity_at,
        version=row.version,
    )
