"""The app on the fake upstream serving three models at three speeds (``PACES``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import SSEEvent, SSEResult, app_settings_env, serve
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.upstream import PACES

MODELS = list(PACES)
THREE = [{"model": model} for model in MODELS]


@pytest.fixture(scope="session")
async def compare_app(migrated_database_url: str, paced_upstream_url: str) -> AsyncIterator[str]:
    """The app on the paced upstream, on a real port; its base URL."""
    app = create_app(migrated_database_url, load_settings(app_settings_env(paced_upstream_url)))
    async for base_url in serve(app):
        yield base_url


@pytest.fixture
async def api(compare_app: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on the paced upstream."""
    async with httpx.AsyncClient(base_url=compare_app, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def paced_servers(
    migrated_database_url: str, paced_upstream_url: str
) -> Iterator[list[ServerProcess]]:
    """Two API processes on one database and the paced upstream."""
    servers = [start_server(migrated_database_url, paced_upstream_url) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


async def read_stream(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], **kwargs: Any
) -> SSEResult:
    """POST ``body`` and read the SSE answer to its end (or the JSON error)."""
    async with aconnect_sse(http, "POST", url, json=body, **kwargs) as source:
        response = source.response
        result = SSEResult(status_code=response.status_code, headers=response.headers)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
            result.body = response.json()
            return result
        async for sse in source.aiter_sse():
            result.events.append(SSEEvent(event=sse.event, id=sse.id, data=json.loads(sse.data)))
    return result


def reply_ids(result: SSEResult) -> list[str]:
    """The ids of the replies a run announced, in the order of its variants."""
    created = [e.data["message"] for e in result.events if e.event == "message.created"]
    return [message["id"] for message in created if message["role"] == "assistant"]


def texts(result: SSEResult) -> dict[str, str]:
    """Each reply's deltas, concatenated."""
    found: dict[str, str] = {}
    for event in result.events:
        if event.event == "message.delta":
            message_id = event.data["message_id"]
            found[message_id] = found.get(message_id, "") + event.data["content"]
    return found
