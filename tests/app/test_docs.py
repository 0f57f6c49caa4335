"""The API documentation at ``/schema``: served from vendored files, under the page's CSP.

A machine without internet must still show it, so Chromium loads it with every
request off loopback refused and must render the operations anyway.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Route, expect

from api.web.controller import CONTENT_SECURITY_POLICY
from tests.browser.helpers import screenshot
from tests.fixtures.app import RunningApp
from tests.fixtures.browser import TIMEOUT_MS

DOCS_PATHS = ["/schema", "/schema/swagger"]
ASSETS = [
    "/schema/ui/swagger-init.js",
    "/static/vendor/swagger-ui-bundle.js",
    "/static/vendor/swagger-ui.css",
]


@pytest.mark.parametrize("path", [*DOCS_PATHS, *ASSETS])
async def test_docs_and_their_assets_carry_the_csp(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", DOCS_PATHS)
async def test_docs_page_has_no_inline_script_and_nothing_from_elsewhere(
    client: httpx.AsyncClient, path: str
) -> None:
    html = (await client.get(path)).text
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    assert all(re.search(r'\bsrc="/', tag) for tag in scripts), scripts
    assert "<style" not in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)


async def test_schema_documents_stay_available(client: httpx.AsyncClient) -> None:
    json_schema = await client.get("/schema/openapi.json")
    assert json_schema.status_code == 200
    assert json_schema.json()["info"]["title"] == "Playground API"
    yaml_schema = await client.get("/schema/openapi.yaml")
    assert yaml_schema.status_code == 200
    assert "createThread" in yaml_schema.text


async def test_docs_render_in_chromium_with_no_network_off_loopback(
    browser: Browser, running_app: RunningApp
) -> None:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=running_app.base_url
    )
    refused: list[str] = []

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    await context.route("**/*", loopback_only)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A CSP violation shows up here as an error ("Refused to ...").
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        await page.goto("/schema")
        operation = page.locator(".opblock-summary-operation-id", has_text="createThread")
        await expect(operation).to_be_visible()
        await operation.click()
        # Calling the API from the page works too (connect-src 'self').
        await page.get_by_role("button", name="Try it out").click()
        await page.locator(".body-param textarea").fill('{"title": "from the docs"}')
        await page.get_by_role("button", name="Execute").click()
        status = page.locator(".live-responses-table tbody .response-col_status")
        await expect(status).to_have_text("201")
        await screenshot(page, "schema-docs")
    finally:
        await context.close()
    assert not refused, refused
    assert not problems, problems
