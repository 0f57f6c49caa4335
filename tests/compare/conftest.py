"""The app on the fake upstream serving three models at three speeds (``PACES``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import SSEResult, app_settings_env, serve
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
