"""``GET /api/export`` streams 2,000 threads from a real server process in constant
memory: its RSS grows by far less than the size of what it sends."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.processes import ServerProcess, start_server

THREADS = 2_000
MESSAGES_PER_THREAD = 10
CONTENT_CHARS = 4_000
# The bound README "Export and import" documents.
MAX_RSS_GROWTH_MB = 20


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    process = start_server(migrated_database_url, fake_upstream_url)
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def many_threads(db_engine: AsyncEngine) -> AsyncIterator[uuid.UUID]:
    """2,000 threads of 10 messages of 4,000 characters (80 MB as JSON lines), owned by
    a principal of their own; deleted afterwards."""
    owner = uuid.uuid4()
    async with db_engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO principal (id, name, role) VALUES (:p, 'bulk export', 'member')"),
            {"p": owner},
        )
        await connection.execute(
            text(
                "INSERT INTO thread (id, owner_id, title, model) SELECT gen_random_uuid(), :p,"
                " 'bulk ' || g, 'offline' FROM generate_series(1, :n) g"
            ),
            {"p": owner, "n": THREADS},
        )
        await connection.execute(
            text(
                "INSERT INTO message (id, thread_id, role, content) SELECT gen_random_uuid(),"
                " t.id, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END,"
                " left(repeat(md5(t.id::text || g), :c / 32 + 1), :c)"
                " FROM thread t, generate_series(1, :m) g WHERE t.owner_id = :p"
            ),
            {"p": owner, "m": MESSAGES_PER_THREAD, "c": CONTENT_CHARS},
        )
    yield owner
    async with db_engine.begin() as connection:
        await connection.execute(text("DELETE FROM thread WHERE owner_id = :p"), {"p": owner})
        await connection.execute(text("DELETE FROM principal WHERE id = :p"), {"p": owner})


class RssSampler:
    """The largest RSS of a process, sampled every 20 ms on a thread of its own."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_two_thousand_threads_stream_in_constant_memory(
    server: ServerProcess, many_threads: uuid.UUID
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
        # Warmed up: the first export of a document builds what every later one reuses.
        thread = (await http.post("/api/threads", json={"title": "warm-up"})).json()
        warm = await http.get(f"/api/threads/{thread['id']}/export")
        assert warm.json()["format"] == "playground.thread/v1"
        baseline = psutil.Process(server.process.pid).memory_info().rss
        titles: set[str] = set()
        size = 0
        with RssSampler(server.process.pid) as rss:
            async with http.stream("GET", "/api/export", params={"format": "jsonl"}) as response:
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    size += len(line)
                    document = json.loads(line)
                    if (document["title"] or "").startswith("bulk "):
                        assert len(document["messages"]) == MESSAGES_PER_THREAD
                        titles.add(document["title"])
    assert titles == {f"bulk {n}" for n in range(1, THREADS + 1)}
    assert size > THREADS * MESSAGES_PER_THREAD * CONTENT_CHARS
    growth_mb = (rss.peak - baseline) / 2**20
    assert growth_mb < MAX_RSS_GROWTH_MB, f"RSS grew {growth_mb:.1f} MB for {size / 2**20:.0f} MB"


async def test_a_client_leaving_mid_export_ends_its_cursor_and_transaction(
    server: ServerProcess, many_threads: uuid.UUID, db_engine: AsyncEngine
) -> None:
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=120) as http,
        http.stream("GET", "/api/export") as response,
    ):
        lines = response.aiter_lines()
        assert json.loads(await anext(lines))["format"] == "playground.thread/v1"
        await until_exporting(db_engine, 1)
    # The server notices the closed connection by itself.
    await until_exporting(db_engine, 0)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        assert (await http.get("/api/threads")).status_code == 200


async def until_exporting(engine: AsyncEngine, sessions: int) -> None:
    """Until the server has ``sessions`` sessions inside the export's transaction.
    Nothing announces a session's state but the database's view of it, and that view
    can lag a statement behind: it is polled (bounded)."""
    async with asyncio.timeout(10):
        while True:
            if await exporting_sessions(engine) == sessions:
                return
            await asyncio.sleep(0.05)


async def exporting_sessions(engine: AsyncEngine) -> int:
    """Sessions of the server still inside the export's transaction."""
    async with engine.connect() as connection:
        found = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port IS NOT NULL"
                " AND application_name = 'playground' AND xact_start IS NOT NULL"
                " AND query ILIKE '%LEFT OUTER JOIN message%' AND pid <> pg_backend_pid()"
            )
        )
    return int(found or 0)
