"""The ``thread`` table: every statement that writes it, and the reads that lock it.

Who changes ``thread.head_id``, a title or the activity clock: this module, called
by the thread and message services, the generation pipeline and the title tool.

A store made with a ``scope`` (a member's principal id) reaches only that owner's
threads: another owner's thread is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFoundError
from db import models as m


def thread_not_found(thread_id: UUID) -> NotFoundError:
    """The 404 for a thread that does not exist, or not in the caller's scope."""
    return NotFoundError(f"thread {thread_id} not found")


class ThreadStore:
    """Reads and writes of thread rows in the caller's session."""

    def __init__(self, session: AsyncSession, scope: UUID | None = None) -> None:
        self._session = session
        self._scope = scope

    def _visible(self, query: Select[Any]) -> Select[Any]:
        return query if self._scope is None else query.where(m.Thread.owner_id == self._scope)

    async def get(self, thread_id: UUID, *, lock: bool = False) -> m.Thread:
        """The thread row, or a 404; ``lock`` holds it for the transaction (FOR UPDATE).

        Every transaction that changes a thread's messages or generations takes this
        lock first, so they all lock in the same order.
        """
        query = self._visible(select(m.Thread).where(m.Thread.id == thread_id))
        if lock:
            query = query.with_for_update()
        row: m.Thread | None = (
            await self._session.execute(query.execution_options(populate_existing=True))
        ).scalar()
        if row is None:
            raise thread_not_found(thread_id)
        return row

    async def check_visible(self, thread_id: UUID) -> None:
        """A 404 unless the thread exists and is in scope (no query for an admin, whose
        scope is every thread: the operation itself finds out whether it exists)."""
        if self._scope is None:
            return
        found = await self._session.scalar(
            self._visible(select(m.Thread.id).where(m.Thread.id == thread_id))
        )
        if found is None:
            raise thread_not_found(thread_id)

    async def lock(self, thread_id: UUID) -> None:
        """Lock the thread row for the transaction (a no-op if it was deleted).

        Taken first by every transaction that changes a thread's messages or
        generations, the final write of a reply included: one lock order, so a reply
        finishing and a send arriving cannot deadlock.
        """
        await self._session.execute(
            select(m.Thread.id).where(m.Thread.id == thread_id).with_for_update()
        )

    async def page(
        self, limit: int, after: tuple[datetime, UUID] | None, owner: UUID | None = None
    ) -> list[m.Thread]:
        """Up to ``limit`` threads in scope by newest activity, after the (activity, id)
        position; only ``owner``'s when given."""
        query = self._visible(select(m.Thread)).order_by(
            m.Thread.last_activity_at.desc(), m.Thread.id.desc()
        )
        if owner is not None:
            query = query.where(m.Thread.owner_id == owner)
        if after is not None:
            query = query.where(tuple_(m.Thread.last_activity_at, m.Thread.id) < tuple_(*after))
        return list(await self._session.scalars(query.limit(limit)))

    async def add(self, row: m.Thread) -> m.Thread:
        """Insert a thread; its server defaults come back with the INSERT (RETURNING)."""
        self._session.add(row)
        await self._session.flush()
        return row

    async def change(self, row: m.Thread, changes: dict[str, Any]) -> m.Thread:
        """Set the given columns (already validated and converted) and bump ``updated_at``."""
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = func.clock_timestamp()
        await self._session.flush()
        await self._session.refresh(row)
        return row

    async def set_head(
        self, thread_id: UUID, head_id: UUID | None, *, activity: bool = True
    ) -> None:
        """Point the thread's active branch at ``head_id``.

        ``activity`` also moves the thread up the list (a new or removed message); a
        branch switch alone only bumps ``updated_at``.
        """
        values: dict[str, Any] = {"head_id": head_id, "updated_at": func.clock_timestamp()}
        if activity:
            values["last_activity_at"] = func.clock_timestamp()
        await self._session.execute(update(m.Thread).where(m.Thread.id == thread_id).values(values))

    async def touch(self, thread_id: UUID) -> None:
        """Record activity (a reply finished) without changing anything else."""
        await self._session.execute(
            update(m.Thread)
            .where(m.Thread.id == thread_id)
            .values(last_activity_at=func.clock_timestamp())
        )

    async def set_title(self, thread_id: UUID, title: str) -> bool:
        """Rename a thread; False when it no longer exists."""
        result = await self._session.execute(
            update(m.Thread)
            .where(m.Thread.id == thread_id)
            .values(title=title, updated_at=func.now())
            .returning(m.Thread.id)
        )
        return result.scalar_one_or_none() is not None

    async def delete(self, row: m.Thread) -> None:
        """Delete a thread; its messages and generations go with it (ON DELETE CASCADE)."""
        await self._session.delete(row)
        await self._session.flush()
