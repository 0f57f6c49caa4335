"""CORS (``PLAYGROUND_CORS_ORIGINS``): preflights and responses as a browser on another
origin sees them, errors and SSE streams included; no CORS header when it is unset."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.settings import Settings, load_settings
from tests.fixtures.app import app_settings_env, serve, stream_events
from tests.fixtures.tcp_proxy import tcp_proxy
from tests.fixtures.threads import create_thread

FRONT_END = "http://127.0.0.1:5173"
ELSEWHERE = "http://127.0.0.1:5174"
SENT_HEADERS = {"authorization", "content-type", "idempotency-key", "last-event-id", "if-match"}
READ_HEADERS = {"etag", "retry-after", "x-request-id"}
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def cors_settings(upstream_url: str) -> Settings:
    # Listed as a person might type them: spaces, a trailing slash.
    origins = f" {FRONT_END}/ , http://localhost:5173"
    return load_settings(app_settings_env(upstream_url, {"PLAYGROUND_CORS_ORIGINS": origins}))


@pytest.fixture(scope="module")
async def cors_api(
    migrated_database_url: str, fake_upstream_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served with ``PLAYGROUND_CORS_ORIGINS`` listing ``FRONT_END``."""
    app = create_app(migrated_database_url, cors_settings(fake_upstream_url))
    async for base_url in serve(app):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            yield http


def listed(headers: httpx.Headers, name: str) -> set[str]:
    """The comma-separated values of header ``name``, lower-cased."""
    values = headers.get(name, "").split(",")
    return {value.strip().lower() for value in values if value.strip()}


def preflight(origin: str, method: str, headers: str = "") -> dict[str, str]:
    """The headers of a browser's preflight before a ``method`` request sending ``headers``."""
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    return {**sent, "Access-Control-Request-Headers": headers} if headers else sent


def assert_readable_by_the_front_end(headers: httpx.Headers) -> None:
    assert headers["access-control-allow-origin"] == FRONT_END
    assert listed(headers, "access-control-expose-headers") >= READ_HEADERS
    assert "origin" in listed(headers, "vary")
    assert headers["x-request-id"]


async def test_a_preflight_from_a_listed_origin_allows_the_front_ends_headers(
    cors_api: httpx.AsyncClient,
) -> None:
    path = f"/api/threads/{uuid.uuid4()}/messages"
    asked = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID, If-Match"
    response = await cors_api.options(path, headers=preflight(FRONT_END, "POST", asked))
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert listed(response.headers, "access-control-allow-headers") >= SENT_HEADERS
    assert listed(response.headers, "access-control-allow-methods") == {m.lower() for m in METHODS}
    assert "origin" in listed(response.headers, "vary")
    for method in METHODS:
        allowed = await cors_api.options(path, headers=preflight(FRONT_END, method, asked))
        assert allowed.status_code == 204, method


async def test_every_listed_origin_is_allowed(cors_api: httpx.AsyncClient) -> None:
    response = await cors_api.options(
        "/api/threads", headers=preflight("http://localhost:5173", "POST", "content-type")
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_a_preflight_for_what_is_not_allowed_is_refused(
    cors_api: httpx.AsyncClient,
) -> None:
    for headers in (
        preflight(ELSEWHERE, "POST", "content-type"),
        preflight("http://localhost:8080", "GET"),
        preflight(FRONT_END, "TRACE"),
        preflight(FRONT_END, "POST", "content-type, x-secret"),
    ):
        response = await cors_api.options("/api/threads", headers=headers)
        assert response.status_code == 400, headers
        assert "access-control-allow-origin" not in response.headers, headers


async def test_a_plain_options_still_lists_the_paths_methods(cors_api: httpx.AsyncClient) -> None:
    response = await cors_api.options(f"/api/threads/{uuid.uuid4()}")
    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_responses_to_a_listed_origin_expose_what_a_front_end_reads(
    cors_api: httpx.AsyncClient,
) -> None:
    created = await cors_api.post("/api/threads", json={}, headers={"Origin": FRONT_END})
    assert created.status_code == 201, created.text
    assert_readable_by_the_front_end(created.headers)
    page = await cors_api.get("/api/threads", headers={"Origin": FRONT_END})
    assert page.status_code == 200
    assert_readable_by_the_front_end(page.headers)


async def test_a_response_to_another_origin_does_not_allow_it(
    cors_api: httpx.AsyncClient,
) -> None:
    # The request is served (a browser may send a simple request without a preflight);
    # without the allow-origin header the browser keeps the response from the page.
    response = await cors_api.get("/api/threads", headers={"Origin": ELSEWHERE})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_error_responses_carry_the_cors_headers(cors_api: httpx.AsyncClient) -> None:
    origin = {"Origin": FRONT_END}
    for method, path, status in (
        ("GET", f"/api/threads/{uuid.uuid4()}", 404),  # from an exception handler
        ("GET", "/api/threads?limt=5", 400),  # from a guard
        ("GET", "/api/nothing-here", 404),  # no route at all
        ("DELETE", "/api/threads", 405),
    ):
        response = await cors_api.request(method, path, headers=origin)
        assert response.status_code == status, (path, response.text)
        assert_readable_by_the_front_end(response.headers)


async def test_a_streamed_reply_carries_the_cors_headers(cors_api: httpx.AsyncClient) -> None:
    thread = await create_thread(cors_api)
    result = await stream_events(
        cors_api,
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": "Hello from another origin"},
        headers={"Origin": FRONT_END, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    assert_readable_by_the_front_end(result.headers)
    assert result.names()[-1] == "done"
    assert result.deltas()


async def test_a_503_lets_the_front_end_read_retry_after(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    async with tcp_proxy(migrated_database_url) as (proxy, proxied_url):
        app = create_app(proxied_url, cors_settings(fake_upstream_url))
        async for base_url in serve(app):
            async with httpx.AsyncClient(base_url=base_url, timeout=15) as http:
                await proxy.cut()
                response = await http.get("/api/threads", headers={"Origin": FRONT_END})
                await proxy.open()
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            assert_readable_by_the_front_end(response.headers)


async def test_without_the_setting_there_is_no_cors_header(client: httpx.AsyncClient) -> None:
    origin = {"Origin": FRONT_END}
    for response in (
        await client.options("/api/threads", headers=preflight(FRONT_END, "POST", "content-type")),
        await client.get("/api/threads", headers=origin),
        await client.get(f"/api/threads/{uuid.uuid4()}", headers=origin),
    ):
        assert not [name for name in response.headers if name.startswith("access-control-")]
    # The preflight is just an OPTIONS request there, answered with the path's methods.
    answer = await client.options("/api/threads", headers=preflight(FRONT_END, "POST"))
    assert answer.status_code == 204
    assert answer.headers["allow"] == "GET, OPTIONS, POST"
