"""What a follower writes around a generation's events (no HTTP, no database): a
keep-alive comment while it waits with nothing to send, and ``retry:`` joined to the
first batch of events (``api.generation.feed``); a follower of the events themselves
gets a cue for the comment instead."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncGenerator

from api.generation.feed import Cursor, local_frames, with_retry
from api.generation.stream import GenerationStream
from api.schemas.sse import KEEPALIVE_FRAME, KEEPALIVE_S

FIRST = b"id: g:1\nevent: message.created\ndata: {}\n\n"
SECOND = b"id: g:2\nevent: done\ndata: {}\n\n"


async def test_a_waiting_follower_sends_keepalives_and_then_the_events() -> None:
    stream = GenerationStream(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    stream.publish("message.created", "{}")
    cursor = Cursor(0)
    frames = local_frames(weakref.ref(stream), cursor, keepalive_s=0.01)
    assert await anext(frames) == stream.frames[0]
    # Nothing is published: a comment after each interval, and the follower still waits.
    assert [await anext(frames) for _ in range(3)] == [KEEPALIVE_FRAME] * 3
    stream.publish("done", "{}")
    stream.mark_finished()
    rest = [frame async for frame in frames]
    assert [frame for frame in rest if frame != KEEPALIVE_FRAME] == [stream.frames[1]]
    assert (cursor.position, cursor.ended) == (2, True)


async def test_a_follower_of_the_events_gets_a_cue_while_nothing_comes() -> None:
    """``follow`` with ``idle_s`` (as the AI SDK's stream uses it, writing its own frames):
    None after each quiet interval, then the events."""
    stream = GenerationStream(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    stream.publish("message.created", "{}")
    events = stream.follow(idle_s=0.01)
    assert await anext(events) == stream.events[0]
    assert [await anext(events) for _ in range(3)] == [None] * 3
    stream.publish("done", "{}")
    stream.mark_finished()
    rest = [event async for event in events]
    assert [event for event in rest if event is not None] == [stream.events[1]]


async def test_the_last_batch_ends_the_follow_even_if_the_log_is_freed_meanwhile() -> None:
    """Once a follower has written ``done`` it is finished, whether or not the log is
    still there afterwards: going on from Postgres would send the closing events twice."""
    stream = GenerationStream(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    stream.publish("message.created", "{}")
    stream.publish("done", "{}")
    stream.mark_finished()
    cursor = Cursor(0)
    frames = local_frames(weakref.ref(stream), cursor)
    last = await anext(frames)
    assert last.endswith(stream.frames[1])
    del stream  # the log is freed while the follower writes its last batch
    assert [frame async for frame in frames] == []
    assert (cursor.position, cursor.ended) == (2, True)


async def _batches(closed: list[bool]) -> AsyncGenerator[bytes, None]:
    try:
        yield KEEPALIVE_FRAME
        yield FIRST
        yield KEEPALIVE_FRAME
        yield SECOND
    finally:
        closed.append(True)


async def test_retry_joins_the_first_batch_of_events_only() -> None:
    closed: list[bool] = []
    written = [frame async for frame in with_retry(_batches(closed))]
    assert written == [KEEPALIVE_FRAME, b"retry: 1000\n" + FIRST, KEEPALIVE_FRAME, SECOND]
    assert closed == [True]


async def test_closing_the_follower_closes_its_batches() -> None:
    closed: list[bool] = []
    written = with_retry(_batches(closed))
    await anext(written)
    await written.aclose()
    assert closed == [True]


def test_the_interval_is_the_documented_one() -> None:
    assert KEEPALIVE_S == 15.0
