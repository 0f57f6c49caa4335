"""``GET /metrics``: Prometheus text whose counters move by exactly what the API did.

The app is shared by the whole session, so each test reads the metrics before and
after and compares the difference. Generations use ``fake-large``, a model no other
test generates with, so its series move only here.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import RunningApp, http_client, stream_events
from tests.fixtures.metrics import scrape
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.threads import create_thread

MODEL = "fake-large"
UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """What moved, by label value."""
    moved = {key: after[key] - before.get(key, 0.0) for key in after}
    return {key: value for key, value in moved.items() if value}


async def send(client: httpx.AsyncClient, thread_id: str, content: str) -> dict[str, object]:
    """Send ``content`` to a thread of its own; the finished reply (streamed or 502)."""
    url = f"/api/threads/{thread_id}/messages"
    result = await stream_events(client, "POST", url, json={"content": content})
    if result.status_code == 502:
        return {"status": "failed"}
    return result.completed()


async def cancel_midway(client: httpx.AsyncClient, thread_id: str) -> float:
    """Start a long reply, read the running gauge after its first delta, cancel it;
    return the gauge's reading for ``MODEL``."""
    url = f"/api/threads/{thread_id}/messages"
    body = {"content": "long [[chunks:500]] [[slow:10]]"}
    async with aconnect_sse(client, "POST", url, json=body) as source:
        async for sse in source.aiter_sse():
            if sse.event == "message.delta":
                break
        running = (await scrape(client)).value("playground_generations_running", model=MODEL)
        cancel = await client.post(f"/api/threads/{thread_id}/cancel")
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    return running


async def stored_usage(db_engine: AsyncEngine, thread_ids: list[str]) -> tuple[int, int]:
    async with db_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0)"
                    " FROM message WHERE thread_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": thread_ids},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_replies_are_counted_by_model_status_and_kind(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    threads = [(await create_thread(client, model=MODEL))["id"] for _ in range(4)]
    before = await scrape(client)

    completed = await send(client, threads[0], "hello [[chunks:5]]")
    failed_at_once = await send(client, threads[1], "[[fail:500]]")
    failed_midway = await send(client, threads[2], "[[chunks:10]] [[drop:3]]")
    running = await cancel_midway(client, threads[3])
    after = await scrape(client)

    assert [completed["status"], failed_at_once["status"], failed_midway["status"]] == [
        "completed",
        "failed",
        "failed",
    ]
    assert running - before.value("playground_generations_running", model=MODEL) == 1
    assert (
        after.value("playground_generations_started_total", model=MODEL)
        - before.value("playground_generations_started_total", model=MODEL)
        == 4
    )
    finished = "playground_generations_finished_total"
    mine = {
        status: after.value(finished, model=MODEL, status=status)
        - before.value(finished, model=MODEL, status=status)
        for status in ["completed", "failed", "cancelled", "interrupted", "requires_action"]
    }
    assert mine == {
        "completed": 1,
        "failed": 2,
        "cancelled": 1,
        "interrupted": 0,
        "requires_action": 0,
    }
    errors = "playground_upstream_errors_total"
    assert delta(after.by(errors, "kind"), before.by(errors, "kind")) == {
        "status": 1,
        "broken_stream": 1,
    }
    # One duration per model call; a time to first token for the three that got text.
    for histogram, count in [
        ("playground_reply_duration_seconds_count", 4),
        ("playground_reply_time_to_first_token_seconds_count", 3),
    ]:
        assert after.value(histogram, model=MODEL) - before.value(histogram, model=MODEL) == count
    prompt, completion = await stored_usage(db_engine, threads)
    assert prompt > 0
    assert completion > 0
    for counter, stored in [
        ("playground_prompt_tokens_total", prompt),
        ("playground_completion_tokens_total", completion),
    ]:
        assert after.value(counter, model=MODEL) - before.value(counter, model=MODEL) == stored


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    thread = await create_thread(client)
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get(f"/api/threads/{thread['id']}")).status_code == 200
    assert (await client.get(f"/api/threads/{uuid.uuid4()}")).status_code == 404
    after = await scrape(client)

    path = "/api/threads/{thread_id}"
    requests = "playground_requests_total"
    moved = {
        status: after.value(requests, **labels) - before.value(requests, **labels)
        for status in ["200", "404"]
        for labels in [
            {"method": "GET", "path": path, "status_code": status, "app_name": "playground"}
        ]
    }
    assert moved == {"200": 2, "404": 1}
    latency = "playground_request_duration_seconds_count"
    labels = {"method": "GET", "path": path, "status_code": "200", "app_name": "playground"}
    assert after.value(latency, **labels) - before.value(latency, **labels) == 2
    paths = set(after.by(requests, "path"))
    assert path in paths
    assert not [p for p in paths if UUID_IN_TEXT.search(p)]


