"""The live feeds of one caller: a thread's changes, and its thread list's.

Each feed replays the change log after ``Last-Event-ID`` (or starts at what is not yet
committed), then follows it: woken by this process's LISTEN connection
(``api.feeds.hub``), it reads the rows after its last position from Postgres, each read
on a short-lived session. It ends when its thread is deleted, when the client goes
away, or when the process stops.

A read returns only rows of transactions that have all ended (``api.stores.feed``): the
notification of a commit may come while an older transaction, of any thread or any
database of the cluster, still runs, and then the row it announces is held back. No
notification says when that older one ends, so such a feed reads again after a short
delay, doubling up to a second, until it has caught up: the feeds' only timed re-check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.feeds.hub import FeedHub, Subscription
from api.feeds.render import render
from api.schemas.auth import Principal
from api.schemas.feed import FeedPosition, opening_frame
from api.schemas.sse import KEEPALIVE_FRAME, KEEPALIVE_S
from api.stores.feed import FeedPage, FeedStore, Opening
from api.stores.threads import ThreadStore

# The re-check of a read held back by an older running transaction: first delay, most.
RECHECK_FIRST_S = 0.05
RECHECK_MAX_S = 1.0

Reader = Callable[[FeedStore, FeedPosition], Awaitable[FeedPage]]


class FeedService:
    """Opens the caller's feeds: checks what it may see, and where each starts."""

    def __init__(
        self,
        session: AsyncSession,
        session_factory: async_sessionmaker[AsyncSession],
        hub: FeedHub,
        caller: Principal,
    ) -> None:
        self._session = session
        self._session_factory = session_factory
        self._hub = hub
        self._caller = caller

    async def thread_feed(
        self, thread_id: UUID, after: FeedPosition | None
    ) -> AsyncIterator[bytes]:
        """The changes of one thread after ``after`` (else from now), until it is
        deleted; 404 for a thread that does not exist or is another owner's."""
        await ThreadStore(self._session, self._caller.scope).get(thread_id)
        opening, start = await self._start(after)

        async def read(store: FeedStore, position: FeedPosition) -> FeedPage:
            return await store.of_thread(thread_id, position, opening)

        subscribing = self._hub.subscribe(thread_id=thread_id)
        return self._follow(subscribing, read, start, ends_on_delete=True)

    async def list_feed(self, after: FeedPosition | None) -> AsyncIterator[bytes]:
        """The changes of the caller's thread list (an admin's: every thread's) after
        ``after`` (else from now)."""
        opening, start = await self._start(after)
        owner = self._caller.scope

        async def read(store: FeedStore, position: FeedPosition) -> FeedPage:
            return await store.of_owner(owner, position, opening)

        subscribing = self._hub.subscribe(owner_id=owner)
        return self._follow(subscribing, read, start, ends_on_delete=False)

    async def _start(self, after: FeedPosition | None) -> tuple[Opening | None, FeedPosition]:
        """Where a feed starts: after ``after``, else after what is committed now (from
        before every transaction still running, passing over what committed meanwhile)."""
        if after is not None:
            return None, after
        opening = await FeedStore(self._session).opening()
        return opening, opening.position

    async def _follow(
        self,
        subscribing: AbstractContextManager[Subscription],
        read: Reader,
        position: FeedPosition,
        *,
        ends_on_delete: bool,
    ) -> AsyncIterator[bytes]:
        """Frames of the rows ``read`` finds after ``position``, read again whenever the
        subscription is woken (or, held back, after a delay); a keep-alive comment when
        nothing was sent for a while."""
        yield opening_frame(position)
        recheck: float | None = None
        quiet_since = anyio.current_time()
        with subscribing as subscription:
            while not self._hub.closing:
                subscription.arm()
                async with self._session_factory() as session:
                    page = await read(FeedStore(session), position)
                    batch = await render(session, page.rows) if page.rows else b""
                position = page.position
                if batch:
                    yield batch
                    quiet_since = anyio.current_time()
                if ends_on_delete and page.rows and page.rows[-1].kind == "thread.deleted":
                    return
                if page.more:
                    continue
                recheck = _next_recheck(recheck) if page.held_back else None
                idle = KEEPALIVE_S - (anyio.current_time() - quiet_since)
                woken = await subscription.wait(min(idle, recheck or idle))
                if not woken and anyio.current_time() - quiet_since >= KEEPALIVE_S:
                    yield KEEPALIVE_FRAME
                    quiet_since = anyio.current_time()


def _next_recheck(previous: float | None) -> float:
    """The delay before reading again a feed still held back: doubling up to a most."""
    return RECHECK_FIRST_S if previous is None else min(previous * 2, RECHECK_MAX_S)
