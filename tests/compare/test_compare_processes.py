"""Compare runs across real ``playground serve`` processes, and under quotas."""

from __future__ import annotations

from typing import Any

import httpx
from httpx_sse import aconnect_sse
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.fake_upstream import reply_text
from tests.compare.conftest import THREE, texts
from tests.fixtures.app import RunningApp, stream_events
from tests.fixtures.auth import create_key
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.processes import ServerProcess
from tests.fixtures.threads import create_thread


async def test_resume_on_another_process_replays_every_variant_exactly(
    paced_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = paced_servers
    thread_id = (await create_thread(a.base_url, model="fake-quick"))["id"]
    body = {"content": "resume [[chunks:60]]", "variants": THREE}
    seen: dict[str, str] = {}
    reply_ids: list[str] = []
    last_id = ""
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as http,
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
                    break  # every variant has started: leave mid-run
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
