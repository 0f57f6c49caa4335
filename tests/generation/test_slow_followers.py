"""A follower whose client stops reading costs nothing (``api.generation.feed``).

One follower reads a long, fast reply at full speed while another stops reading right
after the response headers. The server's socket send buffers are made small (through
its listening socket, which accepted connections inherit), so once the paused client's
receive window is full uvicorn really stops writing to it. The reply still completes
for the reader and is stored; the paused follower then costs only its socket's send
buffer (checked on the connection itself) and pins no event log (the generation's
stream object is freed); when its client reads again it gets every event.
"""

from __future__ import annotations

import gc
import socket
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_sse import ServerSentEvent, aconnect_sse
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.generation.feed import MAX_BATCH_BYTES
from api.generation.manager import GenerationManager
from api.settings import load_settings
from scripts.fake_upstream import reply_text
from tests.fixtures.app import app_settings_env, served
from tests.fixtures.messages import message_row
from tests.fixtures.threads import create_thread

# Linux doubles it: about 8 KiB of kernel buffer per connection on the server's side.
SMALL_SEND_BUFFER = 4096
# About 280 KB of text: several times what the paused client's receive window, the
# server's send buffer and uvicorn's write buffer hold together.
CHUNKS = 25_000


@pytest.fixture(scope="module")
async def small_buffers(
    migrated_database_url: str, fake_upstream_url: str
) -> AsyncIterator[tuple[str, uvicorn.Server, Litestar]]:
    """The app, served on a listening socket whose small send buffer every accepted
    connection inherits."""
    app = create_app(migrated_database_url, load_settings(app_settings_env(fake_upstream_url)))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SEND_BUFFER)
    listener.bind(("127.0.0.1", 0))
    async with served(app, listener) as (base_url, server):
        yield base_url, server, app


def seqs(events: list[ServerSentEvent]) -> list[int]:
    return [int(event.id.rsplit(":", 1)[1]) for event in events]


def text_of(events: list[ServerSentEvent]) -> str:
    return "".join(e.json()["content"] for e in events if e.event == "message.delta")


async def test_a_paused_follower_holds_up_nothing_and_gets_everything(
    small_buffers: tuple[str, uvicorn.Server, Litestar], db_engine: AsyncEngine
) -> None:
    base_url, server, app = small_buffers
    generations: GenerationManager = app.state.generations
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60) as fast,
        httpx.AsyncClient(base_url=base_url, timeout=60) as slow,
    ):
        thread = await create_thread(fast, model="fake-small")
        body = {"content": f"long [[chunks:{CHUNKS}]] [[slow:0]]"}
        url = f"/api/threads/{thread['id']}"
        async with aconnect_sse(fast, "POST", f"{url}/messages", json=body) as reader:
            read = reader.aiter_sse()
            fast_events = [await anext(read), await anext(read)]
            generation_id = uuid.UUID(fast_events[0].id.rsplit(":", 1)[0])
            log = weakref.ref(_local(generations, generation_id))
            async with aconnect_sse(slow, "GET", f"{url}/stream") as paused:
                assert paused.response.status_code == 200
                # The paused client reads nothing more until the reply is over.
                fast_events += [event async for event in read]
                assert [e.event for e in fast_events][-1] == "done"
                reply = await message_row(db_engine, fast_events[1].json()["message"]["id"])
                assert (reply.status, reply.content) == ("completed", reply_text(CHUNKS))
                assert text_of(fast_events) == reply.content
                _check_paused_connection(server)
                # Nothing pins the finished generation's log: not the paused follower.
                gc.collect()
                assert log() is None
                slow_events = [event async for event in paused.aiter_sse()]
    # Every event, in order, ending as the generation did; the rest came from Postgres.
    assert [e.event for e in slow_events][:2] == ["message.created", "message.created"]
    assert [e.event for e in slow_events][-2:] == ["message.completed", "done"]
    assert seqs(slow_events) == sorted(set(seqs(slow_events)))
    assert seqs(slow_events)[-1] == seqs(fast_events)[-1]
    assert text_of(slow_events) == reply_text(CHUNKS)


def _local(generations: GenerationManager, generation_id: uuid.UUID) -> Any:
    stream = generations.local(generation_id)
    assert stream is not None, "the generation should still be running"
    return stream


def _check_paused_connection(server: uvicorn.Server) -> None:
    """The one connection uvicorn stopped writing to holds at most its transport's
    high-water mark plus one batch (uvicorn waits before writing the next)."""
    connections: list[Any] = list(server.server_state.connections)
    paused = [connection for connection in connections if connection.flow.write_paused]
    assert len(paused) == 1
    transport = paused[0].transport
    _, high = transport.get_write_buffer_limits()
    assert transport.get_write_buffer_size() <= high + 2 * MAX_BATCH_BYTES
