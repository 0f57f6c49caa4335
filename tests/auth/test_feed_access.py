"""Who sees which feed: a member only their own threads' changes (another's thread feed
is a 404 like a missing one), an admin every thread's; ``EventSource`` clients open
feeds with stream tokens, each good for its own feed only."""

from __future__ import annotations

import httpx

from tests.fixtures.app import RunningApp, SSEEvent
from tests.fixtures.auth import Caller
from tests.fixtures.feeds import FeedReader
from tests.fixtures.threads import create_thread


def about(thread_id: str, events: list[SSEEvent]) -> list[str]:
    """The kinds of the events about ``thread_id``."""
    return [
        e.event
        for e in events
        if e.data.get("thread_id") == thread_id or e.data.get("thread", {}).get("id") == thread_id
    ]


async def test_members_see_their_own_threads_and_admins_every_thread(
    alice: Caller, bob: Caller, admin: Caller
) -> None:
    async with (
        FeedReader(alice.http, "/api/events") as alices,
        FeedReader(bob.http, "/api/events") as bobs,
        FeedReader(admin.http, "/api/events") as admins,
    ):
        hers = (await create_thread(alice.http, title="hers"))["id"]
        his = (await create_thread(bob.http, title="his"))["id"]
        await alices.until(lambda events: about(hers, events) == ["thread.created"])
        await bobs.until(lambda events: about(his, events) == ["thread.created"])
        await admins.until(lambda events: len(about(hers, events) + about(his, events)) == 2)
        # Alice's feed is checked after Bob's last change reached the others' feeds.
        await bob.http.patch(f"/api/threads/{his}", json={"title": "still his"})
        await admins.until(lambda events: "thread.updated" in about(his, events))
        await bobs.until(lambda events: "thread.updated" in about(his, events))
    assert about(his, alices.events) == []
    assert about(hers, bobs.events) == []

    refused = await bob.http.get(f"/api/threads/{hers}/events")
    missing = await bob.http.get("/api/threads/00000000-0000-4000-8000-000000000000/events")
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["detail"] == f"thread {hers} not found"


async def test_stream_tokens_open_their_own_feed_only(
    auth_app: RunningApp, alice: Caller, bob: Caller
) -> None:
    thread_id = (await create_thread(alice.http))["id"]
    thread_token = (await alice.http.post(f"/api/threads/{thread_id}/stream-token")).json()
    events_token = (await alice.http.post("/api/events/stream-token")).json()
    assert events_token["token"].startswith("se_")
    assert alice.key not in events_token["token"]
    bobs_token = (await bob.http.post("/api/events/stream-token")).json()["token"]

    async with httpx.AsyncClient(base_url=auth_app.base_url, timeout=30) as anonymous:
        thread_url = f"/api/threads/{thread_id}/events?stream_token={thread_token['token']}"
        list_url = f"/api/events?stream_token={events_token['token']}"
        async with (
            FeedReader(anonymous, thread_url) as thread_feed,
            FeedReader(anonymous, list_url) as list_feed,
        ):
            assert thread_feed.status_code == list_feed.status_code == 200
            await alice.http.patch(f"/api/threads/{thread_id}", json={"title": "by token"})
            await thread_feed.kinds_until("thread.updated")
            await list_feed.until(lambda events: "thread.updated" in about(thread_id, events))

        # Each token only for its own feed.
        wrong = [
            f"/api/events?stream_token={thread_token['token']}",
            f"/api/threads/{thread_id}/events?stream_token={events_token['token']}",
            f"/api/threads/{thread_id}/stream?stream_token={events_token['token']}",
        ]
        for url in wrong:
            response = await anonymous.get(url)
            assert response.status_code == 401, url
        # Bob's list token opens Bob's list, where Alice's thread never shows.
        async with FeedReader(anonymous, f"/api/events?stream_token={bobs_token}") as bobs:
            assert bobs.status_code == 200
        forged = events_token["token"].replace("se_", "st_", 1)
        assert (await anonymous.get(f"/api/events?stream_token={forged}")).status_code == 401
