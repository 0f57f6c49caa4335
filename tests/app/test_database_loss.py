"""While the database cannot be reached, requests answer 503 with ``Retry-After`` and
``/healthz`` says so; both recover by themselves when it is back.

A real ``playground serve`` process reaches Postgres through a loopback proxy that
the test cuts (every connection dropped, new ones refused) and restores.
"""

from __future__ import annotations

import asyncio

import anyio
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import DATABASE_UNAVAILABLE
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.tcp_proxy import tcp_proxy


async def healthy_again(http: httpx.AsyncClient) -> httpx.Response:
    """Ask ``/healthz`` until it answers 200 (bounded): stale pooled connections are
    found dead on first use, then replaced."""
    for _ in range(150):
        response = await http.get("/healthz")
        if response.status_code == 200:
            return response
        await anyio.sleep(0.1)
    raise AssertionError(f"still unhealthy after 15 s: {response.text}")


async def test_an_unreachable_database_is_a_503_until_it_returns(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    async with tcp_proxy(migrated_database_url) as (proxy, url):
        server: ServerProcess = await anyio.to_thread.run_sync(start_server, url, fake_upstream_url)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
                assert (await http.get("/healthz")).json() == {"status": "ok", "database": "ok"}

                await proxy.cut()
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json() == {"status": "unavailable", "database": "unavailable"}
                assert health.headers["retry-after"] == "1"
                for method, path in (("GET", "/api/threads"), ("POST", "/api/threads")):
                    response = await http.request(
                        method, path, json={} if method == "POST" else None
                    )
                    assert response.status_code == 503, (method, response.text)
                    assert response.json() == {"status_code": 503, "detail": DATABASE_UNAVAILABLE}
                    assert response.headers["retry-after"] == "1"

                await proxy.open()
                assert (await healthy_again(http)).json()["database"] == "ok"
                created = await http.post("/api/threads", json={"title": "after the blip"})
                assert created.status_code == 201, created.text
                assert created.json()["title"] == "after the blip"
        finally:
            await anyio.to_thread.run_sync(server.stop)
    # No request was answered with a plain 500 while the database was away.
    assert not [line for line in server.output if " 500 detail=" in line]


async def test_connections_the_server_closed_are_not_handed_out(
    migrated_database_url: str, fake_upstream_url: str, db_engine: AsyncEngine
) -> None:
    # A slow heartbeat: no bookkeeping query meets a dead connection first and makes
    # the pool renew them all, so the requests below are the first to check them out.
    server: ServerProcess = await anyio.to_thread.run_sync(
        start_server, migrated_database_url, fake_upstream_url, {"PLAYGROUND_HEARTBEAT_S": "60"}
    )
    try:
        await _requests_survive_killed_connections(server, db_engine)
    finally:
        await anyio.to_thread.run_sync(server.stop)


async def _requests_survive_killed_connections(
    server: ServerProcess, db_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        # Fill the pool with connections that then sit idle in it.
        pages = await asyncio.gather(*(http.get("/api/threads") for _ in range(8)))
        assert {page.status_code for page in pages} == {200}
        async with db_engine.connect() as connection:
            # The timeout makes Postgres wait until each backend is gone.
            ended = await connection.scalar(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                    "FROM pg_stat_activity WHERE application_name = 'playground' "
                    "AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        assert ended
        after = await asyncio.gather(*(http.get("/api/threads") for _ in range(8)))
        assert [page.status_code for page in after] == [200] * 8
        created = await http.post("/api/threads", json={})
        assert created.status_code == 201, created.text