async def test_no_label_holds_a_key_or_user_text(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, model=MODEL)
    secret_text = "do not label me [[chunks:2]]"
    await send(client, thread["id"], secret_text)
    values = list((await scrape(client)).label_values())
    assert values
    assert not [v for v in values if "test-key" in v or "label me" in v]


async def test_pool_gauge_counts_connections_lent_out(
    client: httpx.AsyncClient, running_app: RunningApp
) -> None:
    gauge = "playground_db_pool_connections_in_use"
    engine: AsyncEngine = running_app.app.state.engine
    held = [await engine.connect() for _ in range(5)]
    try:
        for connection in held:
            await connection.execute(text("SELECT 1"))
        during = (await scrape(client)).value(gauge)
    finally:
        for connection in held:
            await connection.close()
    released = (await scrape(client)).value(gauge)
    # The app's own bookkeeping (heartbeats) may hold a connection at either moment.
    assert during >= 5
    assert 0 <= released < during


async def test_metrics_go_through_the_app_guards_and_options(client: httpx.AsyncClient) -> None:
    undeclared = await client.get("/metrics", params={"format": "json"})
    assert undeclared.status_code == 400
    assert undeclared.json()["extra"]["field"] == "format"
    options = await client.options("/metrics")
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS"


@dataclass
class Workers:
    """Server processes sharing one PROMETHEUS_MULTIPROC_DIR, as a server's workers would."""

    servers: list[ServerProcess]
    shared_dir: Path


@pytest.fixture(scope="module")
def workers(
    migrated_database_url: str, fake_upstream_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    shared = tmp_path_factory.mktemp("prometheus")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    servers = [start_server(migrated_database_url, fake_upstream_url, env) for _ in range(2)]
    yield Workers(servers, shared)
    for server in servers:
        server.stop()


async def test_each_worker_answers_the_sum_of_all_workers(workers: Workers) -> None:
    async with http_client(workers.servers[0].base_url) as api:
        thread = await create_thread(api)
        reply = await send(api, thread["id"], "hello")
    assert reply["status"] == "completed"
    # The first worker ran it all; the second answers the same sums.
    for server in workers.servers:
        async with http_client(server.base_url) as api:
            seen = await scrape(api)
        finished = {"model": "offline", "status": "completed"}
        assert seen.value("playground_generations_started_total", model="offline") == 1
        assert seen.value("playground_generations_finished_total", **finished) == 1
        assert seen.value("playground_generations_running", model="offline") == 0
        assert seen.value("playground_reply_duration_seconds_count", model="offline") == 1
        created = {"method": "POST", "path": "/api/threads", "status_code": "201"}
        assert seen.value("playground_requests_total", app_name="playground", **created) == 1


def test_a_stopped_worker_leaves_the_live_gauges(workers: Workers) -> None:
    stopping = workers.servers[1]
    pid = stopping.process.pid
    files = {path.name for path in workers.shared_dir.iterdir()}
    assert f"gauge_livesum_{pid}.db" in files
    # A clean stop: the app shut down, then the process died of the SIGTERM it got.
    assert stopping.stop() == -signal.SIGTERM
    assert "Application shutdown complete" in "".join(stopping.output)
    files = {path.name for path in workers.shared_dir.iterdir()}
    assert f"gauge_livesum_{pid}.db" not in files
    # What it counted still counts.
    assert f"counter_{pid}.db" in files
