"""``GET /api/threads/{id}/events``: every change of a thread, with its data, from any
writer; resumable with ``Last-Event-ID``."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.schemas.feed import parse_feed_id
from api.stores.feed import FeedStore
from tests.fixtures.app import stream_events
from tests.fixtures.feeds import FeedReader
from tests.fixtures.threads import create_thread


async def store(http: httpx.AsyncClient, thread_id: str, content: str, **body: Any) -> Any:
    """Store a message without a reply; its body."""
    response = await http.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": content, "generate": False, **body},
    )
    assert response.status_code == 201, response.text
    return response.json()


def feed(http: httpx.AsyncClient, thread_id: str, **headers: str) -> FeedReader:
    return FeedReader(http, f"/api/threads/{thread_id}/events", headers)


async def test_a_send_shows_its_messages_generation_and_head(client: httpx.AsyncClient) -> None:
    thread_id = (await create_thread(client))["id"]
    async with feed(client, thread_id) as reader:
        response = await client.post(
            f"/api/threads/{thread_id}/messages", json={"content": "hello", "stream": False}
        )
        assert response.status_code == 200, response.text
        sent = response.json()
        reply_id = sent["assistant_message"]["id"]
        await reader.kinds_until("generation.finished", "message.updated")

    kinds = [event.event for event in reader.events]
    assert kinds[:4] == ["message.created", "message.created", "generation.started", "head.changed"]
    user, placeholder = (data["message"] for data in reader.of("message.created"))
    assert (user["role"], user["content"]) == ("user", "hello")
    assert (placeholder["id"], placeholder["role"]) == (reply_id, "assistant")
    started = reader.of("generation.started")[0]
    assert started["message_id"] == reply_id
    assert started["thread_id"] == thread_id
    assert started["stream_url"] == (
        f"/api/threads/{thread_id}/stream?last_event_id={started['generation_id']}:0"
    )
    assert reader.of("head.changed")[0]["thread"]["head_id"] == reply_id
    # The reply's text came through its generation's stream, not as message.updated
    # per batch: one update, when it finished, with the row as stored.
    updates = reader.of("message.updated")
    assert [u["message"]["id"] for u in updates] == [reply_id]
    assert updates[0]["message"]["status"] == "completed"
    assert updates[0]["message"]["content"] == sent["assistant_message"]["content"]
    assert reader.of("generation.finished") == [
        {"thread_id": thread_id, "generation_id": started["generation_id"], "message_id": reply_id}
    ]
    # Event ids are increasing positions; the list-only kinds are not in a thread's feed.
    ids = [position for e in reader.events if (position := parse_feed_id(e.id)) is not None]
    assert len(ids) == len(reader.events)
    assert ids == sorted(set(ids))
    assert "thread.activity" not in kinds

    # What generation.started carries is enough to follow the reply from its start.
    followed = await stream_events(client, "GET", started["stream_url"])
    assert followed.names()[-1] == "done"
    assert followed.completed()["content"] == sent["assistant_message"]["content"]


async def test_edit_rename_settings_branch_switch_and_delete(client: httpx.AsyncClient) -> None:
    thread_id = (await create_thread(client, title="Before"))["id"]
    first = await store(client, thread_id, "first")
    answer = await store(client, thread_id, "answer", role="assistant")
    other = await store(
        client, thread_id, "another answer", role="assistant", parent_id=first["id"]
    )
    async with feed(client, thread_id) as reader:
        edited = await client.patch(
            f"/api/threads/{thread_id}/messages/{first['id']}", json={"content": "first, edited"}
        )
        assert edited.status_code == 200
        await reader.kinds_until("message.updated")
        renamed = await client.patch(
            f"/api/threads/{thread_id}", json={"title": "After", "params": {"temperature": 0.3}}
        )
        assert renamed.status_code == 200
        await reader.kinds_until("thread.updated")
        switched = await client.put(
            f"/api/threads/{thread_id}/head", json={"message_id": answer["id"]}
        )
        assert switched.status_code == 200
        await reader.kinds_until("head.changed")
        deleted = await client.delete(f"/api/threads/{thread_id}/messages/{other['id']}")
        assert deleted.status_code == 204
        await reader.kinds_until("message.deleted")

    assert [e.event for e in reader.events] == [
        "message.updated",
        "thread.updated",
        "head.changed",
        "message.deleted",
    ]
    message = reader.of("message.updated")[0]["message"]
    assert (message["id"], message["content"]) == (first["id"], "first, edited")
    assert message["sibling_ids"] == [first["id"]]
    thread = reader.of("thread.updated")[0]["thread"]
    assert (thread["title"], thread["params"]) == ("After", {"temperature": 0.3})
    assert reader.of("head.changed")[0]["thread"]["head_id"] == answer["id"]
    assert reader.of("message.deleted") == [{"thread_id": thread_id, "message_id": other["id"]}]


async def test_an_edit_made_with_plain_sql_reaches_the_feed(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread_id = (await create_thread(client))["id"]
    message = await store(client, thread_id, "typed in the page")
    async with feed(client, thread_id) as reader:
        async with db_engine.begin() as connection:
            await connection.execute(
                text("UPDATE message SET content = 'fixed in psql' WHERE id = :id"),
                {"id": message["id"]},
            )
        events = await reader.until(lambda seen: len(seen) >= 1)
    assert events[0].event == "message.updated"
    assert events[0].data["message"]["content"] == "fixed in psql"


async def test_last_event_id_replays_exactly_the_missed_events(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread_id = (await create_thread(client))["id"]
    async with feed(client, thread_id) as reader:
        first = await store(client, thread_id, "one")
        seen = await reader.until(lambda events: len(events) == 2)
    assert [e.event for e in seen] == ["message.created", "head.changed"]
    last_seen = seen[-1].id
    after = parse_feed_id(last_seen)
    assert after is not None

    # Missed while disconnected:
    second = await store(client, thread_id, "two")
    await client.patch(f"/api/threads/{thread_id}/messages/{first['id']}", json={"content": "1"})
    async with db_engine.connect() as connection:
        missed = (
            await connection.execute(
                text(
                    "SELECT xid || '-' || id, kind FROM feed_event WHERE thread_id = :thread"
                    " AND (xid, id) > (CAST(:xid AS xid8), :id)"
                    " AND kind <> 'thread.activity' ORDER BY xid, id"
                ),
                {"thread": thread_id, "xid": after.xid, "id": after.id},
            )
        ).all()
    assert [kind for _, kind in missed] == ["message.created", "head.changed", "message.updated"]

    for headers in ({"Last-Event-ID": last_seen}, {}):
        url = f"/api/threads/{thread_id}/events"
        if not headers:
            url += f"?last_event_id={last_seen}"
        async with FeedReader(client, url, headers) as resumed:
            replayed = await resumed.until(lambda events: len(events) == len(missed))
        assert [(e.id, e.event) for e in replayed] == [tuple(row) for row in missed]
        assert replayed[0].data["message"]["id"] == second["id"]
        # The current representation: the edit made after is already in it.
        assert replayed[2].data["message"]["content"] == "1"


async def test_deleting_the_thread_is_one_event_and_ends_the_feed(
    client: httpx.AsyncClient,
) -> None:
    thread_id = (await create_thread(client))["id"]
    await store(client, thread_id, "one")
    await store(client, thread_id, "two")
    async with feed(client, thread_id) as reader:
        assert (await client.delete(f"/api/threads/{thread_id}")).status_code == 204
        await reader.wait_ended()
    assert [(e.event, e.data) for e in reader.events] == [
        ("thread.deleted", {"thread_id": thread_id})
    ]


async def test_unknown_thread_and_bad_ids_are_refused(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = await client.get(f"/api/threads/{missing}/events")
    assert response.status_code == 404
    assert response.json()["detail"] == f"thread {missing} not found"
    thread_id = (await create_thread(client))["id"]
    response = await client.get(
        f"/api/threads/{thread_id}/events", headers={"Last-Event-ID": "abc:1"}
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "Last-Event-ID"}
    # A bare number (no transaction id) is not a position either.
    response = await client.get(f"/api/threads/{thread_id}/events?last_event_id=12")
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "last_event_id"}
    assert "'12' is not an event id of this feed" in response.json()["detail"]
    # As on the generation streams: a bad query id is refused even beside a good header.
    response = await client.get(
        f"/api/threads/{thread_id}/events?last_event_id=12", headers={"Last-Event-ID": "1-1"}
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "last_event_id"}


async def test_changes_older_than_the_retention_are_pruned(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    old = (await create_thread(client))["id"]
    recent = (await create_thread(client))["id"]
    async with db_engine.begin() as connection:
        # Rows only triggers append; aging them by hand stands for an hour passing.
        await connection.execute(
            text(
                "UPDATE feed_event SET created_at = now() - interval '2 hours' WHERE thread_id = :t"
            ),
            {"t": old},
        )
    async with AsyncSession(db_engine) as session:
        await FeedStore(session).prune(3600)
        await session.commit()
    async with db_engine.connect() as connection:
        left = (
            await connection.execute(
                text("SELECT thread_id::text, kind FROM feed_event WHERE thread_id IN (:a, :b)"),
                {"a": old, "b": recent},
            )
        ).all()
    assert [tuple(row) for row in left] == [(recent, "thread.created")]
