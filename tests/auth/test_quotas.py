"""Quotas on two processes sharing one database: each is checked before the model is
called, answers 429 with ``Retry-After`` and ``extra.limit``, and stores nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import send_and_disconnect
from tests.fixtures.auth import AUTH_ENV, SEEN_BODIES, create_key
from tests.fixtures.processes import ServerProcess, start_server


@pytest.fixture(scope="module")
def replicas(migrated_database_url: str, fake_upstream_url: str) -> Iterator[list[ServerProcess]]:
    """Two processes requiring keys, on one database."""
    servers = [start_server(migrated_database_url, fake_upstream_url, AUTH_ENV) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()
        SEEN_BODIES.extend(server.output)


async def clients(
    replicas: list[ServerProcess], key: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    headers = {"Authorization": f"Bearer {key}"}
    first, second = replicas
    async with (
        httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=30) as a,
        httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=30) as b,
    ):
        yield a, b


async def new_thread(http: httpx.AsyncClient, **body: Any) -> str:
    response = await http.post("/api/threads", json=body)
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def send(http: httpx.AsyncClient, thread_id: str, content: str) -> httpx.Response:
    response = await http.post(
        f"/api/threads/{thread_id}/messages", json={"content": content, "stream": False}
    )
    SEEN_BODIES.append(response.text)
    return response


async def message_count(http: httpx.AsyncClient, thread_id: str) -> int:
    return len((await http.get(f"/api/threads/{thread_id}/messages")).json()["data"])


def assert_limited(response: httpx.Response, limit: str, value: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert body["extra"]["limit"] == limit
    assert body["extra"]["value"] == value
    assert body["detail"].startswith(f"quota {limit} reached")
    assert int(response.headers["Retry-After"]) >= 1
    return body


async def test_requests_per_minute_across_processes(
    replicas: list[ServerProcess], migrated_database_url: str
) -> None:
    made = await create_key(migrated_database_url, "rpm", requests_per_minute=2)
    async for a, b in clients(replicas, made["key"]):
        thread = await new_thread(a)
        assert (await send(a, thread, "one")).status_code == 200
        assert (await send(b, thread, "two")).status_code == 200
        stored = await message_count(a, thread)
        for http in (a, b):
            limited = await send(http, thread, "three")
            body = assert_limited(limited, "requests_per_minute", 2)
            assert body["extra"]["used"] == 2
            assert int(limited.headers["Retry-After"]) <= 60
        # Nothing of a refused send is stored.
        assert await message_count(b, thread) == stored
        # Editing, reading and storing without generating are not model requests.
        appended = await b.post(
            f"/api/threads/{thread}/messages", json={"content": "note", "generate": False}
        )
        assert appended.status_code == 201


async def test_tokens_per_day_count_the_stored_replies(
    replicas: list[ServerProcess], migrated_database_url: str, db_engine: AsyncEngine
) -> None:
    made = await create_key(migrated_database_url, "tokens", tokens_per_day=1)
    async for a, b in clients(replicas, made["key"]):
        first_thread = await new_thread(a)
        # Checked before the call: nothing is used yet, so the first reply may go.
        reply = (await send(a, first_thread, "spend some tokens")).json()["assistant_message"]
        spent = reply["usage"]["total_tokens"]
        assert spent > 1
        # Deleting the thread gives nothing back.
        assert (await a.delete(f"/api/threads/{first_thread}")).status_code == 204
        second_thread = await new_thread(b)
        limited = await send(b, second_thread, "more")
        body = assert_limited(limited, "tokens_per_day", 1)
        assert body["extra"]["used"] == spent
        assert await message_count(b, second_thread) == 0
    async with db_engine.connect() as connection:
        stored = (
            await connection.execute(
                text(
                    "SELECT prompt_tokens + completion_tokens FROM principal_usage "
                    "WHERE principal_id = :id AND day = (now() AT TIME ZONE 'UTC')::date"
                ),
                {"id": made["principal_id"]},
            )
        ).scalar_one()
    assert stored == spent


async def test_max_concurrent_replies_across_processes(
    replicas: list[ServerProcess], migrated_database_url: str
) -> None:
    made = await create_key(migrated_database_url, "concurrent", max_concurrent_replies=1)
    async for a, b in clients(replicas, made["key"]):
        busy = await new_thread(a, model="fake-small")
        other = await new_thread(b)
        # A reply that stalls after two chunks keeps running after its reader left.
        await send_and_disconnect(
            a, busy, "hold on [[stall:2]]", stop_after_deltas=2, count_words=True
        )
        limited = await send(b, other, "me too")
        body = assert_limited(limited, "max_concurrent_replies", 1)
        assert body["extra"]["used"] == 1
        cancelled = await b.post(f"/api/threads/{busy}/cancel")
        assert cancelled.status_code == 200
        assert (await send(b, other, "now")).status_code == 200


async def test_limits_set_by_an_admin_apply_at_once(
    replicas: list[ServerProcess], migrated_database_url: str
) -> None:
    admin = await create_key(migrated_database_url, "quota admin", admin=True)
    member = await create_key(migrated_database_url, "quota member")
    async for a, b in clients(replicas, member["key"]):
        thread = await new_thread(a)
        assert (await send(a, thread, "free")).status_code == 200
        headers = {"Authorization": f"Bearer {admin['key']}"}
        patched = await a.patch(
            f"/api/keys/{member['id']}", json={"requests_per_minute": 1}, headers=headers
        )
        assert patched.status_code == 200
        assert_limited(await send(b, thread, "limited now"), "requests_per_minute", 1)
