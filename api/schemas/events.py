"""The events of a generation (README "SSE events"): names, payloads, ids and frames.

Payloads are encoded to JSON once, when published, and each event's SSE frame
(``id:``, ``event:``, ``data:`` and the blank line) is built once from it, so every
follower of a generation writes the same bytes. An event's id is
``<generation id>:<seq>``, the same in every process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args
from uuid import UUID

import msgspec

from api.schemas.messages import UUID_TEXT, Message

EventName = Literal[
    "message.created",
    "message.delta",
    "tool_call",
    "tool_result",
    "message.completed",
    "error",
    "done",
]


class MessageCreated(msgspec.Struct):
    """A stored message: the user message, then the assistant placeholder."""

    message: Message


class MessageDelta(msgspec.Struct):
    """A piece of reply text; the deltas of a message concatenate to its stored content."""

    message_id: UUID
    content: str


class MessageCompleted(msgspec.Struct):
    """The final row of a reply, whatever its status."""

    message: Message


class ToolCallView(msgspec.Struct):
    """A validated call: its id, the tool's name and the decoded arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


class ToolCallPayload(msgspec.Struct):
    """A tool call whose arguments passed validation (``message_id``: the assistant
    message that made it)."""

    message_id: UUID
    call: ToolCallView


class ToolResultPayload(msgspec.Struct, omit_defaults=True):
    """What a call gave: ``output``, or ``error`` (also for invalid arguments, naming the
    field). ``message_id`` is the tool message that stores it."""

    message_id: UUID
    call_id: str
    output: Any = None
    error: str | None = None


class ErrorPayload(msgspec.Struct, omit_defaults=True):
    """A failure after the stream started (it can no longer be an HTTP error);
    ``message_id`` names the reply of a compare run that failed."""

    code: str
    detail: str
    message_id: UUID | None = None


class DonePayload(msgspec.Struct):
    """Always the last event of a generation."""


@dataclass(frozen=True, slots=True)
class Event:
    """One published event: its position in the generation, its name and JSON data."""

    seq: int
    name: EventName
    data: str


def encode_payload(payload: msgspec.Struct | dict[str, Any]) -> str:
    """Encode a payload as the JSON text of an SSE ``data:`` field."""
    return msgspec.json.encode(payload).decode()


# What comes between an event's seq and its JSON in a frame, per event name.
_FRAME_MIDDLES = {name: f"\nevent: {name}\ndata: ".encode() for name in get_args(EventName)}


def frame_prefix(generation_id: UUID) -> bytes:
    """How every SSE frame of a generation starts: ``id: <generation id>:`` (the seq
    follows, so an event's id is ``<generation id>:<seq>``)."""
    return f"id: {generation_id}:".encode()


def sse_frame(prefix: bytes, seq: int, name: EventName, data: bytes) -> bytes:
    """An event as its SSE frame (``prefix`` from ``frame_prefix``; ``data`` is JSON,
    which msgspec writes on one line)."""
    return b"%s%d%s%s\n\n" % (prefix, seq, _FRAME_MIDDLES[name], data)


# What a frame's ``id:`` holds (``frame_prefix`` and the seq): a UUID (in either case)
# and a position that fits the events table's integer column.
EVENT_ID_PATTERN = f"^{UUID_TEXT}:[0-9]{{1,9}}$"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)


def parse_event_id(value: str) -> tuple[UUID, int] | None:
    """The generation and position an SSE ``id:`` names, or None if it is not one."""
    if not _EVENT_ID.fullmatch(value):
        return None
    generation_id, _, seq = value.rpartition(":")
    return UUID(generation_id), int(seq)
