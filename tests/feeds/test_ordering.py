"""The feeds' order without a lock: rows are read in (transaction id, id) order, and
only once every older transaction has ended; a feed held back that way reads again by
itself, since the older transaction's end may notify nobody."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from api.schemas.feed import parse_feed_id
from api.stores.feed import FeedPage, FeedStore, Opening
from tests.fixtures.app import RunningApp
from tests.fixtures.database import connect
from tests.fixtures.feeds import WAIT_S, FeedReader
from tests.fixtures.threads import create_thread

# In the feed's read, and in no other statement.
FEED_READ = "pg_snapshot_xmin(pg_current_snapshot())"


@contextmanager
def feed_reads(running_app: RunningApp) -> Iterator[asyncio.Queue[None]]:
    """A queue that gets an item each time the app has read a feed (a statement run on
    its engine), from now on."""
    loop = asyncio.get_running_loop()
    reads: asyncio.Queue[None] = asyncio.Queue()

    def record(*args: Any) -> None:
        if FEED_READ in args[2]:
            loop.call_soon_threadsafe(reads.put_nowait, None)

    engine: AsyncEngine = running_app.app.state.engine
    event.listen(engine.sync_engine, "after_cursor_execute", record)
    try:
        yield reads
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", record)


async def opening(db_engine: AsyncEngine) -> Opening:
    async with AsyncSession(db_engine) as session:
        return await FeedStore(session).opening()


async def read(db_engine: AsyncEngine, thread_id: str, opened: Opening) -> FeedPage:
    """What a thread feed opened at ``opened`` can read now."""
    async with AsyncSession(db_engine) as session:
        return await FeedStore(session).of_thread(UUID(thread_id), opened.position, opened)


async def rename(http: httpx.AsyncClient, thread_id: str, title: str) -> None:
    response = await http.patch(f"/api/threads/{thread_id}", json={"title": title})
    assert response.status_code == 200, response.text


async def test_an_older_transaction_comes_first_and_holds_a_newer_one_back(
    client: httpx.AsyncClient, db_engine: AsyncEngine, running_app: RunningApp
) -> None:
    thread_id = (await create_thread(client))["id"]
    response = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": "one", "generate": False}
    )
    message_id = response.json()["id"]
    opened = await opening(db_engine)
    async with FeedReader(client, f"/api/threads/{thread_id}/events") as reader:
        async with db_engine.connect() as a:
            # A writes first, so it has the smaller transaction id; its row comes at COMMIT.
            await a.execute(
                text("UPDATE message SET content = 'by A' WHERE id = :id"), {"id": message_id}
            )
            with feed_reads(running_app) as reads:
                await rename(client, thread_id, "by B")  # B commits while A runs
                held = await read(db_engine, thread_id, opened)
                assert (held.rows, held.held_back) == ([], True)
                await asyncio.wait_for(reads.get(), WAIT_S)
            assert reader.events == []  # woken by B, the feed sent nothing yet
            await a.commit()
        events = await reader.until(lambda seen: len(seen) >= 2)

    assert [e.event for e in events] == ["message.updated", "thread.updated"]
    assert events[0].data["message"]["content"] == "by A"
    assert events[1].data["thread"]["title"] == "by B"
    first, second = (parse_feed_id(e.id) for e in events)
    assert first is not None
    assert second is not None
    assert first.xid < second.xid


@pytest.mark.parametrize("elsewhere", ["another database", "another thread"])
async def test_a_feed_held_back_reads_again_without_a_notification(
    client: httpx.AsyncClient,
    db_engine: AsyncEngine,
    running_app: RunningApp,
    postgres_server_url: str,
    elsewhere: str,
) -> None:
    thread_id = (await create_thread(client))["id"]
    other_id = (await create_thread(client))["id"]
    async with FeedReader(client, f"/api/threads/{thread_id}/events") as reader:
        async with transaction_elsewhere(db_engine, postgres_server_url, elsewhere, other_id) as a:
            with feed_reads(running_app) as reads:
                await rename(client, thread_id, "by B")
                await asyncio.wait_for(reads.get(), WAIT_S)
            assert reader.events == []
            # A's end notifies nothing this feed follows: only its re-check finds B's row.
            await a.commit()
        events = await reader.until(lambda seen: len(seen) >= 1)
    assert [(e.event, e.data["thread"]["title"]) for e in events] == [("thread.updated", "by B")]


@asynccontextmanager
async def transaction_elsewhere(
    db_engine: AsyncEngine, server_url: str, elsewhere: str, other_id: str
) -> AsyncIterator[AsyncConnection]:
    """A transaction that has a transaction id, running until committed: in another
    database of the cluster, or writing another thread of this one."""
    if elsewhere == "another database":
        async with connect(server_url) as connection:
            await connection.execute(text("SELECT pg_current_xact_id()"))
            yield connection
    else:
        async with db_engine.connect() as connection:
            await connection.execute(
                text("UPDATE thread SET title = 'by A' WHERE id = :id"), {"id": other_id}
            )
            yield connection
