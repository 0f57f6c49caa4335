"""Bookkeeping every process does for the generations of all processes.

- Heartbeat: renew the lease of this process's running generations, and pick up
  cancel requests whose notification was missed.
- Reaper: a running generation whose owner is gone (no LISTEN session of its in
  ``pg_stat_activity`` and no lease renewal for three heartbeats: the process died
  and its connections closed) or whose lease is older than ``PLAYGROUND_LEASE_S``
  is finished here: its reply keeps its
  partial text with status ``interrupted`` and its followers get
  ``message.completed`` and ``done``. Runs at start-up and every heartbeat, so a
  killed process's replies are marked within one heartbeat (2 s by default) once
  Postgres has noticed the closed connection, and within the lease (15 s) at worst.
- Pruning: finished generations and their events go after the retention (the
  messages stay); idempotency keys expire with them, and so do the live feeds'
  changes (``feed_event``). The request log of the model calls goes after
  ``PLAYGROUND_REQUEST_LOG_RETENTION_DAYS``, when that is set.
"""

from __future__ import annotations

import logging

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import metrics
from api.generation.listener import APPLICATION_PREFIX, Notifications
from api.schemas.events import DonePayload, Event, EventName, MessageCompleted, encode_payload
from api.schemas.views import to_message
from api.settings import GenerationSettings
from api.stores.events import append_events, last_seq
from api.stores.feed import FeedStore
from api.stores.generations import GenerationStore
from api.stores.messages import MessageStore
from api.stores.requests import RequestLogStore
from db import models as m

logger = logging.getLogger(__name__)

_PRUNE_EVERY_S = 60.0
_GRACE_HEARTBEATS = 3


class Supervisor:
    """Runs the heartbeat, the reaper and the pruning for one process."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        instance_id: str,
        settings: GenerationSettings,
        notifications: Notifications,
    ) -> None:
        self._session_factory = session_factory
        self._notifications = notifications
        self._instance_id = instance_id
        self._heartbeat_s = settings.playground_heartbeat_s
        self._lease_s = settings.playground_lease_s
        self._retention_s = settings.playground_event_retention_s
        self._request_log_days = settings.playground_request_log_retention_days
        # A process whose LISTEN session is missing is dead only after this long
        # without renewing its lease: a blip costs it a heartbeat or two to reconnect.
        self._grace_s = _GRACE_HEARTBEATS * settings.playground_heartbeat_s

    async def run(self) -> None:
        """Loop forever: heartbeat and reap every heartbeat, prune every minute."""
        since_prune = _PRUNE_EVERY_S
        while True:
            try:
                # Without its LISTEN connection this process would look dead to others.
                await self._notifications.connect()
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
            requested = await GenerationStore(session).renew_leases(self._instance_id)
            await session.commit()
        for generation_id, reason in requested:
            self._notifications.cancel_requested(generation_id, reason)

    async def reap(self) -> int:
        """Finish the generations of dead processes (and orphaned replies); return how many."""
        async with self._session_factory() as session:
            dead = await GenerationStore(session).lock_dead(
                self._instance_id, self._lease_s, self._grace_s, APPLICATION_PREFIX
            )
            models = [await finish_interrupted(session, generation) for generation in dead]
            orphan_count = await MessageStore(session).interrupt_orphans()
            await session.commit()
        # Counted here, once stored: the dead process never counted how they ended.
        for model in models:
            if model is not None:
                metrics.generation_finished(model, "interrupted")
        if dead or orphan_count:
            logger.warning(
                "marked %d generation(s) and %d orphaned reply(ies) interrupted",
                len(dead),
                orphan_count,
            )
        return len(dead) + orphan_count

    async def prune(self) -> None:
        """Delete finished generations (and their events) and feed changes older than
        the retention, and the request log older than its own."""
        async with self._session_factory() as session:
            await GenerationStore(session).prune(self._retention_s)
            await FeedStore(session).prune(self._retention_s)
            if self._request_log_days is not None:
                await RequestLogStore(session).prune(self._request_log_days)
            await session.commit()


async def finish_interrupted(session: AsyncSession, generation: m.Generation) -> str | None:
    """Mark a dead generation's replies (one, or a compare run's) interrupted and append
    its last events; the model of its first reply (None when none was left to mark)."""
    messages = MessageStore(session)
    reply_ids = generation.variant_ids or (
        [generation.message_id] if generation.message_id is not None else []
    )
    seq = await last_seq(session, generation.id)
    items: list[tuple[EventName, str]] = []
    model: str | None = None
    for reply_id in reply_ids:
        reply = await messages.interrupt(reply_id)
        if reply is not None:
            model = model or reply.model
            view = to_message(reply, await messages.sibling_ids(reply))
            items.append(("message.completed", encode_payload(MessageCompleted(message=view))))
    items.append(("done", encode_payload(DonePayload())))
    events = [
        Event(seq=seq + offset, name=name, data=data)
        for offset, (name, data) in enumerate(items, start=1)
    ]
    await GenerationStore(session).finish(generation.id)
    await append_events(session, [(generation.id, events)], owner=None)
    return model
