"""Generation events in Postgres: batched appends, change notifications and reads.

A generation's events are appended by its final write, in one statement. While a
follower on another process reads it (that process asks on the follow channel), its
events are also appended as they come: every ``PLAYGROUND_EVENT_FLUSH_MS`` in one
multi-row INSERT for all such generations of the process, which also sends one
``pg_notify`` per generation carrying only ``<generation id>:<last seq>`` (NOTIFY
payloads are limited to 8000 bytes; followers read the rows). So the statements a
reply costs do not grow with its number of chunks, and nothing is written per token.
"""

from __future__ import annotations

import logging
from typing import cast
from uuid import UUID

import anyio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from api.generation.events import Event, EventName
from api.generation.stream import GenerationStream
from db import models as m

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "playground_events"
CANCEL_CHANNEL = "playground_cancel"
FOLLOW_CHANNEL = "playground_follow"

_NOTIFY = text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)
# Postgres runs a data-modifying WITH to completion even though the outer query does
# not read it: the rows and their notifications go in one round trip.
_APPEND_AND_NOTIFY = text(
    """
    WITH appended AS (
        INSERT INTO generation_event (generation_id, seq, event, data)
        SELECT * FROM unnest(
            CAST(:generation_ids AS uuid[]),
            CAST(:seqs AS integer[]),
            CAST(:names AS text[]),
            CAST(:datas AS text[])
        )
        RETURNING 1
    )
    SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload
    """
)


class EventStore:
    """Appends the events of this process's generations to Postgres in batches."""

    def __init__(self, engine: AsyncEngine, flush_interval_s: float) -> None:
        self._engine = engine
        self._interval = flush_interval_s
        self._dirty: dict[UUID, GenerationStream] = {}
        self._wake = anyio.Event()

    def mark_dirty(self, stream: GenerationStream) -> None:
        """Note that ``stream`` has events to write (called on every publish)."""
        if stream.id not in self._dirty:
            self._dirty[stream.id] = stream
            self._wake.set()

    async def run(self) -> None:
        """Write batches forever: wait for events, let a batch gather, write it."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            await anyio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("could not store generation events; retrying")

    async def flush(self) -> None:
        """Write every queued event now, in one transaction."""
        streams = [stream for stream in self._dirty.values() if stream.unpersisted]
        self._dirty.clear()
        if not streams:
            return
        batches = [(stream, stream.take_unpersisted()) for stream in streams]
        done = anyio.Event()
        for stream in streams:
            stream.persisting = done
        try:
            # Autocommit: the batch is one statement, so no BEGIN/COMMIT round trips.
            async with self._engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await write_events(autocommit, batches)
        except BaseException:
            # Put the events back so the next batch (or the final write) stores them.
            for stream, events in batches:
                stream.unpersisted[:0] = events
                self.mark_dirty(stream)
            raise
        finally:
            for stream in streams:
                if stream.persisting is done:
                    stream.persisting = None
            done.set()


async def write_events(
    executor: AsyncSession | AsyncConnection, batches: list[tuple[GenerationStream, list[Event]]]
) -> None:
    """Append events and notify followers (one statement), in the caller's transaction
    if it has one."""
    events = [(stream.id, e) for stream, events in batches for e in events]
    if not events:
        return
    payloads = [f"{stream.id}:{events[-1].seq}" for stream, events in batches if events]
    await executor.execute(
        _APPEND_AND_NOTIFY,
        {
            "generation_ids": [generation_id for generation_id, _ in events],
            "seqs": [e.seq for _, e in events],
            "names": [e.name for _, e in events],
            "datas": [e.data for _, e in events],
            "channel": EVENTS_CHANNEL,
            "payloads": payloads,
        },
    )


async def read_events(session: AsyncSession, generation_id: UUID, after_seq: int) -> list[Event]:
    """The stored events of a generation after ``after_seq``, in order."""
    rows = await session.execute(
        select(m.GenerationEvent.seq, m.GenerationEvent.event, m.GenerationEvent.data)
        .where(m.GenerationEvent.generation_id == generation_id, m.GenerationEvent.seq > after_seq)
        .order_by(m.GenerationEvent.seq)
    )
    return [Event(seq=seq, name=cast(EventName, name), data=data) for seq, name, data in rows]


async def read_closing_events(session: AsyncSession, generation_id: UUID) -> list[Event]:
    """The last ``message.completed`` and ``done`` of a finished generation, in order."""
    rows = await session.execute(
        select(m.GenerationEvent.seq, m.GenerationEvent.event, m.GenerationEvent.data)
        .where(
            m.GenerationEvent.generation_id == generation_id,
            m.GenerationEvent.event.in_(("message.completed", "done")),
        )
        .order_by(m.GenerationEvent.seq.desc())
        .limit(2)
    )
    events = [Event(seq=seq, name=cast(EventName, name), data=data) for seq, name, data in rows]
    return list(reversed(events))


async def notify_follow(session: AsyncSession, generation_id: UUID) -> None:
    """Ask the process running ``generation_id`` to append its events as they come."""
    await session.execute(_NOTIFY, {"channel": FOLLOW_CHANNEL, "payloads": [str(generation_id)]})
    await session.commit()


async def notify_cancel(session: AsyncSession, generation_id: UUID) -> None:
    """Ask the process running ``generation_id`` to stop it (it listens on a channel)."""
    await session.execute(_NOTIFY, {"channel": CANCEL_CHANNEL, "payloads": [str(generation_id)]})
