"""The events of the live feeds (README "Live feeds"): payloads and frames (the kinds
are ``db.models.FEED_KINDS``).

An event's ``id:`` is its ``feed_event`` id, a number that grows with every change, so
``Last-Event-ID`` resumes after it. Its data is the current representation of what
changed, read from the rows when the event is sent (the bodies the REST API answers),
or the ids of what was deleted.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from api.schemas.messages import Message
from api.schemas.threads import Thread


class ThreadChanged(msgspec.Struct):
    """A thread as it is now: created, renamed or re-set, its head moved, or new activity."""

    thread: Thread


class ThreadDeleted(msgspec.Struct):
    """A thread that was deleted, with everything in it."""

    thread_id: UUID


class MessageChanged(msgspec.Struct):
    """A message as it is now: stored, edited, or a reply that ended."""

    message: Message


class MessageDeleted(msgspec.Struct):
    """A message that was deleted (its descendants get their own events)."""

    thread_id: UUID
    message_id: UUID


class GenerationChanged(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A generation that started (with ``stream_url`` to follow its text) or finished;
    ``message_id`` is the reply it writes."""

    thread_id: UUID
    generation_id: UUID
    message_id: UUID | None
    stream_url: str | None = None


FeedPayload = ThreadChanged | ThreadDeleted | MessageChanged | MessageDeleted | GenerationChanged

# Sent while nothing happens, so that proxies and clients see the connection alive.
KEEPALIVE_FRAME = b": keep-alive\n\n"


def opening_frame(position: int) -> bytes:
    """The first frame of a feed: reconnect after a second, and from ``position`` (an
    ``id:`` without data dispatches no event, but EventSource keeps it as its last id, so
    a reconnection before any change misses none)."""
    return b"retry: 1000\nid: %d\n\n" % position


def feed_frame(event_id: int, kind: str, payload: FeedPayload) -> bytes:
    """An event as its SSE frame (msgspec writes the JSON on one line)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (
        event_id,
        kind.encode(),
        msgspec.json.encode(payload),
    )


def parse_feed_id(value: str) -> int | None:
    """The log id an SSE ``id:`` of a feed names, or None if it is not one."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)
