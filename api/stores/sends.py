"""A send in one statement: the SQL function ``playground_send`` (migration 0007).

In one round trip it locks the thread (in the caller's scope), answers a repeated
``Idempotency-Key``, finds the parent and the history below it, counts the caller's
quotas when asked, checks that no reply runs, then stores the user message, the reply
placeholder and the generation and moves the head. Or it stops at the first rule the
send breaks and says which; ``api.messages.sending`` turns that into the answer.

The rows come back as JSON (``to_jsonb`` of each row) and are turned into ORM objects
that belong to no session: plain values for the model context and the events.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from sqlalchemy import DateTime, Float, Uuid, bindparam, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.types import TypeEngine

from api.stores.usage import QuotaUsage
from db import models as m

Row = TypeVar("Row", m.Thread, m.Message)
# "head": below the thread's head; "root": a new root; else below that message.
ParentRef = UUID | Literal["head", "root"]
Unreached = Literal["thread_not_found", "earlier", "key_reused"]
Refusal = Literal["parent_not_found", "parent_in_progress", "waiting_for_outputs", "busy"]

_SEND = text(
    "SELECT playground_send("
    "p_thread_id => :thread_id, p_scope => :scope, p_principal_id => :principal_id,"
    " p_process => :process, p_content => :content, p_parent_id => :parent_id,"
    " p_from_head => :from_head, p_model => :model, p_params => :params,"
    " p_idempotency_key => :key, p_request_hash => :digest, p_limited => :limited,"
    " p_generation_id => :generation_id)"
).bindparams(bindparam("params", type_=JSONB))


@dataclass(frozen=True, slots=True)
class NewSend:
    """A user message to store below ``parent``, the reply to it and its generation."""

    thread_id: UUID
    # The caller's scope: only this owner's thread is found (None: any thread).
    scope: UUID | None
    principal_id: UUID
    # The process that runs the generation (its ``owner``).
    process: str
    content: str
    parent: ParentRef
    # The reply's model (None: the thread's) and the params on top of the thread's.
    model: str | None
    params: dict[str, Any]
    key: str | None
    digest: str | None
    # Count the principal's quotas (and lock its row): only for callers with limits.
    limited: bool
    generation_id: UUID


@dataclass(frozen=True, slots=True)
class NotReached:
    """A send that stopped before the thread's rules: no such thread in the caller's
    scope, or its Idempotency-Key was used already (``generation_id``: by that request,
    with the same body for ``earlier``, another for ``key_reused``)."""

    outcome: Unreached
    generation_id: UUID | None


@dataclass(frozen=True, slots=True)
class Refused:
    """The first rule of the thread a send broke; nothing was stored. ``thread`` is the
    locked row, ``message_id`` the message the rule names, ``usage`` the quota counts
    when they were asked for and made (they come before ``busy``)."""

    outcome: Refusal
    thread: m.Thread
    message_id: UUID | None
    usage: QuotaUsage | None


@dataclass(frozen=True, slots=True)
class Stored:
    """The rows a send stored; ``path`` is the history above the user message, root
    first, and ``sibling_ids`` the user message's siblings (itself included)."""

    thread: m.Thread
    usage: QuotaUsage | None
    path: list[m.Message]
    user: m.Message
    reply: m.Message
    sibling_ids: list[UUID]


class SendStore:
    """The send statement, in the caller's session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def send(self, new: NewSend) -> Stored | Refused | NotReached:
        """Run ``playground_send`` for ``new``: one statement."""
        found = await self._session.scalar(
            _SEND,
            {
                "thread_id": new.thread_id,
                "scope": new.scope,
                "principal_id": new.principal_id,
                "process": new.process,
                "content": new.content,
                "parent_id": new.parent if isinstance(new.parent, UUID) else None,
                "from_head": new.parent == "head",
                "model": new.model,
                "params": new.params,
                "key": new.key,
                "digest": new.digest,
                "limited": new.limited,
                "generation_id": new.generation_id,
            },
        )
        return _outcome(found)


def _outcome(found: dict[str, Any]) -> Stored | Refused | NotReached:
    if not found.get("thread"):
        return NotReached(outcome=found["outcome"], generation_id=_uuid(found.get("generation_id")))
    thread = _row(m.Thread, found["thread"])
    usage = _usage(found["usage"]) if found.get("usage") else None
    if found["outcome"] != "started":
        return Refused(
            outcome=found["outcome"],
            thread=thread,
            message_id=_uuid(found.get("message_id")),
            usage=usage,
        )
    return Stored(
        thread=thread,
        usage=usage,
        path=[_row(m.Message, row) for row in found["path"]],
        user=_row(m.Message, found["user"]),
        reply=_row(m.Message, found["reply"]),
        sibling_ids=[UUID(value) for value in found["sibling_ids"]],
    )


def _usage(found: dict[str, Any]) -> QuotaUsage:
    oldest = found["oldest_recent"]
    return QuotaUsage(
        running=found["running"],
        recent=found["recent"],
        oldest_recent=None if oldest is None else _timestamp(oldest),
        tokens_today=found["tokens_today"],
    )


def _row(model: type[Row], found: dict[str, Any]) -> Row:
    """An ORM object in no session from ``to_jsonb`` of a row of its table, holding the
    values asyncpg would have read (UUIDs, UTC datetimes, floats). Filled in the way the
    ORM fills the rows it loads, without an attribute event per column: a send's path
    may hold hundreds of rows."""
    row = inspect(model).class_manager.new_instance()
    instance_dict(row).update(
        {
            key: None if (value := found[name]) is None else convert(value)
            for key, name, convert in _columns(model)
        }
    )
    return row


@functools.cache
def _columns(model: type[Row]) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """Per column of ``model``: its attribute, its name in JSON, and how to read it."""
    return [
        (attribute.key, attribute.columns[0].name, _reader(attribute.columns[0].type))
        for attribute in inspect(model).column_attrs
    ]


def _reader(column_type: TypeEngine[Any]) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):
        return _timestamp
    if isinstance(column_type, Uuid):
        return UUID
    if isinstance(column_type, Float):
        return float
    return _as_is


def _as_is(value: Any) -> Any:
    return value


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)
