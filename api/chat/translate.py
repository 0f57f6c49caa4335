"""A generation's durable events (README "SSE events") as the AI SDK's UI message stream.

One generation is one UI message: ``start`` (the stored id of its first assistant row,
and where it is stored), a step per assistant row (a tool round starts a new row),
text parts, tool parts, then ``finish`` with the last row's status, usage and timings,
and ``data: [DONE]``. The translation reads only the events, so it serves a reply
followed live, resumed from Postgres, or run by another process alike.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Collection
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.chat import (
    Chunk,
    ErrorChunk,
    Finish,
    FinishMetadata,
    FinishStep,
    Start,
    StartMetadata,
    StartStep,
    TextDelta,
    TextEnd,
    TextStart,
    ToolInputAvailable,
    ToolInputError,
    ToolInputStart,
    ToolOutputAvailable,
    ToolOutputError,
)
from api.schemas.events import (
    ErrorPayload,
    Event,
    MessageCompleted,
    MessageCreated,
    MessageDelta,
    ToolCallPayload,
    ToolResultPayload,
)
from api.schemas.messages import Message
from api.schemas.sse import KEEPALIVE_FRAME

# The AI SDK's finish reasons, from a reply's stored finish reason (when completed).
_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_calls": "tool-calls",
}
DONE_FRAME = b"data: [DONE]\n\n"


def finish_reason(message: Message | None) -> str:
    """The AI SDK's finish reason for a reply's last row: a client tool call waiting is
    ``tool-calls``; a failure ``error``; a cancelled or interrupted reply ``other``."""
    if message is None:
        return "other"
    if message.status == "requires_action":
        return "tool-calls"
    if message.status == "failed":
        return "error"
    if message.status == "completed":
        return _FINISH_REASONS.get(message.finish_reason or "", "other")
    return "other"


def _arguments(raw: object) -> Any:
    """A stored call's arguments, decoded when they are JSON (a rejected call's may not be)."""
    if not isinstance(raw, str):
        return raw
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw


class ChunkTranslator:
    """Turns the events of one generation, in order, into UI message stream chunks."""

    def __init__(
        self,
        *,
        thread_id: UUID,
        generation_id: UUID,
        reply_id: UUID | None,
        user_id: UUID | None,
        client_functions: Collection[str],
    ) -> None:
        self._start = StartMetadata(
            thread_id=str(thread_id),
            generation_id=str(generation_id),
            user_message_id=str(user_id) if user_id else None,
        )
        self._reply_id = reply_id
        self._client = frozenset(client_functions)
        self._started = False
        self._open_text: str | None = None
        self._announced: set[str] = set()
        # Calls rejected before they ran: announced with their name and arguments once
        # the turn that made them is stored (its ``tool_calls``).
        self._rejected: dict[str, str] = {}
        self._last: Message | None = None
        self._ended = False

    def chunks(self, event: Event) -> list[Chunk]:
        """The chunks one event becomes (none for events the protocol has no use for)."""
        match event.name:
            case "message.created":
                return self._created(msgspec.json.decode(event.data, type=MessageCreated).message)
            case "message.delta":
                return self._delta(msgspec.json.decode(event.data, type=MessageDelta))
            case "tool_call":
                return self._tool_call(msgspec.json.decode(event.data, type=ToolCallPayload))
            case "tool_result":
                return self._tool_result(msgspec.json.decode(event.data, type=ToolResultPayload))
            case "message.completed":
                message = msgspec.json.decode(event.data, type=MessageCompleted).message
                return self._completed(message)
            case "error":
                payload = msgspec.json.decode(event.data, type=ErrorPayload)
                return [*self._close_text(), ErrorChunk(error_text=payload.detail)]
            case "done":
                return self.end()
        return []

    def _ensure_started(self, first_row: UUID | None) -> list[Chunk]:
        if self._started:
            return []
        self._started = True
        reply_id = self._reply_id or first_row
        return [Start(message_id=str(reply_id) if reply_id else "", message_metadata=self._start)]

    def _created(self, message: Message) -> list[Chunk]:
        if message.role == "user":
            self._start.user_message_id = str(message.id)
            return []
        if message.role != "assistant":
            return []
        return [*self._ensure_started(message.id), StartStep()]

    def _delta(self, delta: MessageDelta) -> list[Chunk]:
        text_id = str(delta.message_id)
        opened: list[Chunk] = []
        if self._open_text != text_id:
            opened = [*self._close_text(), TextStart(id=text_id)]
            self._open_text = text_id
        return [*opened, TextDelta(id=text_id, delta=delta.content)]

    def _close_text(self) -> list[Chunk]:
        if self._open_text is None:
            return []
        closed, self._open_text = self._open_text, None
        return [TextEnd(id=closed)]

    def _tool_call(self, payload: ToolCallPayload) -> list[Chunk]:
        call = payload.call
        self._announced.add(call.id)
        by_server = None if call.name in self._client else True
        return [
            *self._close_text(),
            ToolInputStart(tool_call_id=call.id, tool_name=call.name, provider_executed=by_server),
            ToolInputAvailable(
                tool_call_id=call.id,
                tool_name=call.name,
                input=call.arguments,
                provider_executed=by_server,
            ),
        ]

    def _tool_result(self, payload: ToolResultPayload) -> list[Chunk]:
        if payload.error is None:
            return [
                ToolOutputAvailable(
                    tool_call_id=payload.call_id, output=payload.output, provider_executed=True
                )
            ]
        if payload.call_id in self._announced:
            return [
                ToolOutputError(
                    tool_call_id=payload.call_id, error_text=payload.error, provider_executed=True
                )
            ]
        self._rejected[payload.call_id] = payload.error
        return []

    def _completed(self, message: Message) -> list[Chunk]:
        if message.role != "assistant":
            return []
        chunks: list[Chunk] = [*self._ensure_started(message.id), *self._close_text()]
        for call in message.tool_calls or []:
            error = self._rejected.pop(call.get("id", ""), None)
            if error is None:
                continue
            function = call.get("function") or {}
            name = str(function.get("name", ""))
            chunks.append(
                ToolInputError(
                    tool_call_id=call["id"],
                    tool_name=name,
                    input=_arguments(function.get("arguments")),
                    error_text=error,
                    provider_executed=None if name in self._client else True,
                )
            )
        self._last = message
        return [*chunks, FinishStep()]

    def end(self) -> list[Chunk]:
        """``finish`` (after ``start`` and closing an open text part): at ``done``, or
        when the events end without it; nothing the second time."""
        if self._ended:
            return []
        self._ended = True
        last = self._last
        metadata = None
        if last is not None:
            metadata = FinishMetadata(
                message_id=str(last.id),
                status=last.status,
                model=last.model,
                usage=last.usage,
                finish_reason=last.finish_reason,
                timings=last.timings,
                error=last.error,
            )
        return [
            *self._ensure_started(None),
            *self._close_text(),
            Finish(finish_reason=finish_reason(last), message_metadata=metadata),
        ]


async def ui_frames(
    events: AsyncIterator[Event | None], translator: ChunkTranslator
) -> AsyncGenerator[bytes, None]:
    """The UI message stream of a generation's events: one ``data:`` line of JSON per
    chunk, then ``data: [DONE]`` after ``done``; a keep-alive comment for each None
    (nothing came for a while), which the AI SDK's parser skips."""
    encoder = msgspec.json.Encoder()

    def encoded(chunks: list[Chunk]) -> bytes:
        return b"".join(b"data: %s\n\n" % encoder.encode(chunk) for chunk in chunks)

    async for event in events:
        if event is None:
            yield KEEPALIVE_FRAME
            continue
        frames = encoded(translator.chunks(event))
        if event.name == "done":
            break
        if frames:
            yield frames
    else:
        frames = b""
    # Also when the events end without ``done`` (a generation pruned meanwhile).
    yield frames + encoded(translator.end()) + DONE_FRAME
