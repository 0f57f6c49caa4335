"""Compare runs across real ``playground serve`` processes, and under quotas."""

from __future__ import annotations

import signal
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.fake_upstream import reply_text
from tests.compare.conftest import THREE, texts
from tests.fixtures.app import RunningApp, stream_events
from tests.fixtures.auth import create_key
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.threads import create_thread


async def start_and_leave(
    base_url: str, thread_id: str, content: str
) -> tuple[dict[str, str], list[str], str]:
    """Start a run of the three models and leave once every variant has text: the text
    seen per reply, the reply ids in order and the last event id."""
    body = {"content": content, "variants": THREE}
    seen: dict[str, str] = {}
    reply_ids: list[str] = []
    last_id = ""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        aconnect_sse(http, "POST", f"/api/threads/{thread_id}/messages", json=body) as source,
    ):
        async for sse in source.aiter_sse():
            last_id = sse.id
            data = sse.json()
            if sse.event == "message.created" and data["message"]["role"] == "assistant":
                reply_ids.append(data["message"]["id"])
            if sse.event == "message.delta":
                seen[data["message_id"]] = seen.get(data["message_id"], "") + data["content"]
                if len(seen) == 3:
                    break
    return seen, reply_ids, last_id


async def test_resume_on_another_process_replays_every_variant_exactly(
    paced_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = paced_servers
    thread_id = (await create_thread(a.base_url, model="fake-quick"))["id"]
    seen, reply_ids, last_id = await start_and_leave(a.base_url, thread_id, "resume [[chunks:60]]")
    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        resumed = await stream_events(
            http, "GET", f"/api/threads/{thread_id}/stream", headers={"Last-Event-ID": last_id}
        )
    assert resumed.status_code == 200
    seqs = [int(event.id.rsplit(":", 1)[1]) for event in resumed.events]
    assert seqs == list(range(int(last_id.rsplit(":", 1)[1]) + 1, seqs[-1] + 1))
    assert resumed.names()[-4:] == ["message.completed"] * 3 + ["done"]
    rest = texts(resumed)
    for reply_id in reply_ids:
        whole = seen.get(reply_id, "") + rest.get(reply_id, "")
        assert whole == reply_text(60)
        row = await wait_until_settled(db_engine, reply_id)
        assert (row.status, row.content) == ("completed", whole)


async def test_a_killed_process_leaves_every_variant_interrupted(
    paced_servers: list[ServerProcess],
    migrated_database_url: str,
    paced_upstream_url: str,
    db_engine: AsyncEngine,
) -> None:
    victim = start_server(migrated_database_url, paced_upstream_url)
    survivor = paced_servers[1]
    thread_id = (await create_thread(victim.base_url, model="fake-quick"))["id"]
    _, reply_ids, _ = await start_and_leave(
        victim.base_url, thread_id, "doomed [[chunks:2000]] [[slow:5]]"
    )
    victim.stop(signal.SIGKILL)
    for reply_id in reply_ids:
        row = await wait_until_settled(db_engine, reply_id)
        assert row.status == "interrupted"
        assert reply_text(2000).startswith(row.content)
    # The reaper's closing events end the run for a follower: one completion per reply.
    async with httpx.AsyncClient(base_url=survivor.base_url, timeout=30) as http:
        replayed = await stream_events(
            http,
            "GET",
            f"/api/threads/{thread_id}/stream",
            params={"last_event_id": f"{await generation_of(db_engine, thread_id)}:0"},
        )
        completed = [e.data["message"] for e in replayed.events if e.event == "message.completed"]
        assert [message["id"] for message in completed] == reply_ids
        assert {message["status"] for message in completed} == {"interrupted"}
        again = await stream_events(
            http,
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": "alive? [[chunks:3]]", "variants": THREE},
        )
    assert again.status_code == 200
    assert again.names()[-4:] == ["message.completed"] * 3 + ["done"]


async def generation_of(db_engine: AsyncEngine, thread_id: str) -> str:
    async with db_engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT id FROM generation WHERE thread_id = :id ORDER BY created_at LIMIT 1"),
            {"id": thread_id},
        )
    return str(found)


async def compare(http: httpx.AsyncClient, thread_id: str, variants: list[Any]) -> httpx.Response:
    return await http.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": "quota [[chunks:2]]", "variants": variants, "stream": False},
    )


async def test_quotas_count_every_variant(auth_app: RunningApp, migrated_database_url: str) -> None:
    three = [{"model": "fake-small"}, {"model": "fake-large"}, {"model": "fake-small"}]
    concurrent = await create_key(migrated_database_url, "cmp-conc", max_concurrent_replies=2)
    per_minute = await create_key(migrated_database_url, "cmp-rpm", requests_per_minute=4)
    for made, limit, value in (
        (concurrent, "max_concurrent_replies", 2),
        (per_minute, "requests_per_minute", 4),
    ):
        headers = {"Authorization": f"Bearer {made['key']}"}
        async with httpx.AsyncClient(
            base_url=auth_app.base_url, headers=headers, timeout=30
        ) as http:
            thread_id = (await create_thread(http, model="fake-small"))["id"]
            if limit == "requests_per_minute":
                # Three requests of the minute, then two more would pass the four.
                assert (await compare(http, thread_id, three)).status_code == 200
                refused = await compare(http, thread_id, three[:2])
            else:
                # Three replies at once would pass the two allowed.
                refused = await compare(http, thread_id, three)
            assert refused.status_code == 429, refused.text
            assert refused.json()["extra"]["limit"] == limit
            assert refused.json()["extra"]["value"] == value
            kept = len((await http.get(f"/api/threads/{thread_id}/messages")).json()["data"])
            # Nothing stored by the refused run: the branch is as before it.
            assert kept == (2 if limit == "requests_per_minute" else 0)
            # One more reply still fits either limit.
            single = await http.post(
                f"/api/threads/{thread_id}/messages",
                json={"content": "one [[chunks:2]]", "stream": False},
            )
            assert single.status_code == 200, single.text
