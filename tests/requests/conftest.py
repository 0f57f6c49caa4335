"""An app of its own for the request-log tests, on a fake upstream that records what it
gets, so a test compares the stored request with the body the server received."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import RunningApp, app_settings_env, serve
from tests.fixtures.upstream import RecordingUpstream


@pytest.fixture(scope="module")
async def recorded_app(
    migrated_database_url: str, recording_upstream: RecordingUpstream
) -> AsyncIterator[RunningApp]:
    """The app, with the offline model and the recording fake upstream, on a real port."""
    settings = load_settings(app_settings_env(recording_upstream.url))
    app = create_app(migrated_database_url, settings)
    async for base_url in serve(app):
        yield RunningApp(base_url=base_url, app=app)


@pytest.fixture
async def api(recorded_app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for that app."""
    async with httpx.AsyncClient(base_url=recorded_app.base_url, timeout=30) as http:
        yield http
