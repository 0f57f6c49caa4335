"""The ``generation_event`` table, and the notifications that tell followers about it.

A generation's events are appended in one statement that also sends one
``pg_notify`` per generation carrying only ``<generation id>:<last seq>`` (NOTIFY
payloads are limited to 8000 bytes; followers read the rows). So the statements a
reply costs do not grow with its number of chunks, and nothing is written per token.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.schemas.events import Event, EventName
from db import models as m

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


async def append_events(
    executor: AsyncSession | AsyncConnection, batches: list[tuple[UUID, list[Event]]]
) -> None:
    """Append events of one or more generations and notify their followers (one
    statement), in the caller's transaction if it has one."""
    events = [(generation_id, e) for generation_id, events in batches for e in events]
    if not events:
        return
    payloads = [f"{generation_id}:{events[-1].seq}" for generation_id, events in batches if events]
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


async def last_seq(session: AsyncSession, generation_id: UUID) -> int:
    """The number of the last stored event of a generation (0 when none is stored)."""
    last = await session.scalar(
        select(func.coalesce(func.max(m.GenerationEvent.seq), 0)).where(
            m.GenerationEvent.generation_id == generation_id
        )
    )
    return int(last or 0)


async def notify_follow(session: AsyncSession, generation_id: UUID) -> None:
    """Ask the process running ``generation_id`` to append its events as they come."""
    await session.execute(_NOTIFY, {"channel": FOLLOW_CHANNEL, "payloads": [str(generation_id)]})
    await session.commit()


async def notify_cancel(session: AsyncSession, generation_id: UUID) -> None:
    """Ask the process running ``generation_id`` to stop it (it listens on a channel)."""
    await session.execute(_NOTIFY, {"channel": CANCEL_CHANNEL, "payloads": [str(generation_id)]})
