"""What an operator reads in the log of a real ``playground serve`` process.

A client's mistake (4xx) is one INFO line naming the method, the path, the status,
the detail and the request id the response carried in ``X-Request-ID``; a server
failure (5xx) is one ERROR line followed by its traceback; a model server failure
names the model, the kind and the upstream status, never the key.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.fixtures.app import TEST_ENV
from tests.fixtures.database import connect
from tests.fixtures.processes import ServerProcess, start_server

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    process = start_server(migrated_database_url, fake_upstream_url)
    yield process
    process.stop()


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        yield client


async def log_so_far(server: ServerProcess) -> list[str]:
    """The server's log up to now.

    Request lines pass through a queue and a thread before they are printed, so a
    marker request is made and waited for: every line logged before it is then there.
    """
    marker = f"marker-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        await client.get("/no-such-page", headers={"X-Request-ID": marker})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = list(server.output)
        if any(marker in line for line in lines):
            return lines
        await asyncio.sleep(0.05)
    raise AssertionError("the marker request was never logged:\n" + "".join(server.output))


def lines_with(lines: list[str], request_id: str) -> list[str]:
    return [line for line in lines if f"request_id={request_id}" in line]


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("GET", f"/api/threads/{uuid.UUID(int=1)}", f"thread {uuid.UUID(int=1)} not found"),
        ("GET", "/no/such/route", "Not Found"),
        ("DELETE", "/healthz", "Method Not Allowed"),
    ],
)
async def test_a_404_or_405_is_one_info_line_without_traceback(
    server: ServerProcess, http: httpx.AsyncClient, method: str, path: str, detail: str
) -> None:
    response = await http.request(method, path)
    assert response.status_code in (404, 405)
    assert response.json()["detail"] == detail
    request_id = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)

    log = await log_so_far(server)
    [line] = lines_with(log, request_id)
    assert line.startswith("INFO ")
    assert f' {method} {path} {response.status_code} detail="{detail}" ' in line
    assert not any("Traceback" in line for line in log)


async def test_a_bad_field_is_one_info_line_naming_it(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    response = await http.post("/api/threads", json={"title": 5})
    assert response.status_code == 400
    request_id = response.headers["X-Request-ID"]

    log = await log_so_far(server)
    [line] = lines_with(log, request_id)
    assert line.startswith("INFO ")
    assert ' POST /api/threads 400 detail="Validation failed for POST /api/threads" ' in line
    assert '"key": "title"' in line
    assert not any("Traceback" in line for line in log)


@pytest.mark.parametrize("given", ["abc-123", "Client.req_42", "x" * 128])
async def test_a_sane_request_id_is_echoed_and_logged(
    server: ServerProcess, http: httpx.AsyncClient, given: str
) -> None:
    assert (await http.get("/healthz", headers={"X-Request-ID": given})).headers[
        "X-Request-ID"
    ] == given
    response = await http.get("/api/threads/not-a-uuid", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    assert len(lines_with(await log_so_far(server), given)) >= 1


@pytest.mark.parametrize("given", ["", "has space", "semi;colon", "x" * 129, 'quote"d'])
async def test_a_bad_request_id_is_replaced(http: httpx.AsyncClient, given: str) -> None:
    response = await http.get("/healthz", headers={"X-Request-ID": given})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


async def test_a_streamed_reply_carries_the_request_id(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/api/threads", json={})).json()
    async with http.stream(
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": "hi"},
        headers={"X-Request-ID": "stream-1"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["X-Request-ID"] == "stream-1"
        await response.aread()


async def test_a_model_server_failure_names_model_kind_and_status_not_the_key(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    thread = (await http.post("/api/threads", json={"model": "fake-small"})).json()
    response = await http.post(
        f"/api/threads/{thread['id']}/messages",
        json={"content": "[[fail:500]]", "stream": False},
    )
    assert response.status_code == 502
    request_id = response.headers["X-Request-ID"]

    log = await log_so_far(server)
    [upstream] = [line for line in log if "model call failed" in line]
    assert upstream.startswith("WARNING ")
    assert "model=fake-small kind=status upstream_status=500 " in upstream
    [line] = lines_with(log, request_id)
    assert line.startswith("ERROR ")
    assert f" POST /api/threads/{thread['id']}/messages 502 " in line
    assert TEST_ENV["OPENAI_API_KEY"] not in "".join(log)


@pytest.fixture
def broken_server(fresh_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """A server on a database of its own, which the test may break."""
    process = start_server(fresh_database_url, fake_upstream_url)
    yield process
    process.stop()


async def test_a_server_failure_is_one_error_line_with_its_traceback(
    broken_server: ServerProcess, fresh_database_url: str
) -> None:
    # A table missing behind the service's back (a migration not applied, say): the
    # query fails in a way no handler expects.
    async with connect(fresh_database_url) as connection:
        await connection.execute(text("ALTER TABLE thread RENAME TO thread_gone"))
        await connection.commit()
    async with httpx.AsyncClient(base_url=broken_server.base_url, timeout=10) as http:
        response = await http.get("/api/threads")
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "detail": "Internal Server Error"}
    request_id = response.headers["X-Request-ID"]

    log = await log_so_far(broken_server)
    [line] = lines_with(log, request_id)
    assert line.startswith("ERROR ")
    assert " GET /api/threads 500 detail=" in line
    after = "".join(log[log.index(line) + 1 :])
    assert after.startswith("Traceback (most recent call last):")
    assert 'relation "thread" does not exist' in after
