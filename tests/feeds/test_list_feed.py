"""``GET /api/events``: the thread list changing, also across processes; both feeds end
at once when their process stops."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx

from tests.fixtures.app import SSEEvent
from tests.fixtures.feeds import FeedReader
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.threads import create_thread


def has(kind: str) -> Callable[[list[SSEEvent]], bool]:
    """A predicate on the events received: one of them is of ``kind``."""
    return lambda events: any(e.event == kind for e in events)


async def test_created_renamed_activity_and_deleted(client: httpx.AsyncClient) -> None:
    # Each step waits for its event: a change is sent with the thread as it is when the
    # feed reads it, and nothing once it is deleted.
    async with FeedReader(client, "/api/events") as reader:
        thread_id = (await create_thread(client, title="List me"))["id"]
        await reader.until(has("thread.created"))
        await client.patch(f"/api/threads/{thread_id}", json={"title": "Renamed"})
        await reader.until(has("thread.updated"))
        stored = await client.post(
            f"/api/threads/{thread_id}/messages", json={"content": "hi", "generate": False}
        )
        assert stored.status_code == 201
        await reader.until(has("thread.activity"))
        assert (await client.delete(f"/api/threads/{thread_id}")).status_code == 204
        await reader.until(has("thread.deleted"))

    # Only this thread's events (other tests' threads may show up in between).
    ours = [
        e
        for e in reader.events
        if e.data.get("thread_id") == thread_id or e.data.get("thread", {}).get("id") == thread_id
    ]
    assert [e.event for e in ours] == [
        "thread.created",
        "thread.updated",
        "thread.activity",
        "thread.deleted",
    ]
    assert ours[0].data["thread"]["title"] == "List me"
    assert ours[1].data["thread"]["title"] == "Renamed"
    assert ours[2].data["thread"]["last_activity_at"] > ours[0].data["thread"]["created_at"]
    assert ours[3].data == {"thread_id": thread_id}


async def test_a_change_through_one_process_reaches_a_feed_on_another(
    two_servers: list[ServerProcess],
) -> None:
    a, b = two_servers
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        thread_id = (await create_thread(on_a))["id"]
        async with (
            FeedReader(on_b, f"/api/threads/{thread_id}/events") as thread_feed,
            FeedReader(on_b, "/api/events") as list_feed,
        ):
            started = time.monotonic()
            response = await on_a.post(
                f"/api/threads/{thread_id}/messages", json={"content": "across", "stream": False}
            )
            assert response.status_code == 200, response.text
            await thread_feed.kinds_until("generation.finished")
            await on_a.patch(f"/api/threads/{thread_id}", json={"title": "Seen on B"})
            renamed = await list_feed.until(has("thread.updated"))
            elapsed = time.monotonic() - started
    created = thread_feed.of("message.created")
    assert created[0]["message"]["content"] == "across"
    assert thread_feed.of("message.updated")[-1]["message"]["status"] == "completed"
    assert [e.data["thread"]["title"] for e in renamed if e.event == "thread.updated"] == [
        "Seen on B"
    ]
    assert elapsed < 10


async def test_sigterm_ends_open_feeds_at_once(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    server = start_server(migrated_database_url, fake_upstream_url)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            thread_id = (await create_thread(http))["id"]
            async with (
                FeedReader(http, f"/api/threads/{thread_id}/events") as thread_feed,
                FeedReader(http, "/api/events") as list_feed,
            ):
                started = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                await thread_feed.wait_ended()
                await list_feed.wait_ended()
                # Well within the 10 s uvicorn would otherwise wait for open responses.
                assert time.monotonic() - started < 5
        assert server.stop(timeout=10) in (0, -signal.SIGTERM)
    finally:
        server.stop()
