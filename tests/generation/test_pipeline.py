"""Pipeline rules: store before streaming, batched writes, disconnect-proof, parallel."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.fake_upstream import reply_text
from tests.fixtures.app import RunningApp, send_and_disconnect, stream_events
from tests.fixtures.messages import message_row, wait_until_settled
from tests.fixtures.statements import is_timed
from tests.fixtures.threads import create_thread


async def test_rows_are_stored_before_the_stream_starts(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    async with aconnect_sse(
        client, "POST", url, json={"content": "hello [[chunks:40]] [[slow:10]]"}
    ) as source:
        events = source.aiter_sse()
        first = await anext(events)
        second = await anext(events)
        user = await message_row(db_engine, first.json()["message"]["id"])
        assistant = await message_row(db_engine, second.json()["message"]["id"])
        assert (user.role, user.content, user.status) == (
            "user",
            "hello [[chunks:40]] [[slow:10]]",
            "completed",
        )
        assert (assistant.role, assistant.status) == ("assistant", "in_progress")
        async for _ in events:
            pass


async def test_deltas_are_written_in_batches(
    client: httpx.AsyncClient, running_app: RunningApp, db_engine: AsyncEngine
) -> None:
    updates: list[str] = []

    def count_updates(
        conn: Connection, cursor: Any, statement: str, *args: Any, **kwargs: Any
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE MESSAGE"):
            updates.append(statement)

    engine = running_app.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_updates)
    try:
        thread = await create_thread(client, model="fake-small")
        started = time.perf_counter()
        result = await stream_events(
            client,
            "POST",
            f"/api/threads/{thread['id']}/messages",
            json={"content": "long one [[chunks:200]] [[slow:2]]"},
        )
        elapsed = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", count_updates)
    deltas = sum(1 for e in result.events if e.event == "message.delta")
    # Chunks that arrive together (e.g. during a flush) may go out as one delta.
    assert 1 <= deltas <= 200
    assert result.deltas() == result.completed()["content"] == reply_text(200)
    # The flush interval is 50 ms in tests: one write per interval plus the final one,
    # never one per token.
    assert 1 <= len(updates) <= elapsed / 0.05 + 2
    assert len(updates) < 200 / 4


async def test_reply_completes_and_is_stored_when_the_client_disconnects(
    running_app: RunningApp, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(running_app.base_url, model="fake-small")
    _, _, assistant_id = await send_and_disconnect(
        running_app.base_url, thread["id"], "bye [[chunks:60]] [[slow:10]]", stop_after_deltas=3
    )
    # The connection is closed now; the generation goes on without it.
    row = await wait_until_settled(db_engine, assistant_id)
    assert row.status == "completed"
    assert row.content == reply_text(60)


async def test_generations_in_different_threads_interleave(client: httpx.AsyncClient) -> None:
    threads = [await create_thread(client, model="fake-small") for _ in range(2)]
    # When each word arrived: a follower that falls behind gets several chunks (one word
    # each) coalesced into one event, so words are counted, not events.
    arrivals: dict[int, list[float]] = {0: [], 1: []}
    texts = {0: "", 1: ""}

    async def run(index: int) -> None:
        url = f"/api/threads/{threads[index]['id']}/messages"
        body = {"content": "together [[chunks:30]] [[slow:10]]"}
        async with aconnect_sse(client, "POST", url, json=body) as source:
            async for sse in source.aiter_sse():
                if sse.event == "message.delta":
                    content = sse.json()["content"]
                    texts[index] += content
                    arrivals[index] += [time.perf_counter()] * len(content.split())

    await asyncio.gather(run(0), run(1))
    first, second = arrivals[0], arrivals[1]
    assert texts[0] == texts[1] == reply_text(30)
    assert len(first) == len(second) == 30
    # Each stream's tokens arrive while the other one is still streaming.
    assert second[0] < first[-1]
    assert first[0] < second[-1]
    merged = sorted([(t, 0) for t in first] + [(t, 1) for t in second])
    switches = sum(1 for a, b in itertools.pairwise(merged) if a[1] != b[1])
    assert switches >= 10


async def test_statements_per_reply_do_not_grow_with_the_number_of_chunks(
    client: httpx.AsyncClient, running_app: RunningApp
) -> None:
    statements: list[str] = []

    def count(conn: Connection, cursor: Any, statement: str, *args: Any, **kwargs: Any) -> None:
        # Left out: what runs on a clock (the content flush once per interval, and the
        # process's own heartbeat, reaper and pruning), which a reply's length in time
        # drives, not its number of chunks.
        if not is_timed(statement):
            statements.append(statement)

    async def reply(content: str) -> int:
        thread = await create_thread(client, model="fake-small", tools=[])
        statements.clear()
        result = await stream_events(
            client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": content}
        )
        assert result.completed()["status"] == "completed"
        return len(statements)

    engine = running_app.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        # Both take about 200 ms; only the number of chunks differs (tenfold).
        few = await reply("few [[chunks:10]] [[slow:20]]")
        many = await reply("many [[chunks:100]] [[slow:2]]")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert abs(many - few) <= 1, (few, many)
    assert many < 40
