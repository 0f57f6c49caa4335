"""Optimistic concurrency: ``ETag`` on thread and message answers, ``If-Match`` on the
five writes that honour it (412 with the current representation, nothing changed), and
the version a trigger bumps whoever writes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import send_and_disconnect
from tests.fixtures.auth import Caller
from tests.fixtures.messages import message_row
from tests.fixtures.threads import create_thread


def tag(version: int) -> str:
    return f'"{version}"'


async def stored(db_engine: AsyncEngine, table: str, row_id: str) -> dict[str, Any] | None:
    """A row as a person with psql sees it (every column)."""
    async with db_engine.connect() as conn:
        found = (
            await conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id})
        ).one_or_none()
    return None if found is None else dict(found._mapping)


async def thread_with_branch(client: httpx.AsyncClient) -> dict[str, Any]:
    """A thread with a stored exchange: its first user message and the reply."""
    thread = await create_thread(client, title="Draft")
    base = f"/api/threads/{thread['id']}/messages"
    user = (await client.post(base, json={"content": "hello", "generate": False})).json()
    reply = (
        await client.post(
            base, json={"content": "hi there", "role": "assistant", "generate": False}
        )
    ).json()
    current = (await client.get(f"/api/threads/{thread['id']}")).json()
    return {"thread": current, "user": user, "reply": reply}


async def test_each_answer_carries_the_version_as_etag(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/threads", json={"title": "a"})
    assert created.json()["version"] == 1
    assert created.headers["etag"] == tag(1)
    thread_url = f"/api/threads/{created.json()['id']}"
    renamed = await client.patch(thread_url, json={"title": "b"})
    assert renamed.json()["version"] == 2
    assert renamed.headers["etag"] == tag(2)
    got = await client.get(thread_url)
    assert (got.headers["etag"], got.json()) == (tag(2), renamed.json())

    added = await client.post(f"{thread_url}/messages", json={"content": "x", "generate": False})
    assert (added.status_code, added.json()["version"], added.headers["etag"]) == (201, 1, tag(1))
    message_url = f"{thread_url}/messages/{added.json()['id']}"
    edited = await client.patch(message_url, json={"content": "y"})
    assert (edited.json()["version"], edited.headers["etag"]) == (2, tag(2))
    got_message = await client.get(message_url)
    assert got_message.headers["etag"] == tag(2)
    assert got_message.json()["content"] == "y"

    # The message moved the head: a change of the thread.
    head = await client.put(f"{thread_url}/head", json={"message_id": added.json()["id"]})
    assert head.headers["etag"] == tag(head.json()["version"]) == tag(4)
    fork = await client.post(f"{thread_url}/fork", json={"message_id": added.json()["id"]})
    assert (fork.status_code, fork.headers["etag"]) == (201, tag(fork.json()["version"]))


async def test_a_matching_if_match_writes(client: httpx.AsyncClient) -> None:
    world = await thread_with_branch(client)
    thread = world["thread"]
    url = f"/api/threads/{thread['id']}"
    version = thread["version"]
    # The current tag; one of a list (beside a weak tag and an empty element); any.
    for listed in [['"{}"'], ['W/"{}"', '"999"', "", '"{}"'], ["*"]]:
        value = ", ".join(item.format(version) for item in listed)
        answer = await client.patch(url, json={"title": value}, headers={"If-Match": value})
        assert answer.status_code == 200, (value, answer.text)
        assert answer.json()["title"] == value
        version += 1
        assert answer.headers["etag"] == tag(version)
    head = await client.put(
        f"{url}/head", json={"message_id": world["user"]["id"]}, headers={"If-Match": tag(version)}
    )
    assert head.status_code == 200, head.text
    # The newest leaf under the user message.
    assert head.json()["head_id"] == world["reply"]["id"]


def five_writes(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """The five conditional writes: method, path, body, and which row's version counts."""
    base = f"/api/threads/{world['thread']['id']}"
    user = f"{base}/messages/{world['user']['id']}"
    return [
        ("PATCH", base, {"title": "mine"}, "thread"),
        ("DELETE", base, None, "thread"),
        ("PUT", f"{base}/head", {"message_id": world["user"]["id"]}, "thread"),
        ("PATCH", user, {"content": "mine"}, "user"),
        ("DELETE", user, None, "user"),
    ]


@pytest.mark.parametrize("route", range(5))
async def test_a_stale_if_match_is_412_with_the_current_representation(
    client: httpx.AsyncClient, db_engine: AsyncEngine, route: int
) -> None:
    world = await thread_with_branch(client)
    thread_id, user_id = world["thread"]["id"], world["user"]["id"]
    # Someone else changed both since this client read them.
    theirs = await client.patch(f"/api/threads/{thread_id}", json={"title": "theirs"})
    edited = await client.patch(
        f"/api/threads/{thread_id}/messages/{user_id}", json={"content": "their words"}
    )
    current = {"thread": theirs.json(), "user": edited.json()}
    before = {
        "thread": await stored(db_engine, "thread", thread_id),
        "user": await stored(db_engine, "message", user_id),
    }
    method, url, body, row = five_writes(world)[route]
    stale = tag(world[row]["version"])
    for value in [stale, f"W/{tag(current[row]['version'])}"]:
        answer = await client.request(method, url, json=body, headers={"If-Match": value})
        assert answer.status_code == 412, answer.text
        error = answer.json()
        assert error["extra"] == {
            "header": "If-Match",
            "etag": tag(current[row]["version"]),
            "current": current[row],
        }
        assert "If-Match" in error["detail"]
    assert await stored(db_engine, "thread", thread_id) == before["thread"]
    assert await stored(db_engine, "message", user_id) == before["user"]


