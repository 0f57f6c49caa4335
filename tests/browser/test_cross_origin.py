"""A single-page front-end on another origin calls the API from Chromium (CORS).

The page (``front_end/``) is served by a plain ``http.server`` on its own loopback
port; the API, served in-process on another, lists that origin in
``PLAYGROUND_CORS_ORIGINS``. A second copy of the page, on a third port, is not listed:
the browser must keep the API from it.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Request, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import app_settings_env, serve
from tests.fixtures.auth import cli_key
from tests.fixtures.browser import TIMEOUT_MS

FRONT_END_FILES = Path(__file__).parent / "front_end"

# Runs the page's flow; it resolves once the reply is shown or the page gave up.
TALK = "args => window.talk(args)"
CONTENT = "Hello from a front-end on another origin"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the front-end's files, without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: the test's output is about the API."""


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free loopback port, from a thread; yield its origin."""
    with ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=directory)) as site:
        thread = threading.Thread(target=site.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{site.server_address[1]}"
        finally:
            site.shutdown()
            thread.join()


@dataclass(frozen=True)
class Origins:
    """Where the front-end is served: an origin the API lists, and one it does not."""

    listed: str
    unlisted: str


@pytest.fixture(scope="module")
def origins() -> Iterator[Origins]:
    with static_site(FRONT_END_FILES) as listed, static_site(FRONT_END_FILES) as unlisted:
        yield Origins(listed=listed, unlisted=unlisted)


@pytest.fixture(scope="module")
def key(migrated_database_url: str) -> str:
    """A real member key, created as an operator would; the page sends it as
    ``Authorization: Bearer`` on every request, so the browser preflights each one."""
    return cli_key(migrated_database_url, "create", "--name", "cross-origin page")


@pytest.fixture(scope="module")
async def api_url(
    origins: Origins, migrated_database_url: str, fake_upstream_url: str
) -> AsyncIterator[str]:
    """The API, accepting calls from pages of ``origins.listed`` only."""
    env = {"PLAYGROUND_CORS_ORIGINS": origins.listed, "PLAYGROUND_AUTH": "required"}
    app = create_app(migrated_database_url, load_settings(app_settings_env(fake_upstream_url, env)))
    async for base_url in serve(app):
        yield base_url


@asynccontextmanager
async def front_end(browser: Browser, origin: str) -> AsyncIterator[tuple[Page, list[str]]]:
    """The front-end page loaded from ``origin``, and what it logs to its console."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        await page.goto(f"{origin}/index.html")
        yield page, console
    finally:
        await context.close()


async def test_a_listed_front_end_shows_the_streamed_reply(
    browser: Browser, origins: Origins, api_url: str, key: str
) -> None:
    title = f"cross-origin {uuid.uuid4()}"
    async with front_end(browser, origins.listed) as (page, console):
        sent: list[Request] = []
        page.on("request", lambda request: sent.append(request))
        await page.evaluate(TALK, {"api": api_url, "key": key, "title": title, "content": CONTENT})
        await expect(page.locator("#error")).to_be_empty()
        await expect(page.locator("#status")).to_have_text("done")
        # An exposed header: without Access-Control-Expose-Headers the page reads null.
        await expect(page.locator("#request-id")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
        await expect(page.locator("#etag")).to_have_text('"1"')
        thread_id = await page.locator("#thread-id").text_content()
        shown = await page.locator("#reply").text_content()
        to_api = [request for request in sent if request.url.startswith(api_url)]
        assert [request.method for request in to_api] == ["POST", "POST"]
        for request in to_api:
            assert await request.header_value("authorization") == f"Bearer {key}"
    assert not [line for line in console if line.startswith(("error", "pageerror"))], console

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10) as http:
        thread = (await http.get(f"/api/threads/{thread_id}")).json()
        stored = (await http.get(f"/api/threads/{thread_id}/messages")).json()["data"]
    assert thread["title"] == title
    assert [message["role"] for message in stored] == ["user", "assistant"]
    assert stored[0]["content"] == CONTENT
    assert stored[1]["status"] == "completed"
    assert shown
    assert shown == stored[1]["content"]


async def test_the_browser_keeps_the_api_from_a_front_end_not_listed(
    browser: Browser, origins: Origins, api_url: str, key: str, db_engine: AsyncEngine
) -> None:
    title = f"cross-origin {uuid.uuid4()}"
    async with front_end(browser, origins.unlisted) as (page, console):
        await page.evaluate(TALK, {"api": api_url, "key": key, "title": title, "content": CONTENT})
        await expect(page.locator("#status")).to_have_text("failed")
        # fetch() rejects with a bare TypeError: the page learns nothing of the answer.
        await expect(page.locator("#error")).to_have_text(re.compile(r"^TypeError: "))
        await expect(page.locator("#thread-id")).to_be_empty()
        await expect(page.locator("#reply")).to_be_empty()
    assert any("blocked by CORS policy" in line for line in console), console
    # The POST (JSON, with Authorization) waits for a preflight, which the API refused:
    # it was never sent, so no thread was created.
    async with db_engine.connect() as connection:
        query = text("SELECT count(*) FROM thread WHERE title = :title")
        assert await connection.scalar(query, {"title": title}) == 0
