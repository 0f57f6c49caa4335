"""Durable generations across real ``playground serve`` processes sharing one database."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.fake_upstream import reply_text
from tests.fixtures.app import send_and_cancel, send_and_disconnect, stream_events
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.metrics import scrape
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.threads import create_thread


async def test_resume_on_another_process_has_no_gap_and_no_duplicate(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    first, last_id, reply_id = await send_and_disconnect(
        a.base_url, thread_id, "resume me [[chunks:60]] [[slow:15]]", stop_after_deltas=7
    )
    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        resumed = await stream_events(
            http, "GET", f"/api/threads/{thread_id}/stream", headers={"Last-Event-ID": last_id}
        )
    assert resumed.status_code == 200
    seqs = [int(event.id.rsplit(":", 1)[1]) for event in resumed.events]
    assert seqs == list(range(int(last_id.rsplit(":", 1)[1]) + 1, seqs[-1] + 1))
    assert resumed.names()[-2:] == ["message.completed", "done"]
    text_seen = "".join(first) + resumed.deltas()
    assert text_seen == reply_text(60)
    row = await wait_until_settled(db_engine, reply_id)
    # A client that reconnects after `done` (as EventSource does) gets nothing more.
    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        again = await stream_events(
            http,
            "GET",
            f"/api/threads/{thread_id}/stream",
            headers={"Last-Event-ID": resumed.events[-1].id},
        )
    assert again.status_code == 200
    assert again.names() == []
    assert row.content == text_seen
    assert row.status == "completed"


async def test_resume_by_query_parameter_after_the_generation_ended(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    first, last_id, reply_id = await send_and_disconnect(
        a.base_url, thread_id, "short [[chunks:5]] [[slow:5]]", stop_after_deltas=2
    )
    # Once it is over, the rest still comes from the stored events.
    await wait_until_settled(db_engine, reply_id)
    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        assert (await http.get(f"/api/threads/{thread_id}/stream")).status_code == 204
        resumed = await stream_events(
            http, "GET", f"/api/threads/{thread_id}/stream", params={"last_event_id": last_id}
        )
    assert "".join(first) + resumed.deltas() == reply_text(5)
    assert resumed.names()[-1] == "done"


async def test_follower_on_another_process_sees_tokens_live(
    two_servers: list[ServerProcess],
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    body = {"content": "live [[chunks:40]] [[slow:20]]"}
    # (when, how many words): coalescing may merge several chunks into one event.
    produced: list[tuple[float, int]] = []
    followed: list[tuple[float, int]] = []

    async def produce() -> None:
        async with (
            httpx.AsyncClient(base_url=a.base_url, timeout=30) as http,
            aconnect_sse(http, "POST", f"/api/threads/{thread_id}/messages", json=body) as source,
        ):
            async for sse in source.aiter_sse():
                if sse.event == "message.delta":
                    produced.append((time.perf_counter(), len(sse.json()["content"].split())))

    async def follow() -> None:
        async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
            async with asyncio.timeout(10):
                while True:
                    async with aconnect_sse(
                        http, "GET", f"/api/threads/{thread_id}/stream"
                    ) as source:
                        if source.response.status_code == 204:
                            await asyncio.sleep(0.01)
                            continue
                        async for sse in source.aiter_sse():
                            if sse.event == "message.delta":
                                words = len(sse.json()["content"].split())
                                followed.append((time.perf_counter(), words))
                        return

    await asyncio.gather(produce(), follow())
    assert sum(words for _, words in produced) == 40
    assert sum(words for _, words in followed) == 40
    # Live, not replayed at the end: most tokens reach B while A is still producing.
    last_produced = produced[-1][0]
    assert sum(words for moment, words in followed if moment < last_produced) >= 30


async def test_cancel_from_another_process(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    result, cancel, seconds = await send_and_cancel(
        a.base_url,
        thread_id,
        "long [[chunks:1000]] [[slow:10]]",
        after_deltas=3,
        cancel_on=b.base_url,
    )
    assert cancel.status_code == 200, cancel.text
    assert seconds < 1.0
    final = result.completed()
    assert result.names()[-2:] == ["message.completed", "done"]
    assert final["status"] == "cancelled"
    assert final["content"] == result.deltas()
    assert result.names().count("message.delta") < 1000
    row = await wait_until_settled(db_engine, final["id"])
    assert row.status == "cancelled"


async def test_concurrent_sends_from_two_processes_one_wins(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    thread_id = (await create_thread(two_servers[0].base_url, model="fake-small"))["id"]
    marker = uuid.uuid4().hex

    async def send(server: ServerProcess, index: int) -> tuple[int, Any]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            result = await stream_events(
                http,
                "POST",
                f"/api/threads/{thread_id}/messages",
                json={"content": f"{marker}-{index} [[chunks:30]] [[slow:10]]"},
            )
            return result.status_code, result.body

    results = await asyncio.gather(*(send(s, i) for i, s in enumerate(two_servers)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    conflict = next(body for status, body in results if status == 409)
    assert "already being generated" in conflict["detail"]
    async with db_engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT count(*) FROM message WHERE thread_id = :t AND content LIKE :m"),
                {"t": thread_id, "m": f"{marker}%"},
            )
        ).scalar_one()
    assert stored == 1, "the rejected user message must not be stored"


async def test_idempotent_retry_attaches_to_the_same_generation(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    body = {"content": "once only [[chunks:20]] [[slow:10]]"}
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    url = f"/api/threads/{thread_id}/messages"
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=30) as on_b,
    ):
        first, second = await asyncio.gather(
            stream_events(on_a, "POST", url, json=body, headers=headers),
            stream_events(on_b, "POST", url, json=body, headers=headers),
        )
        assert first.status_code == second.status_code == 200
        assert first.completed()["id"] == second.completed()["id"]
        assert first.deltas() == second.deltas() == reply_text(20)
        assert {e.id.rsplit(":", 1)[0] for e in first.events} == {
            e.id.rsplit(":", 1)[0] for e in second.events
        }
        other = await on_b.post(url, json={"content": "something else"}, headers=headers)
        assert other.status_code == 422
        assert "Idempotency-Key" in other.json()["detail"]
        later = await stream_events(on_a, "POST", url, json=body, headers=headers)
        assert later.completed()["id"] == first.completed()["id"]
    async with db_engine.connect() as conn:
        users = (
            await conn.execute(
                text("SELECT count(*) FROM message WHERE thread_id = :t AND role = 'user'"),
                {"t": thread_id},
            )
        ).scalar_one()
    assert users == 1


async def test_interrupt_policy_replaces_the_running_reply(
    two_servers: list[ServerProcess], db_engine: AsyncEngine
) -> None:
    a, b = two_servers
    thread_id = (await create_thread(a.base_url, model="fake-small"))["id"]
    deltas, _, first_reply = await send_and_disconnect(
        a.base_url, thread_id, "slow one [[chunks:500]] [[slow:10]]", stop_after_deltas=3
    )
    async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
        result = await stream_events(
            http,
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": "never mind [[chunks:3]]", "if_busy": "interrupt"},
        )
    assert result.status_code == 200
    assert result.completed()["status"] == "completed"
    old = await wait_until_settled(db_engine, first_reply)
    assert old.status == "cancelled"
    assert old.content.startswith("".join(deltas))


async def test_killed_process_leaves_an_interrupted_reply(
    two_servers: list[ServerProcess],
    migrated_database_url: str,
    fake_upstream_url: str,
    db_engine: AsyncEngine,
) -> None:
    victim = start_server(migrated_database_url, fake_upstream_url)
    survivor = two_servers[1]
    interrupted_before = await interrupted_count(two_servers)
    thread_id = (await create_thread(victim.base_url, model="fake-small"))["id"]
    deltas, _, reply_id = await send_and_disconnect(
        victim.base_url, thread_id, "doomed [[chunks:2000]] [[slow:5]]", stop_after_deltas=20
    )
    victim.stop(signal.SIGKILL)
    row = await wait_until_settled(db_engine, reply_id)
    assert row.status == "interrupted"
    # Whichever survivor reaped it counted how it ended (just after storing it).
    deadline = time.monotonic() + 10
    while await interrupted_count(two_servers) == interrupted_before:
        assert time.monotonic() < deadline, "the reaped generation was never counted"
        await asyncio.sleep(0.1)
    assert await interrupted_count(two_servers) == interrupted_before + 1
    # The text flushed before the kill is kept.
    assert reply_text(2000).startswith(row.content)
    async with httpx.AsyncClient(base_url=survivor.base_url, timeout=30) as http:
        again = await stream_events(
            http,
            "POST",
            f"/api/threads/{thread_id}/messages",
            json={"content": "alive? [[chunks:3]]"},
        )
    assert again.status_code == 200
    assert again.completed()["status"] == "completed"
    assert len(deltas) == 20


async def interrupted_count(servers: list[ServerProcess]) -> float:
    """``fake-small`` generations the servers counted as ended ``interrupted``."""
    total = 0.0
    for server in servers:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            seen = await scrape(http)
        total += seen.value(
            "playground_generations_finished_total", model="fake-small", status="interrupted"
        )
    return total


@pytest.mark.parametrize(
    ("grace_s", "chunks", "interval_ms", "status"),
    [
        # Short enough to finish within the grace period: completed in full.
        ("10", 40, 20, "completed"),
        # Far longer than the grace period: stopped, partial text kept.
        ("0.5", 3000, 10, "interrupted"),
    ],
)
async def test_sigterm_drains_then_interrupts(
    migrated_database_url: str,
    fake_upstream_url: str,
    db_engine: AsyncEngine,
    grace_s: str,
    chunks: int,
    interval_ms: int,
    status: str,
) -> None:
    server = start_server(
        migrated_database_url, fake_upstream_url, {"PLAYGROUND_SHUTDOWN_GRACE_S": grace_s}
    )
    thread_id = (await create_thread(server.base_url, model="fake-small"))["id"]
    _, _, reply_id = await send_and_disconnect(
        server.base_url,
        thread_id,
        f"shut down [[chunks:{chunks}]] [[slow:{interval_ms}]]",
        stop_after_deltas=2,
    )
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert await asyncio.to_thread(server.stop, signal.SIGTERM) in (0, -signal.SIGTERM)
    row = await wait_until_settled(db_engine, reply_id)
    assert row.status == status
    if status == "completed":
        assert row.content == reply_text(chunks)
    else:
        assert 0 < len(row.content) < len(reply_text(chunks))
