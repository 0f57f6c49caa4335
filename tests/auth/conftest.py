"""After every test of this package: no key it created, and not the model key, is in
anything the servers logged or answered (the README promises keys never leave)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fixtures.app import TEST_ENV, RunningApp
from tests.fixtures.auth import CREATED_KEYS, SEEN_BODIES, CapturedLogs, create_key


@pytest.fixture(scope="package", autouse=True)
async def no_key_leaks(
    auth_app: RunningApp, migrated_database_url: str, captured_logs: CapturedLogs
) -> AsyncIterator[None]:
    """Runs the package, then greps its logs, answers and metrics for every secret."""
    yield
    admin = await create_key(migrated_database_url, "leak check", admin=True)
    headers = {"Authorization": f"Bearer {admin['key']}"}
    async with httpx.AsyncClient(base_url=auth_app.base_url, headers=headers) as http:
        SEEN_BODIES.append((await http.get("/metrics")).text)
        SEEN_BODIES.append((await http.get("/api/keys")).text)
        # A refused request logs a line, so the capture is known to work.
        await http.get("/api/threads", headers={"Authorization": "Bearer pgk_wrong"})
    secrets = [*CREATED_KEYS, TEST_ENV["OPENAI_API_KEY"]]
    assert captured_logs.lines, "the servers' logs should have been captured"
    everything = "\n".join([*captured_logs.lines, *SEEN_BODIES])
    leaked = [secret[:8] + "…" for secret in secrets if secret in everything]
    assert leaked == [], f"secrets found in logs or answers: {leaked}"
