"""The ``generation`` table: who runs each reply, its lease, cancel requests and its key.

At most one generation per thread is ``running`` (a partial unique index), whichever
process tries to start it; the statements that start, move, renew, stop, reap and
prune generations are all here.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m

# Either index refuses a second running generation in a thread.
BUSY_INDEXES = ("uq_generation_thread_id_running", "uq_message_thread_id_variant_in_progress")
IDEMPOTENCY_INDEX = "uq_generation_thread_id_idempotency_key"


class GenerationStore:
    """Reads and writes of generation rows in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, generation_id: UUID) -> m.Generation | None:
        """A generation (running, or finished within the retention) as stored now."""
        return await self._session.get(m.Generation, generation_id, populate_existing=True)

    async def running(self, thread_id: UUID) -> m.Generation | None:
        """The generation running in ``thread_id`` on any process, if any."""
        return await self._session.scalar(
            select(m.Generation).where(
                m.Generation.thread_id == thread_id, m.Generation.status == "running"
            )
        )

    async def latest(self, thread_id: UUID) -> m.Generation | None:
        """The thread's newest generation, running or finished (None if it has none)."""
        return await self._session.scalar(
            select(m.Generation)
            .where(m.Generation.thread_id == thread_id)
            .order_by(m.Generation.created_at.desc())
            .limit(1)
        )

    async def status(self, generation_id: UUID) -> str | None:
        """``running`` or ``finished``; None when there is no such generation."""
        return await self._session.scalar(
            select(m.Generation.status).where(m.Generation.id == generation_id)
        )

    async def by_key(self, thread_id: UUID, key: str) -> m.Generation | None:
        """The generation an earlier request with this ``Idempotency-Key`` started."""
        return await self._session.scalar(
            select(m.Generation).where(
                m.Generation.thread_id == thread_id, m.Generation.idempotency_key == key
            )
        )

    async def add(self, row: m.Generation) -> None:
        """Insert a generation (after the reply row it points at)."""
        self._session.add(row)
        await self._session.flush()

    async def set_variants(self, generation_id: UUID, reply_ids: list[UUID]) -> None:
        """Make a generation a compare run writing ``reply_ids`` (the first is its
        ``message_id``)."""
        await self._session.execute(
            update(m.Generation)
            .where(m.Generation.id == generation_id)
            .values(variant_ids=reply_ids)
        )

    async def owns(self, generation_id: UUID, owner: str) -> bool:
        """Whether ``owner`` still runs the generation; the row stays locked for the
        transaction, so the reaper cannot take it meanwhile."""
        found = await self._session.scalar(
            select(m.Generation.id)
            .where(
                m.Generation.id == generation_id,
                m.Generation.owner == owner,
                m.Generation.status == "running",
            )
            .with_for_update()
        )
        return found is not None

    async def move_to(self, generation_id: UUID, message_id: UUID) -> None:
        """A tool round ended: the generation now writes the next reply row."""
        await self._session.execute(
            update(m.Generation)
            .where(m.Generation.id == generation_id)
            .values(message_id=message_id)
        )

    async def finish(self, generation_id: UUID, *, owner: str | None = None) -> bool:
        """The generation's final write: it no longer runs. With ``owner``, only while
        that process still owns it (False when another process reaped it meanwhile:
        the caller must then write nothing)."""
        query = update(m.Generation).where(
            m.Generation.id == generation_id, m.Generation.status == "running"
        )
        if owner is not None:
            query = query.where(m.Generation.owner == owner)
        result = await self._session.execute(
            query.values(status="finished", finished_at=func.clock_timestamp()).returning(
                m.Generation.id
            )
        )
        return result.scalar_one_or_none() is not None

    async def request_cancel(self, generation_id: UUID, reason: str) -> None:
        """Ask whichever process runs it to stop (it also reads this at its heartbeat)."""
        await self._session.execute(
            update(m.Generation)
            .where(m.Generation.id == generation_id, m.Generation.status == "running")
            .values(cancel_requested=reason)
        )

    async def renew_leases(self, owner: str) -> list[tuple[UUID, str]]:
        """Renew the leases of ``owner``'s running generations; the cancel requests
        stored for them, as ``(generation id, reason)``."""
        rows = await self._session.execute(
            update(m.Generation)
            .where(m.Generation.owner == owner, m.Generation.status == "running")
            .values(heartbeat_at=func.clock_timestamp())
            .returning(m.Generation.id, m.Generation.cancel_requested)
        )
        return [(generation_id, reason) for generation_id, reason in rows if reason]

    async def lock_dead(
        self, me: str, lease_s: float, grace_s: float, liveness_prefix: str
    ) -> list[m.Generation]:
        """Lock the running generations of other processes that are gone. Gone means a
        lease older than ``lease_s``, or no LISTEN session named ``liveness_prefix +
        owner`` in ``pg_stat_activity`` AND no renewal for ``grace_s``: a process whose
        connections a database blip cut reconnects and renews within that grace, so it
        is not taken for dead. Rows another process is reaping are skipped."""
        owner_gone = text(
            "NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a"
            " WHERE a.application_name = :prefix || generation.owner)"
        ).bindparams(prefix=liveness_prefix)
        now = func.clock_timestamp()
        lease_expired = m.Generation.heartbeat_at < now - timedelta(seconds=lease_s)
        silent = m.Generation.heartbeat_at < now - timedelta(seconds=grace_s)
        return list(
            await self._session.scalars(
                select(m.Generation)
                .where(
                    m.Generation.status == "running",
                    m.Generation.owner != me,
                    or_(lease_expired, and_(owner_gone, silent)),
                )
                .with_for_update(skip_locked=True)
            )
        )

    async def prune(self, retention_s: float) -> None:
        """Delete finished generations (and their events) older than the retention."""
        await self._session.execute(
            delete(m.Generation).where(
                m.Generation.status == "finished",
                m.Generation.finished_at < func.clock_timestamp() - timedelta(seconds=retention_s),
            )
        )
