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
        SELECT e.* FROM unnest(
            CAST(:generation_ids AS uuid[]),
            CAST(:seqs AS integer[]),
            CAST(:names AS text[]),
            CAST(:datas AS text[])
        ) AS e(generation_id, seq, event, data)
        WHERE CAST(:owner AS text) IS NULL OR EXISTS (
            SELECT 1 FROM generation AS g
            WHERE g.id = e.generation_id AND g.owner = :owner AND g.status = 'running'
        )
        -- A batch whose COMMIT answer was lost is written again: its events are there.
        ON CONFLICT (generation_id, seq) DO NOTHING
        RETURNING 1
    )
    SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload
    """
)


async def append_events(
    executor: AsyncSession | AsyncConnection,
    batches: list[tuple[UUID, list[Event]]],
    *,
    owner: str | None,
) -> None:
    """Append events of one or more generations and notify their followers (one
    statement), in the caller's transaction if it has one.

    With ``owner``, only the events of generations that process still runs are
    stored: one that another process reaped meanwhile has its closing events from the
    reaper, and more from its former owner would contradict them.
    """
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
            "owner": owner,
        },
    )


async def read_progress(
    session: AsyncSession, generation_id: UUID, after_seq: int
) -> tuple[str | None, list[Event]]:
    """A generation's status and its stored events after ``after_seq``, in one statement
    (one snapshot); status None when there is no such generation."""
    rows = (
        await session.execute(
            select(
                m.Generation.status,
                m.GenerationEvent.seq,
                m.GenerationEvent.event,
                m.GenerationEvent.data,
            )
            .outerjoin(
                m.GenerationEvent,
                (m.GenerationEvent.generation_id == m.Generation.id)
                & (m.GenerationEvent.seq > after_seq),
            )
            .where(m.Generation.id == generation_id)
            .order_by(m.GenerationEvent.seq)
        )
    ).all()
    if not rows:
        return None, []
    events = [
        Event(seq=seq, name=cast(EventName, name), data=data)
        for _, seq, name, data in rows
        if seq is not None
    ]
    return rows[0][0], events


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