@pytest.mark.parametrize("value", ["3", '"3', "W/3", '"3" "4"', '"a"b', '"a b"'])
async def test_a_malformed_if_match_is_400_naming_the_header(
    client: httpx.AsyncClient, value: str
) -> None:
    thread = await create_thread(client, title="kept")
    url = f"/api/threads/{thread['id']}"
    answer = await client.patch(url, json={"title": "x"}, headers={"If-Match": value})
    assert answer.status_code == 400, answer.text
    assert answer.json()["extra"] == {"header": "If-Match"}
    assert (await client.get(url)).json()["title"] == "kept"


async def test_without_if_match_the_last_write_wins(client: httpx.AsyncClient) -> None:
    world = await thread_with_branch(client)
    url = f"/api/threads/{world['thread']['id']}"
    for title in ["first", "second"]:
        assert (await client.patch(url, json={"title": title})).status_code == 200
    message_url = f"{url}/messages/{world['user']['id']}"
    for content in ["one", "two"]:
        assert (await client.patch(message_url, json={"content": content})).status_code == 200
    assert (await client.get(url)).json()["title"] == "second"
    assert (await client.get(message_url)).json()["content"] == "two"
    assert (await client.delete(message_url)).status_code == 204


async def test_a_matching_delete_stops_a_running_reply_first(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}"
    _, _, reply_id = await send_and_disconnect(
        client, thread["id"], "long [[chunks:1000]] [[slow:10]]", stop_after_deltas=2
    )
    # The version as it is while the reply runs (the send moved the head).
    version = (await client.get(url)).json()["version"]
    # Stopping the reply writes its row and the activity clock, not the thread's version.
    answer = await client.delete(url, headers={"If-Match": tag(version)})
    assert answer.status_code == 204, answer.text
    assert await stored(db_engine, "thread", thread["id"]) is None
    assert await message_row(db_engine, reply_id) is None


async def waiting_on_locks(db_engine: AsyncEngine) -> int:
    async with db_engine.connect() as conn:
        waiting: int = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
        )
    return waiting


async def both_waiting(db_engine: AsyncEngine) -> None:
    """Poll Postgres (bounded) until two backends wait for a lock: nothing to await
    inside the server."""
    async with asyncio.timeout(10):
        while True:
            if await waiting_on_locks(db_engine) >= 2:
                return
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["thread", "message"])
async def test_two_writers_with_one_if_match_one_wins(
    client: httpx.AsyncClient, db_engine: AsyncEngine, kind: str
) -> None:
    world = await thread_with_branch(client)
    thread_id = world["thread"]["id"]
    if kind == "thread":
        url, field, row = f"/api/threads/{thread_id}", "title", world["thread"]
    else:
        url, field = f"/api/threads/{thread_id}/messages/{world['user']['id']}", "content"
        row = world["user"]
    # Hold the thread's row lock so that both requests are inside their transaction,
    # past reading the row, before either may write.
    async with db_engine.connect() as holder:
        await holder.execute(
            text("SELECT id FROM thread WHERE id = :id FOR UPDATE"), {"id": thread_id}
        )
        writes = [
            asyncio.create_task(
                client.patch(url, json={field: name}, headers={"If-Match": tag(row["version"])})
            )
            for name in ["left", "right"]
        ]
        await both_waiting(db_engine)
        await holder.rollback()
    answers = await asyncio.gather(*writes)
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    won = next(answer for answer in answers if answer.status_code == 200).json()
    lost = next(answer for answer in answers if answer.status_code == 412).json()
    assert lost["extra"]["current"] == won
    assert won["version"] == row["version"] + 1
    assert (await client.get(url)).json()[field] == won[field]


async def test_every_writer_bumps_the_version_but_activity_does_not(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    world = await thread_with_branch(client)
    thread_id = world["thread"]["id"]
    version = world["thread"]["version"]
    async with db_engine.begin() as conn:
        # The activity clock alone (every reply moves it) is no change of the thread.
        await conn.execute(
            text("UPDATE thread SET last_activity_at = now() WHERE id = :id"), {"id": thread_id}
        )
    assert (await client.get(f"/api/threads/{thread_id}")).json()["version"] == version
    async with db_engine.begin() as conn:
        # A person with psql, even one setting the version by hand, bumps it.
        await conn.execute(
            text("UPDATE thread SET title = 'psql', version = 1 WHERE id = :id"),
            {"id": thread_id},
        )
    got = await client.get(f"/api/threads/{thread_id}")
    assert (got.json()["title"], got.json()["version"]) == ("psql", version + 1)
    # A send (the SQL function playground_send) moves the head: a new version.
    sent = await client.post(
        f"/api/threads/{thread_id}/messages", json={"content": "more", "stream": False}
    )
    assert sent.status_code == 200, sent.text
    after = (await client.get(f"/api/threads/{thread_id}")).json()
    assert after["version"] > version + 1
    assert after["head_id"] == sent.json()["assistant_message"]["id"]


async def test_another_members_thread_is_404_even_with_if_match(alice: Caller, bob: Caller) -> None:
    thread = (await alice.request("POST", "/api/threads", json={"title": "alice's"})).json()
    url = f"/api/threads/{thread['id']}"
    for method, body in [("PATCH", {"title": "bob's"}), ("DELETE", None)]:
        for value in ["*", tag(thread["version"]), tag(99)]:
            answer = await bob.request(method, url, json=body, headers={"If-Match": value})
            assert answer.status_code == 404, answer.text
            assert "current" not in answer.text
    assert (await alice.request("GET", url)).json() == thread
