"""Bookkeeping every process does for the generations of all processes.

- Heartbeat: renew the lease of this process's running generations, and pick up
  cancel requests whose notification was missed.
- Reaper: a running generation whose owner is gone (no LISTEN session of its in
  ``pg_stat_activity``: the process died and its connections closed) or whose lease
  is older than ``PLAYGROUND_LEASE_S`` is finished here: its reply keeps its
  partial text with status ``interrupted`` and its followers get
  ``message.completed`` and ``done``. Runs at start-up and every heartbeat, so a
  killed process's replies are marked within one heartbeat (2 s by default) once
  Postgres has noticed the closed connection, and within the lease (15 s) at worst.
- Pruning: finished generations and their events go after the retention (the
  messages stay); idempotency keys expire with them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import anyio
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.generation.events import DonePayload, MessageCompleted, encode_payload
from api.generation.listener import APPLICATION_PREFIX
from api.generation.store import EVENTS_CHANNEL
from api.messages.mapping import to_message
from api.messages.queries import sibling_ids
from api.settings import GenerationSettings
from db import models as m

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = "the process generating this reply stopped before it finished"
_PRUNE_EVERY_S = 60.0


class Supervisor:
    """Runs the heartbeat, the reaper and the pruning for one process."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        instance_id: str,
        settings: GenerationSettings,
        cancel_local: Callable[[UUID, str], None],
        keep_alive: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._session_factory = session_factory
        # Called before every heartbeat: reopens this process's LISTEN connection.
        self._keep_alive = keep_alive
        self._instance_id = instance_id
        self._heartbeat_s = settings.playground_heartbeat_s
        self._lease_s = settings.playground_lease_s
        self._retention_s = settings.playground_event_retention_s
        self._cancel_local = cancel_local

    async def run(self) -> None:
        """Loop forever: heartbeat and reap every heartbeat, prune every minute."""
        since_prune = _PRUNE_EVERY_S
        while True:
            try:
                if self._keep_alive is not None:
                    await self._keep_alive()
                await self.heartbeat()
                await self.reap()
                if since_prune >= _PRUNE_EVERY_S:
                    await self.prune()
                    since_prune = 0.0
            except Exception:
                logger.exception("generation bookkeeping failed; retrying")
            await anyio.sleep(self._heartbeat_s)
            since_prune += self._heartbeat_s

    async def heartbeat(self) -> None:
        """Renew this process's leases; act on cancel requests stored for them."""
        async with self._session_factory() as session:
            rows = await session.execute(
                update(m.Generation)
                .where(m.Generation.owner == self._instance_id, m.Generation.status == "running")
                .values(heartbeat_at=func.clock_timestamp())
                .returning(m.Generation.id, m.Generation.cancel_requested)
            )
            requested = [(gid, reason) for gid, reason in rows if reason]
            await session.commit()
        for generation_id, reason in requested:
            self._cancel_local(generation_id, reason)

    async def reap(self) -> int:
        """Finish the generations of dead processes (and orphaned replies); return how many."""
        async with self._session_factory() as session:
            owner_gone = text(
                "NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a"
                " WHERE a.application_name = :prefix || generation.owner)"
            ).bindparams(prefix=APPLICATION_PREFIX)
            lease_expired = m.Generation.heartbeat_at < func.clock_timestamp() - timedelta(
                seconds=self._lease_s
            )
            dead = list(
                await session.scalars(
                    select(m.Generation)
                    .where(
                        m.Generation.status == "running",
                        m.Generation.owner != self._instance_id,
                        or_(lease_expired, owner_gone),
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            for generation in dead:
                await finish_interrupted(session, generation)
            orphans = await session.execute(
                update(m.Message)
                .where(
                    m.Message.status == "in_progress",
                    ~select(m.Generation.id)
                    .where(
                        m.Generation.message_id == m.Message.id,
                        m.Generation.status == "running",
                    )
                    .exists(),
                )
                .values(
                    status="interrupted",
                    error=INTERRUPTED_ERROR,
                    completed_at=func.clock_timestamp(),
                )
                .returning(m.Message.id)
            )
            orphan_count = len(orphans.all())
            await session.commit()
        if dead or orphan_count:
            logger.warning(
                "marked %d generation(s) and %d orphaned reply(ies) interrupted",
                len(dead),
                orphan_count,
            )
        return len(dead) + orphan_count

    async def prune(self) -> None:
        """Delete finished generations (and their events) older than the retention."""
        async with self._session_factory() as session:
            await session.execute(
                delete(m.Generation).where(
                    m.Generation.status == "finished",
                    m.Generation.finished_at
                    < func.clock_timestamp() - timedelta(seconds=self._retention_s),
                )
            )
            await session.commit()


async def finish_interrupted(session: AsyncSession, generation: m.Generation) -> None:
    """Mark a dead generation's reply interrupted and append its last events."""
    reply = None
    if generation.message_id is not None:
        reply = (
            await session.execute(
                update(m.Message)
                .where(m.Message.id == generation.message_id, m.Message.status == "in_progress")
                .values(
                    status="interrupted",
                    error=INTERRUPTED_ERROR,
                    updated_at=func.clock_timestamp(),
                    completed_at=func.clock_timestamp(),
                )
                .returning(m.Message)
            )
        ).scalar_one_or_none()
    last = await session.scalar(
        select(func.coalesce(func.max(m.GenerationEvent.seq), 0)).where(
            m.GenerationEvent.generation_id == generation.id
        )
    )
    seq = int(last or 0)
    events: list[tuple[str, str]] = []
    if reply is not None:
        siblings = await sibling_ids(session, reply)
        events.append(
            (
                "message.completed",
                encode_payload(MessageCompleted(message=to_message(reply, siblings))),
            )
        )
    events.append(("done", encode_payload(DonePayload())))
    for offset, (name, data) in enumerate(events, start=1):
        session.add(
            m.GenerationEvent(generation_id=generation.id, seq=seq + offset, event=name, data=data)
        )
    generation.status = "finished"
    generation.finished_at = func.clock_timestamp()
    await session.flush()
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": EVENTS_CHANNEL, "payload": f"{generation.id}:{seq + len(events)}"},
    )
