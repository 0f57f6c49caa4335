"""Secure by default off loopback: ``PLAYGROUND_AUTH=auto`` requires keys on any other
address, and ``off`` there starts only with ``--insecure``, loudly."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.fixtures.app import app_settings_env
from tests.fixtures.auth import SEEN_BODIES
from tests.fixtures.processes import start_server
from tests.fixtures.upstream import REPO_ROOT

ALL_INTERFACES = ["--host", "0.0.0.0"]


def test_auth_off_on_all_interfaces_needs_insecure(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    env = {
        **os.environ,
        **app_settings_env(fake_upstream_url, {"PLAYGROUND_AUTH": "off"}),
        "DATABASE_URL": migrated_database_url,
    }
    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", *ALL_INTERFACES],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "refusing to serve on 0.0.0.0 with PLAYGROUND_AUTH=off" in refused.stderr
    assert "Uvicorn running" not in refused.stderr


async def test_insecure_serves_without_keys_and_says_so(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    server = start_server(
        migrated_database_url,
        fake_upstream_url,
        {"PLAYGROUND_AUTH": "off"},
        [*ALL_INTERFACES, "--insecure"],
    )
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            me = await http.get("/api/me")
        assert me.json()["auth"] == "off"
        assert me.json()["name"] == "local"
        assert any("WARNING: serving on 0.0.0.0 without API keys" in line for line in server.output)
    finally:
        server.stop()
        SEEN_BODIES.extend(server.output)


async def test_auto_requires_keys_off_loopback(
    migrated_database_url: str, fake_upstream_url: str
) -> None:
    server = start_server(migrated_database_url, fake_upstream_url, {}, ALL_INTERFACES)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            denied = await http.get("/api/threads")
            health = await http.get("/healthz")
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"] == "Bearer"
        assert health.json()["status"] == "ok"
        assert any("API keys are required on 0.0.0.0" in line for line in server.output)
    finally:
        server.stop()
        SEEN_BODIES.extend(server.output)
