"""A ``playground serve`` process (keys off, as on loopback) and the Node packages of
``tests/ts_client``: openapi-typescript and openapi-fetch, typescript, eventsource.

The pinned packages are installed with ``npm ci`` on first use when they are missing.
Without ``node`` and ``npm`` the tests that need them are skipped with a
``TS CLIENT TESTS SKIPPED: …`` reason (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.node import node_with_packages
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.upstream import REPO_ROOT

CLIENT_DIR = Path(REPO_ROOT) / "tests" / "ts_client"
# Slow enough that a reply is still running when a connection drops and comes back.
SERVER_ENV = {"PLAYGROUND_OFFLINE_CHUNK_DELAY_MS": "50"}
NODE_TIMEOUT_S = 120


@pytest.fixture(scope="package")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """One server on the test database; keys are off on loopback."""
    started = start_server(migrated_database_url, fake_upstream_url, SERVER_ENV)
    yield started
    started.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """A plain HTTP client of the server, to read what is stored."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary, once ``tests/ts_client`` has its packages (installed from
    its lockfile here when missing); else a loud skip."""
    return node_with_packages(CLIENT_DIR, "openapi-fetch", "TS CLIENT TESTS SKIPPED")


def run_node(node: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a Node program of ``tests/ts_client``; fail with its stderr if it fails."""
    result = subprocess.run(
        [node, *args],
        cwd=CLIENT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="package")
def compiled(node: str, server: ServerProcess) -> Path:
    """``tests/ts_client`` compiled by ``tsc --strict`` against types generated now from
    the live server's ``/schema/openapi.json`` (``generated/schema.d.ts``, not kept in
    git): a type error fails here. Returns where the JavaScript went."""
    run_node(
        node,
        [
            "node_modules/openapi-typescript/bin/cli.js",
            f"{server.base_url}/schema/openapi.json",
            # A field with a default may be left out of a request; openapi-typescript
            # would otherwise make it required in a body schema used through $ref.
            "--default-non-nullable",
            "false",
            "--output",
            "generated/schema.d.ts",
        ],
        {},
    )
    run_node(
        node, ["node_modules/typescript/bin/tsc", "--strict", "--project", "tsconfig.json"], {}
    )
    return CLIENT_DIR / "dist"


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object a Node program printed last."""
    printed: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return printed
