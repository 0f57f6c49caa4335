"""The events of the live feeds (README "Live feeds"): payloads and frames (the kinds
are ``db.models.FEED_KINDS``).

An event's ``id:`` is its place in the change log, ``<xid>-<id>`` (the transaction that
wrote its ``feed_event`` row, and the row's id), opaque to clients: ``Last-Event-ID``
resumes after it. Its data is the current representation of what
changed, read from the rows when the event is sent (the bodies the REST API answers),
or the ids of what was deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

import msgspec

from api.schemas.messages import Message
from api.schemas.sse import RETRY_FIELD
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


# The largest bigint: the ``id`` part of a position before every row of a transaction.
MAX_ROW_ID = 2**63 - 1
FEED_ID_PATTERN = "^[0-9]{1,19}-[0-9]{1,19}$"
_FEED_ID = re.compile(FEED_ID_PATTERN)


@dataclass(frozen=True, slots=True, order=True)
class FeedPosition:
    """A place in the change log, in the order feeds read it: by the id of the
    transaction that wrote a row (``xid``), then by the row's id."""

    xid: int
    id: int

    def __str__(self) -> str:
        return f"{self.xid}-{self.id}"


def parse_feed_id(value: str) -> FeedPosition | None:
    """The position an SSE ``id:`` of a feed names, or None if it is not one."""
    if _FEED_ID.fullmatch(value) is None:
        return None
    xid, row_id = (int(part) for part in value.split("-"))
    if xid > MAX_ROW_ID or row_id > MAX_ROW_ID:
        return None
    return FeedPosition(xid, row_id)


FeedPayload = ThreadChanged | ThreadDeleted | MessageChanged | MessageDeleted | GenerationChanged


def opening_frame(position: FeedPosition) -> bytes:
    """The first frame of a feed: reconnect after a second, and from ``position`` (an
    ``id:`` without data dispatches no event, but EventSource keeps it as its last id, so
    a reconnection before any change misses none)."""
    return RETRY_FIELD + b"id: %s\n\n" % str(position).encode()


def feed_frame(position: FeedPosition, kind: str, payload: FeedPayload) -> bytes:
    """An event as its SSE frame (msgspec writes the JSON on one line)."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        str(position).encode(),
        kind.encode(),
        msgspec.json.encode(payload),
    )
