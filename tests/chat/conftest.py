"""Two ``playground serve`` processes requiring keys, a key for each of two principals,
and the Node client of ``tests/chat_client`` (the real ``ai`` package) that drives them.

The pinned packages are installed with ``npm ci`` on first use when they are missing.
Without ``node`` and ``npm`` the Node-driven tests are skipped with an
``AI SDK TESTS SKIPPED: …`` reason (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.auth import AUTH_ENV, create_key
from tests.fixtures.node import node_with_packages
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.upstream import REPO_ROOT

CLIENT_DIR = Path(REPO_ROOT) / "tests" / "chat_client"
# Slow enough that a reply is still running when the client drops and reconnects.
SERVER_ENV = {**AUTH_ENV, "PLAYGROUND_OFFLINE_CHUNK_DELAY_MS": "25"}
NODE_TIMEOUT_S = 90


@dataclass
class Principal:
    """A key of the servers and an HTTP client sending it to server A."""

    key: str
    http: httpx.Client

    def thread(self, **fields: Any) -> dict[str, Any]:
        """A new thread of this principal."""
        response = self.http.post("/api/threads", json=fields)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def branch(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's active branch as stored."""
        response = self.http.get(f"/api/threads/{thread_id}/messages")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def servers(migrated_database_url: str, fake_upstream_url: str) -> Iterator[list[ServerProcess]]:
    """Servers A and B on one database, both requiring keys."""
    started = [start_server(migrated_database_url, fake_upstream_url, SERVER_ENV) for _ in range(2)]
    yield started
    for server in started:
        server.stop()


async def _principal(server: ServerProcess, database_url: str, name: str) -> Principal:
    made = await create_key(database_url, name)
    headers = {"Authorization": f"Bearer {made['key']}"}
    return Principal(
        made["key"], httpx.Client(base_url=server.base_url, headers=headers, timeout=30)
    )


@pytest.fixture
async def carol(
    servers: list[ServerProcess], migrated_database_url: str
) -> AsyncIterator[Principal]:
    """A member, talking to server A."""
    made = await _principal(servers[0], migrated_database_url, "carol")
    yield made
    made.http.close()


@pytest.fixture
async def dave(
    servers: list[ServerProcess], migrated_database_url: str
) -> AsyncIterator[Principal]:
    """Another member."""
    made = await _principal(servers[0], migrated_database_url, "dave")
    yield made
    made.http.close()


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary, once ``tests/chat_client`` has its packages (installed from
    its lockfile here when missing); else a loud skip."""
    return node_with_packages(CLIENT_DIR, "ai", "AI SDK TESTS SKIPPED")


def run_chat(node: str, scenario: str, env: dict[str, str]) -> dict[str, Any]:
    """Run a scenario of ``chat.mjs`` and return what it printed (its chat's messages…)."""
    result = subprocess.run(
        [node, "chat.mjs", scenario],
        cwd=CLIENT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed
