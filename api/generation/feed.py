"""What one SSE follower writes: the prebuilt frames of a generation's events, in batches.

**Coalescing.** Text is coalesced twice, and never at the cost of latency:

1. When published (``GenerationStream.publish_delta``): chunks read while no follower
   got to run go into one open ``message.delta`` event, stored as it was sent.
2. Per follower, here: a follower that finds several events waiting (its client
   reads slower than the model writes, or it joined late) writes them as one batch,
   and a run of consecutive ``message.delta`` events of one message as *one* frame
   carrying the id of the last event of the run. The log keeps the events apart, so
   every id a client saw is in it, and resuming from the merged frame's id gives
   exactly what follows it. A follower with one new event writes its shared frame as
   is: no per-follower encoding in the common case.

**Slow followers.** A follower holds an index into the shared log and, while its
client takes a batch, only a *weak* reference to the log: a client that stops reading
costs the batch being written (at most about ``MAX_BATCH_BYTES`` plus one event) and
its socket's send buffer, and never holds up the generation or other followers
(publishing never waits for a follower). Once the generation has ended, its events are
all in Postgres and nothing else holds its log, the log is freed even if such a client
is still connected; when that client reads again it gets the rest from Postgres.

**Reconnecting.** The first batch a follower writes starts with ``retry:``, so an
``EventSource`` that loses the connection reconnects after a second (with
``Last-Event-ID``) rather than after its own default of a few seconds; and a comment
line goes out after ``KEEPALIVE_S`` without a batch (a model thinking, a tool running),
so proxies and clients do not take the quiet connection for a dead one (both where a
follower waits, so the path of the chunks pays nothing for them).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass

import anyio
import msgspec

from api.generation.stream import GenerationStream
from api.schemas.events import Event, MessageDelta, sse_frame
from api.schemas.sse import KEEPALIVE_FRAME, KEEPALIVE_S, RETRY_FIELD

# A batch stops growing past this many bytes, so a follower far behind writes the log
# in pieces instead of one buffer the size of the reply.
MAX_BATCH_BYTES = 64 * 1024

_decode_delta = msgspec.json.Decoder(MessageDelta).decode


@dataclass(slots=True)
class Cursor:
    """Where a follower is: the seq of the last event written, and whether that was the
    end of the generation."""

    position: int
    ended: bool = False


def read_batch(stream: GenerationStream, position: int) -> tuple[bytes, int]:
    """The bytes to write for the events after ``position`` (empty when there are none)
    and the position after them; the open delta event is sealed first."""
    stream.seal()
    end = len(stream.events)
    if position + 1 == end:
        # Caught up: the one new event's shared frame, as is.
        return stream.frames[position], end
    parts: list[bytes] = []
    size = 0
    while position < end and size < MAX_BATCH_BYTES:
        frame, position = _next_frame(stream, position, end, MAX_BATCH_BYTES - size)
        parts.append(frame)
        size += len(frame)
    return b"".join(parts), position


def _next_frame(stream: GenerationStream, start: int, end: int, budget: int) -> tuple[bytes, int]:
    """The frame of the event after ``start``, or of the run of ``message.delta`` events
    of one message from there (about ``budget`` bytes at most) merged into one."""
    events = stream.events
    stop = start + 1
    if events[start].name != "message.delta" or stop == end or events[stop].name != "message.delta":
        return stream.frames[start], stop
    first = _decode_delta(events[start].data)
    texts = [first.content]
    size = len(stream.frames[start])
    while stop < end and size < budget and events[stop].name == "message.delta":
        delta = _decode_delta(events[stop].data)
        if delta.message_id != first.message_id:
            break
        texts.append(delta.content)
        size += len(stream.frames[stop])
        stop += 1
    merged = msgspec.json.encode(MessageDelta(message_id=first.message_id, content="".join(texts)))
    # Event ``stop - 1`` (0-based) has seq ``stop``: the id of the last merged event.
    return sse_frame(stream.frame_prefix, stop, "message.delta", merged), stop


async def local_frames(
    ref: weakref.ref[GenerationStream], cursor: Cursor, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[bytes]:
    """Batches of a generation of this process after ``cursor.position``, until its end
    (``cursor.ended``), or until its log is freed: then the caller goes on from Postgres.
    A keep-alive comment when nothing came for ``keepalive_s``.

    ``ref`` is weak and the strong reference is dropped before every ``yield``: the
    follower keeps the log alive only while it reads it or waits, caught up, for more.
    """
    while (stream := ref()) is not None:
        batch, cursor.position = read_batch(stream, cursor.position)
        if batch:
            # A finished log's last batch ends the follow here: were the log freed while
            # it is written, Postgres would hand its closing events over again.
            cursor.ended = stream.finished and cursor.position == len(stream.events)
            del stream
            yield batch
            if cursor.ended:
                return
        elif stream.finished:
            cursor.ended = True
            return
        else:
            with anyio.move_on_after(keepalive_s) as waiting:
                await stream.changed()
            if waiting.cancelled_caught:
                del stream
                yield KEEPALIVE_FRAME


def stored_frames(prefix: bytes, events: list[Event]) -> Iterator[bytes]:
    """Batches of events read from Postgres, framed for this follower alone."""
    parts: list[bytes] = []
    size = 0
    for event in events:
        frame = sse_frame(prefix, event.seq, event.name, event.data.encode())
        parts.append(frame)
        size += len(frame)
        if size >= MAX_BATCH_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


async def with_retry(batches: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """``batches`` with ``retry:`` before the first batch of events (it joins the first
    event's block, so no empty event is dispatched for it)."""
    prefix = RETRY_FIELD
    try:
        async for batch in batches:
            if batch is KEEPALIVE_FRAME:
                yield batch
                continue
            yield prefix + batch if prefix else batch
            prefix = b""
    finally:
        await batches.aclose()
