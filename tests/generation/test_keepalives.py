"""What a follower writes around a generation's batches (``with_keepalives``): ``retry:``
joined to the first batch, and a keep-alive comment while nothing comes, without
disturbing the batches themselves; closing it closes them (no HTTP, no database)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio

from api.generation.feed import KEEPALIVE_S, with_keepalives
from api.schemas.feed import KEEPALIVE_FRAME

FIRST = b"id: g:1\nevent: message.created\ndata: {}\n\n"
SECOND = b"id: g:2\nevent: done\ndata: {}\n\n"


class Batches:
    """Two batches with a wait between them the test ends; records being closed."""

    def __init__(self) -> None:
        self.go_on = anyio.Event()
        self.closed = False

    async def run(self) -> AsyncGenerator[bytes, None]:
        try:
            yield FIRST
            await self.go_on.wait()
            yield SECOND
        finally:
            self.closed = True


async def test_retry_comes_first_and_keepalives_fill_the_silence() -> None:
    batches = Batches()
    written = with_keepalives(batches.run(), interval_s=0.01)
    assert await anext(written) == b"retry: 1000\n" + FIRST
    # Nothing comes: a comment after each interval, and the generator still waits.
    assert [await anext(written) for _ in range(3)] == [KEEPALIVE_FRAME] * 3
    batches.go_on.set()
    rest = [frame async for frame in written]
    assert rest[-1] == SECOND
    assert set(rest[:-1]) <= {KEEPALIVE_FRAME}
    assert batches.closed


async def test_closing_the_follower_closes_its_batches() -> None:
    batches = Batches()
    written = with_keepalives(batches.run(), interval_s=0.01)
    await anext(written)
    assert await anext(written) == KEEPALIVE_FRAME
    await written.aclose()
    assert batches.closed


async def test_a_cancelled_follower_closes_its_batches() -> None:
    batches = Batches()
    written = with_keepalives(batches.run())
    await anext(written)
    with anyio.move_on_after(0.05):
        await anext(written)  # waits for the second batch (or a keep-alive, far off)
    assert batches.closed


def test_the_interval_is_the_documented_one() -> None:
    assert KEEPALIVE_S == 15.0
