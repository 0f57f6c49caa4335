"""The ``feed_event`` table: what the live feeds read, and its pruning.

Its rows are appended only by the triggers of migration 0010 (every writer of
``thread``, ``message`` and ``generation`` produces them, on any process), which also
notify ``FEED_CHANNEL`` with ``<thread id>:<owner id>``. Writers take no lock for it:
readers take rows in ``(xid, id)`` order, and only those whose transaction id is below
the ``xmin`` of the reading snapshot. Every transaction with a smaller id has ended, so
those rows are final; a row that appears later has an ``xid`` at least that ``xmin``,
above every row read, so "the rows after ``(xid, id)``" never misses or repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, delete, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.feed import MAX_ROW_ID, FeedPosition
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
    """One change: its place in the log, thread, kind and the row it is about."""

    position: FeedPosition
    thread_id: UUID
    kind: str
    subject_id: UUID


@dataclass(frozen=True, slots=True)
class Opening:
    """What was committed when a feed opened (a snapshot): the feed shows what was not."""

    xmin: int
    xmax: int
    running: frozenset[int]

    def saw(self, xid: int) -> bool:
        """Whether the changes of transaction ``xid`` were committed at the opening."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.running)

    @property
    def position(self) -> FeedPosition:
        """Before every row of a transaction not ended at the opening."""
        return FeedPosition(self.xmin - 1, MAX_ROW_ID)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """The next final rows of a feed, and where the next read starts: ``more`` when the
    page was full; ``held_back`` when committed rows follow but wait for an older
    transaction still running (no notification says when that one ends)."""

    rows: list[FeedRow]
    position: FeedPosition
    more: bool
    held_back: bool


class FeedStore:
    """Reads of the change log in the caller's session, and its pruning."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def opening(self) -> Opening:
        """Now, for a feed without ``Last-Event-ID``: it starts after what is committed."""
        row = (
            await self._session.execute(
                text(
                    "SELECT pg_snapshot_xmin(s), pg_snapshot_xmax(s),"
                    " ARRAY(SELECT pg_snapshot_xip(s)) FROM pg_current_snapshot() AS s"
                )
            )
        ).one()
        return Opening(int(row[0]), int(row[1]), frozenset(int(xid) for xid in row[2]))

    async def of_thread(
        self, thread_id: UUID, after: FeedPosition, opening: Opening | None
    ) -> FeedPage:
        """The next changes of one thread after ``after``, oldest first."""
        return await self._page(
            (m.FeedEvent.thread_id == thread_id) & m.FeedEvent.kind.in_(THREAD_KINDS),
            after,
            opening,
        )

    async def of_owner(
        self, owner_id: UUID | None, after: FeedPosition, opening: Opening | None
    ) -> FeedPage:
        """The next changes of the thread list of ``owner_id`` (every owner's for None)
        after ``after``, oldest first."""
        condition: ColumnElement[bool] = m.FeedEvent.kind.in_(LIST_KINDS)
        if owner_id is not None:
            condition = condition & (m.FeedEvent.owner_id == owner_id)
        return await self._page(condition, after, opening)

    async def _page(
        self, condition: ColumnElement[bool], after: FeedPosition, opening: Opening | None
    ) -> FeedPage:
        """Rows of transactions below the snapshot's ``xmin`` are final; committed rows
        at or above it are read too (the index scan goes on in the same order), only to
        tell that the read stopped short. Rows ``opening`` saw committed are passed over."""
        xid = m.FeedEvent.xid
        found = await self._session.execute(
            select(
                xid,
                m.FeedEvent.id,
                m.FeedEvent.thread_id,
                m.FeedEvent.kind,
                m.FeedEvent.subject_id,
                func.pg_snapshot_xmin(func.pg_current_snapshot()),
            )
            .where(
                condition,
                tuple_(xid, m.FeedEvent.id) > tuple_(literal(after.xid, m.Xid8), literal(after.id)),
            )
            .order_by(xid, m.FeedEvent.id)
            .limit(PAGE_ROWS)
        )
        rows: list[FeedRow] = []
        position, examined, above, held_back = after, 0, False, False
        for row_xid, row_id, thread_id, kind, subject_id, xmin in found:
            examined += 1
            unseen = opening is None or not opening.saw(row_xid)
            if row_xid >= xmin:
                above = True
                if unseen:
                    held_back = True
                    break
                continue
            position = FeedPosition(row_xid, row_id)
            if unseen:
                rows.append(FeedRow(position, thread_id, kind, subject_id))
        # A full page that ends above xmin cannot move on yet: read it again later.
        full = examined == PAGE_ROWS
        return FeedPage(rows, position, full and not above, held_back or (full and above))

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
