"""Turning change-log rows into feed events: each with the current representation of
what changed, read from the rows in one snapshot per batch."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.feed import (
    FeedPayload,
    GenerationChanged,
    MessageChanged,
    MessageDeleted,
    ThreadChanged,
    ThreadDeleted,
    feed_frame,
)
from api.schemas.views import to_message, to_thread
from api.stores.feed import FeedRow, FeedStore
from api.stores.messages import MessageStore
from db import models as m

_THREAD_VIEWS = frozenset({"thread.created", "thread.updated", "thread.activity", "head.changed"})
_MESSAGE_VIEWS = frozenset({"message.created", "message.updated"})
_GENERATIONS = frozenset({"generation.started", "generation.finished"})


def stream_url(thread_id: UUID, generation_id: UUID) -> str:
    """Where a tab follows a generation's text from its first event."""
    return f"/api/threads/{thread_id}/stream?last_event_id={generation_id}:0"


async def render(session: AsyncSession, rows: list[FeedRow]) -> bytes:
    """The frames of ``rows``, in order. A row whose subject is gone since (a message
    deleted, a generation pruned) is left out: a later row says what became of it."""
    store = FeedStore(session)
    threads = await store.threads({r.subject_id for r in rows if r.kind in _THREAD_VIEWS})
    messages = await store.messages({r.subject_id for r in rows if r.kind in _MESSAGE_VIEWS})
    generations = await store.generations({r.subject_id for r in rows if r.kind in _GENERATIONS})
    siblings = MessageStore(session)
    frames: list[bytes] = []
    for row in rows:
        payload: FeedPayload | None
        if row.kind in _THREAD_VIEWS:
            thread = threads.get(row.subject_id)
            payload = None if thread is None else ThreadChanged(thread=to_thread(thread))
        elif row.kind in _MESSAGE_VIEWS:
            payload = await _message(siblings, messages.get(row.subject_id))
        elif row.kind in _GENERATIONS:
            payload = _generation(row, generations)
        elif row.kind == "message.deleted":
            payload = MessageDeleted(thread_id=row.thread_id, message_id=row.subject_id)
        else:  # thread.deleted
            payload = ThreadDeleted(thread_id=row.thread_id)
        if payload is not None:
            frames.append(feed_frame(row.position, row.kind, payload))
    return b"".join(frames)


async def _message(store: MessageStore, row: m.Message | None) -> MessageChanged | None:
    if row is None:
        return None
    return MessageChanged(message=to_message(row, await store.sibling_ids(row)))


def _generation(row: FeedRow, generations: dict[UUID, UUID | None]) -> GenerationChanged | None:
    if row.subject_id not in generations:
        return None
    started = row.kind == "generation.started"
    return GenerationChanged(
        thread_id=row.thread_id,
        generation_id=row.subject_id,
        message_id=generations[row.subject_id],
        stream_url=stream_url(row.thread_id, row.subject_id) if started else None,
    )
