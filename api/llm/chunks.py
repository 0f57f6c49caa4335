"""Streamed chat-completion chunks as msgspec Structs.

The ``openai`` SDK still makes the request, retries, raises its errors and decodes
the SSE stream; only the last step, turning each chunk's JSON into pydantic models,
is replaced: it was the largest per-chunk cost of the relay in a profile. Unknown
fields are ignored, so newer servers' additions pass through harmlessly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from openai import AsyncStream
from openai._streaming import ServerSentEvent


class ChunkFunction(msgspec.Struct):
    """A piece of a tool call's function: its name (first piece) and some arguments."""

    name: str | None = None
    arguments: str | None = None


class ChunkToolCall(msgspec.Struct):
    """A piece of one tool call; ``index`` says which call of the turn it extends."""

    index: int = 0
    id: str | None = None
    function: ChunkFunction | None = None


class ChunkDelta(msgspec.Struct):
    """What one chunk adds to the reply."""

    content: str | None = None
    tool_calls: list[ChunkToolCall] | None = None


class ChunkChoice(msgspec.Struct):
    """One choice of a chunk (the service asks for one)."""

    delta: ChunkDelta | None = None
    finish_reason: str | None = None


class ChunkUsage(msgspec.Struct):
    """Token counts, sent in the last chunk when ``include_usage`` is asked for."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Chunk(msgspec.Struct):
    """One ``chat.completion.chunk``."""

    choices: list[ChunkChoice] = msgspec.field(default_factory=list)
    usage: ChunkUsage | None = None


class DoneAwareStream(AsyncStream[object]):
    """The SDK's stream, noting whether the server sent ``data: [DONE]``.

    The SDK ends its iteration the same way at ``[DONE]`` and at a body that just
    stops, so a reply cut short would pass for a whole one; this tells them apart.
    """

    done = False

    async def _iter_events(self) -> AsyncIterator[ServerSentEvent]:
        async for event in super()._iter_events():
            if event.data.startswith("[DONE]"):
                self.done = True
            yield event


class ChunkStream:
    """The chunks of one streamed completion; ``close`` ends the HTTP response."""

    def __init__(self, stream: DoneAwareStream) -> None:
        self._stream = stream

    @property
    def ended_with_done(self) -> bool:
        """Whether the server closed the stream with ``data: [DONE]``."""
        return self._stream.done

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        async for data in self._stream:
            yield msgspec.convert(data, Chunk)

    async def close(self) -> None:
        """Close the response (also when the reply is cancelled half-way)."""
        await self._stream.close()
