"""The live feeds of one caller: a thread's changes, and its thread list's.

Each feed replays the change log after ``Last-Event-ID`` (or starts at its end), then
follows it: woken by this process's LISTEN connection (``api.feeds.hub``), it reads
the rows after its last id from Postgres, each read on a short-lived session. It ends
when its thread is deleted, when the client goes away, or when the process stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.feeds.hub import FeedHub, Subscription
from api.feeds.render import render
from api.schemas.auth import Principal
from api.schemas.feed import KEEPALIVE_FRAME, opening_frame
from api.stores.feed import PAGE_ROWS, FeedRow, FeedStore
from api.stores.threads import ThreadStore

# How often an idle feed sends a comment.
KEEPALIVE_S = 15.0

Reader = Callable[[FeedStore, int], Awaitable[list[FeedRow]]]


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

    async def thread_feed(self, thread_id: UUID, after: int | None) -> AsyncIterator[bytes]:
        """The changes of one thread after log id ``after`` (else from now), until it is
        deleted; 404 for a thread that does not exist or is another owner's."""
        await ThreadStore(self._session, self._caller.scope).get(thread_id)
        start = after if after is not None else await FeedStore(self._session).last_id()

        async def read(store: FeedStore, position: int) -> list[FeedRow]:
            return await store.of_thread(thread_id, position)

        subscribing = self._hub.subscribe(thread_id=thread_id)
        return self._follow(subscribing, read, start, ends_on_delete=True)

    async def list_feed(self, after: int | None) -> AsyncIterator[bytes]:
        """The changes of the caller's thread list (an admin's: every thread's) after log
        id ``after`` (else from now)."""
        start = after if after is not None else await FeedStore(self._session).last_id()
        owner = self._caller.scope

        async def read(store: FeedStore, position: int) -> list[FeedRow]:
            return await store.of_owner(owner, position)

        subscribing = self._hub.subscribe(owner_id=owner)
        return self._follow(subscribing, read, start, ends_on_delete=False)

    async def _follow(
        self,
        subscribing: AbstractContextManager[Subscription],
        read: Reader,
        position: int,
        *,
        ends_on_delete: bool,
    ) -> AsyncIterator[bytes]:
        """Frames of the rows ``read`` finds after ``position``, read again whenever the
        subscription is woken; a keep-alive comment when nothing happened for a while."""
        yield opening_frame(position)
        with subscribing as subscription:
            while not self._hub.closing:
                subscription.arm()
                async with self._session_factory() as session:
                    rows = await read(FeedStore(session), position)
                    batch = await render(session, rows) if rows else b""
                if batch:
                    yield batch
                if rows:
                    position = rows[-1].id
                    if ends_on_delete and rows[-1].kind == "thread.deleted":
                        return
                    if len(rows) == PAGE_ROWS:
                        continue
                if not await subscription.wait(KEEPALIVE_S):
                    yield KEEPALIVE_FRAME
