"""``playground serve --workers 2``: two processes behind one port serve as one service.

Which worker accepts a connection is up to the kernel, so each request opens a fresh
connection: across many, both workers answer. Generations are durable and reachable
from any process, so following and cancelling work whichever worker answers.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.workers import worker_pool
from scripts.fake_upstream import reply_text
from tests.fixtures.app import http_client, send_and_cancel, send_and_disconnect, stream_events
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.processes import STARTED, ServerProcess, start_server
from tests.fixtures.threads import create_thread

WORKERS = ["--workers", "2"]
METRICS_DIR = re.compile(r"the workers keep their metrics in (\S+) until serve exits")


def start_workers(database_url: str, upstream_url: str) -> ServerProcess:
    server = start_server(database_url, upstream_url, extra_args=WORKERS)
    assert len(server.worker_pids()) == 2
    return server


def stop_leftovers(server: ServerProcess, children: list[psutil.Process]) -> None:
    """Stop serve, and whichever of its children outlived it (after a failed test)."""
    server.stop()
    for child in psutil.wait_procs(children, timeout=10)[1]:
        child.kill()


def metrics_dir(server: ServerProcess) -> Path:
    """The directory serve made for its workers' metrics, as it said."""
    match = METRICS_DIR.search("".join(server.output))
    assert match is not None, "".join(server.output)
    return Path(match[1])


async def metric(base_url: str, name: str, **labels: str) -> float:
    """One sample of ``/metrics``, through a fresh connection; 0 if not there yet."""
    async with http_client(base_url) as api:
        response = await api.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    served = start_workers(migrated_database_url, fake_upstream_url)
    yield served
    stop_leftovers(served, psutil.Process(served.process.pid).children(recursive=True))


async def reply_owners(db_engine: AsyncEngine, thread_ids: list[str]) -> set[str]:
    """The processes that ran the replies in these threads: each ran on the worker that
    took its request, which stored its instance id as the generation's owner."""
    async with db_engine.connect() as connection:
        owners = await connection.scalars(
            text("SELECT DISTINCT owner FROM generation WHERE thread_id = ANY(:ids)"),
            {"ids": [uuid.UUID(thread_id) for thread_id in thread_ids]},
        )
        return set(owners.all())


async def test_concurrent_requests_all_succeed_and_both_workers_serve(
    server: ServerProcess, db_engine: AsyncEngine
) -> None:
    async def converse(index: int) -> str:
        # Each call opens a connection of its own.
        thread = await create_thread(server.base_url, model="fake-small")
        async with http_client(server.base_url) as api:
            url = f"/api/threads/{thread['id']}/messages"
            content = f"number {index} [[chunks:10]] [[slow:20]]"
            result = await stream_events(api, "POST", url, json={"content": content})
            listed = await api.get(f"/api/threads/{thread['id']}/messages")
        assert result.status_code == 200, result.body
        assert result.completed()["status"] == "completed"
        assert result.deltas() == reply_text(10)
        assert listed.status_code == 200, listed.text
        return str(thread["id"])

    # Which worker accepts is the kernel's choice, and one may take a whole burst of
    # connections; rounds go on (a few at most) until both ran replies.
    owners: set[str] = set()
    for _ in range(5):
        thread_ids = await asyncio.gather(*(converse(index) for index in range(12)))
        owners |= await reply_owners(db_engine, thread_ids)
        if len(owners) == 2:
            break
    assert len(owners) == 2


async def test_a_reply_is_followed_from_any_worker(
    server: ServerProcess, db_engine: AsyncEngine
) -> None:
    thread_id = (await create_thread(server.base_url, model="fake-small"))["id"]
    first, last_id, reply_id = await send_and_disconnect(
        server.base_url, thread_id, "follow me [[chunks:60]] [[slow:15]]", stop_after_deltas=5
    )

    async def follow() -> str:
        async with http_client(server.base_url) as api:
            resumed = await stream_events(
                api, "GET", f"/api/threads/{thread_id}/stream", headers={"Last-Event-ID": last_id}
            )
        assert resumed.status_code == 200
        assert resumed.names()[-2:] == ["message.completed", "done"]
        return resumed.deltas()

    # Each on a fresh connection, to whichever worker the kernel picks.
    rests = await asyncio.gather(*(follow() for _ in range(6)))
    assert {"".join(first) + rest for rest in rests} == {reply_text(60)}
    row = await wait_until_settled(db_engine, reply_id)
    assert (row.status, row.content) == ("completed", reply_text(60))


async def test_a_reply_is_cancelled_from_any_worker(
    server: ServerProcess, db_engine: AsyncEngine
) -> None:
    threads = [await create_thread(server.base_url, model="fake-small") for _ in range(4)]
    # The cancel goes through a fresh connection too, to either worker.
    outcomes = await asyncio.gather(
        *(
            send_and_cancel(
                server.base_url,
                thread["id"],
                "long [[chunks:1000]] [[slow:10]]",
                after_deltas=3,
                cancel_on=server.base_url,
            )
            for thread in threads
        )
    )
    for result, cancel, _ in outcomes:
        assert cancel.status_code == 200, cancel.text
        final = result.completed()
        assert final["status"] == "cancelled"
        assert result.names().count("message.delta") < 1000
        row = await wait_until_settled(db_engine, final["id"])
        assert row.status == "cancelled"


