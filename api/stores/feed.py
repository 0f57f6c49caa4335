"""The ``feed_event`` table: what the live feeds read, and its pruning.

Its rows are appended only by the triggers of migration 0010 (every writer of
``thread``, ``message`` and ``generation`` produces them, on any process), which also
notify ``FEED_CHANNEL`` with ``<thread id>:<owner id>``. Ids grow in the order the rows
became visible, so "the rows after id N" never misses one committed later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m

FEED_CHANNEL = "playground_feed"

# What a tab showing one thread is told about.
THREAD_KINDS = (
    "message.created",
    "message.updated",
    "message.deleted",
    "head.changed",
    "thread.updated",
    "thread.deleted",
    "generation.started",
    "generation.finished",
)
# What a thread list is told about.
LIST_KINDS = ("thread.created", "thread.updated", "thread.deleted", "thread.activity")

# Rows read per query: a subscriber far behind reads the log in pages.
PAGE_ROWS = 200


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One change: its log id, thread, kind and the row it is about."""

    id: int
    thread_id: UUID
    kind: str
    subject_id: UUID


class FeedStore:
    """Reads of the change log in the caller's session, and its pruning."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def last_id(self) -> int:
        """The id of the newest change (0 when there is none): a feed without
        ``Last-Event-ID`` starts after it."""
        last = await self._session.scalar(select(func.coalesce(func.max(m.FeedEvent.id), 0)))
        return int(last or 0)

    async def of_thread(self, thread_id: UUID, after: int) -> list[FeedRow]:
        """The next changes of one thread after log id ``after``, oldest first."""
        return await self._rows(
            (m.FeedEvent.thread_id == thread_id) & m.FeedEvent.kind.in_(THREAD_KINDS), after
        )

    async def of_owner(self, owner_id: UUID | None, after: int) -> list[FeedRow]:
        """The next changes of the thread list of ``owner_id`` (every owner's for None)
        after log id ``after``, oldest first."""
        condition: ColumnElement[bool] = m.FeedEvent.kind.in_(LIST_KINDS)
        if owner_id is not None:
            condition = condition & (m.FeedEvent.owner_id == owner_id)
        return await self._rows(condition, after)

    async def _rows(self, condition: ColumnElement[bool], after: int) -> list[FeedRow]:
        rows = await self._session.execute(
            select(m.FeedEvent.id, m.FeedEvent.thread_id, m.FeedEvent.kind, m.FeedEvent.subject_id)
            .where(condition, m.FeedEvent.id > after)
            .order_by(m.FeedEvent.id)
            .limit(PAGE_ROWS)
        )
        return [FeedRow(*row) for row in rows]

    async def threads(self, ids: set[UUID]) -> dict[UUID, m.Thread]:
        """The thread rows of these ids that still exist, as stored now."""
        rows = await self._session.scalars(select(m.Thread).where(m.Thread.id.in_(ids)))
        return {row.id: row for row in rows}

    async def messages(self, ids: set[UUID]) -> dict[UUID, m.Message]:
        """The message rows of these ids that still exist, as stored now."""
        rows = await self._session.scalars(select(m.Message).where(m.Message.id.in_(ids)))
        return {row.id: row for row in rows}

    async def generations(self, ids: set[UUID]) -> dict[UUID, UUID | None]:
        """The reply each of these generations writes (those not yet pruned)."""
        rows = await self._session.execute(
            select(m.Generation.id, m.Generation.message_id).where(m.Generation.id.in_(ids))
        )
        return {generation_id: message_id for generation_id, message_id in rows}

    async def prune(self, retention_s: float) -> None:
        """Delete changes older than the retention (the same as generations' events)."""
        await self._session.execute(
            delete(m.FeedEvent).where(
                m.FeedEvent.created_at < func.now() - timedelta(seconds=retention_s)
            )
        )
