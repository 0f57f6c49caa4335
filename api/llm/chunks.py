"""Streamed chat-completion chunks, read straight from the response body.

The ``openai`` SDK still makes the request, with its retries and its errors before the
first byte; the body is then read here: the SSE ``data:`` payloads are cut out of the
raw bytes and decoded by one reused msgspec ``Decoder`` into Structs. The SDK's own
path (a Python SSE decoder building an object per line, ``json.loads`` into dicts,
then a conversion) was the largest per-chunk cost of the relay in a profile. Unknown
fields are ignored, so newer servers' additions pass through harmlessly.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import msgspec
from openai import APIConnectionError, APIError, APITimeoutError, AsyncStream

# After ``[DONE]`` the rest of the body (normally just its end) is read so the
# connection goes back to the pool, but never for longer than this.
DRAIN_S = 0.1


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
    """One ``chat.completion.chunk``; ``error`` is set when the server reports a failure
    in the stream instead (OpenAI's ``{"error": {"message": …}}``). ``id``, ``model`` and
    ``system_fingerprint`` say which completion and backend answered (kept in the
    request log)."""

    id: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    choices: list[ChunkChoice] = msgspec.field(default_factory=list)
    usage: ChunkUsage | None = None
    error: Any = None


_decode_chunk = msgspec.json.Decoder(Chunk).decode
# What the SDK turns into ``APIConnectionError`` while reading a body (timeouts aside).
_TRANSPORT_ERRORS = (httpx2.RequestError, ssl.SSLError, anyio.EndOfStream)


class SSEDataReader:
    """Cuts the ``data`` of each complete event out of an SSE byte stream.

    The WHATWG rules a model server may use: lines end with ``\\r\\n``, ``\\n`` or ``\\r``
    (even split across reads), several ``data:`` lines of one event join with ``\\n``,
    a blank line ends the event; other fields and comments are skipped (the SDK too
    treats every event alike).
    """

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []
        # A read that ended on "\r": a "\n" starting the next read belongs to it.
        self._after_cr = False

    def feed(self, raw: bytes) -> list[bytes]:
        """The data of the events that ``raw`` completes, in order."""
        if self._after_cr and raw.startswith(b"\n"):
            raw = raw[1:]
        buffer = self._tail + raw if self._tail else raw
        lines = buffer.splitlines()
        self._after_cr = buffer.endswith(b"\r")
        self._tail = b"" if buffer.endswith((b"\n", b"\r")) or not lines else lines.pop()
        complete: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    complete.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return complete


class ChunkStream:
    """The chunks of one streamed completion; ``close`` ends the HTTP response.

    ``ended_with_done`` tells a whole reply from one cut short: a body that just stops
    ends the iteration the same way as ``data: [DONE]``. ``response_id``, ``model`` and
    ``system_fingerprint`` are the last ones the chunks named.
    """

    def __init__(self, stream: AsyncStream[object]) -> None:
        self._stream = stream
        self.ended_with_done = False
        self.response_id: str | None = None
        self.model: str | None = None
        self.system_fingerprint: str | None = None

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        response = self._stream.response
        reader = SSEDataReader()
        body = response.aiter_bytes()
        try:
            async for raw in body:
                for data in reader.feed(raw):
                    if data.startswith(b"[DONE]"):
                        self.ended_with_done = True
                        break
                    chunk = _decode_chunk(data)
                    if chunk.error:
                        raise _stream_error(response, chunk.error)
                    self._note(chunk)
                    yield chunk
                if self.ended_with_done:
                    break
        # The SDK's mapping of transport failures, so callers see the same exceptions.
        except httpx2.TimeoutException as exc:
            raise APITimeoutError(request=response.request) from exc
        except _TRANSPORT_ERRORS as exc:
            raise APIConnectionError(request=response.request) from exc
        # The reply is whole: what follows [DONE] cannot fail it.
        with anyio.move_on_after(DRAIN_S), contextlib.suppress(*_TRANSPORT_ERRORS):
            async for _ in body:
                pass

    def _note(self, chunk: Chunk) -> None:
        """Remember which completion and backend answered."""
        if chunk.id is not None:
            self.response_id = chunk.id
        if chunk.model is not None:
            self.model = chunk.model
        if chunk.system_fingerprint is not None:
            self.system_fingerprint = chunk.system_fingerprint

    async def close(self) -> None:
        """Close the response (also when the reply is cancelled half-way)."""
        await self._stream.close()


def _stream_error(response: httpx2.Response, error: Any) -> APIError:
    """The SDK's exception for an ``error`` object sent in the stream."""
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = "An error occurred during streaming"
    return APIError(message=message, request=response.request, body=error)