async def test_metrics_add_up_every_worker(server: ServerProcess) -> None:
    assert metrics_dir(server).is_dir()
    created = {
        "app_name": "playground",
        "method": "POST",
        "path": "/api/threads",
        "status_code": "201",
    }
    before = await metric(server.base_url, "playground_requests_total", **created)
    for _ in range(6):
        await create_thread(server.base_url)
    # Whichever worker answers, it counts the threads both created.
    seen = [await metric(server.base_url, "playground_requests_total", **created) for _ in range(6)]
    assert seen == [before + 6] * 6


async def replies_running(server: ServerProcess) -> float:
    """The replies running now, summed over the workers."""
    return await metric(server.base_url, "playground_generations_running", model="fake-small")


def worker_holding(server: ServerProcess, client_port: int) -> int:
    """The worker whose end of a TCP connection faces ``client_port``."""
    for child in psutil.Process(server.process.pid).children():
        for connection in child.net_connections(kind="tcp"):
            if connection.raddr and connection.raddr.port == client_port:
                return child.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


async def test_a_killed_worker_is_replaced_and_its_running_reply_no_longer_counts(
    server: ServerProcess,
) -> None:
    thread_id = (await create_thread(server.base_url, model="fake-small"))["id"]
    url = f"/api/threads/{thread_id}/messages"
    body = {"content": "killed [[chunks:1000]] [[slow:10]]"}
    victims: list[int] = []
    async with (
        http_client(server.base_url) as api,
        aconnect_sse(api, "POST", url, json=body) as source,
    ):
        stream = source.response.extensions["network_stream"]

        async def kill_the_worker_replying() -> None:
            async for sse in source.aiter_sse():
                if sse.event == "message.delta" and not victims:
                    client_port = stream.get_extra_info("client_addr")[1]
                    victims.append(worker_holding(server, client_port))
                    assert await replies_running(server) == 1
                    os.kill(victims[0], signal.SIGKILL)

        # The reply breaks off when the worker running it dies.
        with pytest.raises(httpx.TransportError):
            await kill_the_worker_replying()
    [victim] = victims
    forgot = f"forgot the gauges of worker [{victim}], which died"

    def replaced(output: str) -> bool:
        return STARTED in output.partition(forgot)[2]

    restarted = await asyncio.to_thread(server.wait_for_output, replaced)
    assert restarted, "".join(server.output)
    assert not (metrics_dir(server) / f"gauge_livesum_{victim}.db").exists()
    # Its reply died with it: the gauge it kept no longer counts.
    assert await replies_running(server) == 0
    alive = {child.pid for child in psutil.Process(server.process.pid).children()}
    assert server.worker_pids()[-1] in alive
    assert victim not in alive


async def test_sigterm_lets_replies_finish_then_stops_every_worker(
    migrated_database_url: str, fake_upstream_url: str, db_engine: AsyncEngine
) -> None:
    server = start_workers(migrated_database_url, fake_upstream_url)
    children = psutil.Process(server.process.pid).children(recursive=True)
    try:
        assert set(server.worker_pids()) <= {child.pid for child in children}
        shared = metrics_dir(server)
        thread_id = (await create_thread(server.base_url, model="fake-small"))["id"]
        _, _, reply_id = await send_and_disconnect(
            server.base_url, thread_id, "finish me [[chunks:40]] [[slow:20]]", stop_after_deltas=2
        )
        # Killed by SIGTERM, as with one process: after the workers stopped.
        assert await asyncio.to_thread(server.stop, signal.SIGTERM) == -signal.SIGTERM
        row = await wait_until_settled(db_engine, reply_id)
        assert (row.status, row.content) == ("completed", reply_text(40))
        output = "".join(server.output)
        for pid in server.worker_pids():
            assert f"Finished server process [{pid}]" in output
        # Workers were waited for; the rest (multiprocessing's helper) ends with serve.
        assert not psutil.wait_procs(children, timeout=10)[1]
        assert not shared.exists()
    finally:
        stop_leftovers(server, children)


@pytest.mark.parametrize(("workers", "pool"), [(2, "20"), (4, "10"), (16, "4")])
def test_workers_share_the_default_pool(
    monkeypatch: pytest.MonkeyPatch, workers: int, pool: str
) -> None:
    monkeypatch.delenv("PLAYGROUND_DB_POOL_SIZE", raising=False)
    assert worker_pool(workers) == {"PLAYGROUND_DB_POOL_SIZE": pool}
    monkeypatch.setenv("PLAYGROUND_DB_POOL_SIZE", "30")
    assert worker_pool(workers) == {}
