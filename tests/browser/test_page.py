"""The playground page in a real browser (Debian's Chromium driven by Playwright).

A real ``playground serve`` process with the offline model, paced at 40 ms per chunk
so a reply takes about two seconds: long enough to watch it grow, stop it, or reload
the page in the middle of it. Each scenario saves a screenshot under
``test-output/browser/``. The browser and the page's checks are in ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import (
    SLOW_MODEL_ENV,
    api,
    last_reply,
    new_thread,
    screenshot,
    send,
    text_length,
    wait_for_reply_text,
    wait_idle,
)
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.upstream import REPO_ROOT

README_SCREENSHOT = REPO_ROOT / "api" / "web" / "screenshot.png"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the offline model streaming one chunk per 40 ms."""
    process = start_server(migrated_database_url, fake_upstream_url, SLOW_MODEL_ENV)
    yield process
    process.stop(signal.SIGTERM)


@pytest.fixture
async def page(blank_page: Page) -> Page:
    """The playground, loaded (its model picker filled)."""
    await blank_page.goto("/")
    await expect(blank_page.locator("#model option")).not_to_have_count(0)
    return blank_page


async def test_page_has_a_strict_csp_and_leaves_the_api_alone(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        for path in ("/", "/static/main.js", "/static/vendor/purify.es.mjs"):
            response = await http.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
        assert (await http.get("/")).headers["content-type"].startswith("text/html")
        assert (await http.get("/schema/openapi.json")).status_code == 200
        assert (await http.get("/healthz")).json()["status"] == "ok"
        assert (await http.get("/api/models")).status_code == 200


async def test_create_thread_and_watch_the_reply_grow(page: Page, server: ServerProcess) -> None:
    thread_id = await new_thread(page)
    await send(page, "Write about autumn")
    reply = last_reply(page)
    await expect(reply).to_have_attribute("data-status", "in_progress")
    await page.wait_for_function(
        "() => document.querySelector('li.assistant[data-status=in_progress] .content')"
        "?.innerText.length > 20"
    )
    first = await text_length(reply)
    await page.wait_for_function(
        "n => document.querySelector('li.assistant .content').innerText.length > n + 20",
        arg=first,
    )
    await screenshot(page, "reply-streaming")
    await wait_idle(page)
    stored = await api(server, "GET", f"/api/threads/{thread_id}/messages")
    final = stored["data"][-1]
    assert final["status"] == "completed"
    assert (await reply.locator(".content").inner_text()).strip() == final["content"].strip()
    await expect(reply.locator(".meta .ttft")).to_contain_text("first token")
    await expect(reply.locator(".meta .usage")).to_contain_text("tokens")
    await expect(page.locator(f"li.thread-item[data-thread-id='{thread_id}']")).to_be_visible()


async def test_system_prompt_is_saved(page: Page, server: ServerProcess) -> None:
    thread_id = await new_thread(page)
    await page.fill("#system-prompt", "Answer like a pirate.")
    await page.fill("#temperature", "0.4")
    await page.click("#save-settings")
    await expect(page.locator("#settings-status")).to_have_text("Saved")
    thread = await api(server, "GET", f"/api/threads/{thread_id}")
    assert thread["system_prompt"] == "Answer like a pirate."
    assert thread["params"]["temperature"] == 0.4
    await screenshot(page, "settings-saved")


async def test_invalid_temperature_shows_the_api_error(page: Page) -> None:
    await new_thread(page)
    await page.fill("#temperature", "5")
    await page.click("#save-settings")
    banner = page.locator("#error-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("400")
    await expect(banner).to_contain_text("temperature")
    await expect(page.locator("#settings-status")).to_have_text("Not saved")
    await screenshot(page, "api-error")


async def test_edit_in_place_branch_and_switch_siblings(page: Page, server: ServerProcess) -> None:
    thread_id = await new_thread(page)
    await send(page, "First question")
    await wait_idle(page)
    await send(page, "Second question")
    await wait_idle(page)

    first = page.locator("li.message.user").first
    await first.get_by_role("button", name="Edit").click()
    await first.locator("textarea").fill("First question, edited")
    await first.get_by_role("button", name="Save", exact=True).click()
    await expect(first.locator(".content")).to_have_text("First question, edited")

    second = page.locator("li.message.user").nth(1)
    await second.get_by_role("button", name="Edit").click()
    await second.locator("textarea").fill("Second question, another way")
    await second.get_by_role("button", name="Save as new branch").click()
    await expect(last_reply(page)).to_have_attribute("data-status", "in_progress")
    await wait_idle(page)
    second = page.locator("li.message.user").nth(1)
    await expect(second.locator(".content")).to_have_text("Second question, another way")
    await expect(second.locator(".sibling-count")).to_have_text("2/2")
    await expect(last_reply(page).locator(".content")).to_contain_text("another way")
    await screenshot(page, "branch-2-of-2")

    await second.locator(".sibling-prev").click()
    await expect(second.locator(".sibling-count")).to_have_text("1/2")
    await expect(second.locator(".content")).to_have_text("Second question")
    await expect(last_reply(page).locator(".content")).not_to_contain_text("another way")
    stored = await api(server, "GET", f"/api/threads/{thread_id}/messages")
    assert [m["content"] for m in stored["data"] if m["role"] == "user"] == [
        "First question, edited",
        "Second question",
    ]
    await screenshot(page, "branch-1-of-2")


async def test_stop_keeps_the_partial_reply(page: Page, server: ServerProcess) -> None:
    thread_id = await new_thread(page)
    await send(page, "Tell me a long story")
    await wait_for_reply_text(page, 15)
    await page.click("#stop")
    reply = last_reply(page)
    await expect(reply).to_have_attribute("data-status", "cancelled")
    await expect(reply.locator(".status")).to_have_text("cancelled")
    await wait_idle(page)
    stored = (await api(server, "GET", f"/api/threads/{thread_id}/messages"))["data"][-1]
    assert stored["status"] == "cancelled"
    shown = (await reply.locator(".content").inner_text()).strip()
    assert shown == stored["content"].strip()
    assert 0 < len(shown) < 200  # the full reply is over 300 characters
    await screenshot(page, "stopped")


async def test_reload_mid_stream_resumes_after_the_last_event(
    page: Page, server: ServerProcess
) -> None:
    thread_id = await new_thread(page)
    await send(page, "Keep talking while I reload")
    await wait_for_reply_text(page, 15)
    followed: list[str] = []
    page.on("request", lambda r: followed.append(r.url) if "/stream" in r.url else None)
    await page.reload()
    reply = last_reply(page)
    await expect(reply).to_have_attribute("data-status", "in_progress")
    await screenshot(page, "resumed-mid-stream")
    await expect(reply).to_have_attribute("data-status", "completed")
    await wait_idle(page)
    assert any("last_event_id=" in url for url in followed), followed
    stored = (await api(server, "GET", f"/api/threads/{thread_id}/messages"))["data"][-1]
    assert stored["status"] == "completed"
    assert (await reply.locator(".content").inner_text()).strip() == stored["content"].strip()


async def test_tool_calls_with_validation_error_retry_and_title(page: Page) -> None:
    thread_id = await new_thread(page)
    await send(page, "What time is it in Europe/Paris? [[bad-args]]")
    await wait_idle(page)
    calls = page.locator(".tool-call")
    await expect(calls).to_have_count(2)
    await expect(calls.first.locator(".tool-args")).to_have_text('{"timezone":42}')
    await expect(calls.first.locator(".tool-error")).to_contain_text(
        "invalid arguments for current_time"
    )
    await expect(calls.nth(1).locator(".tool-args")).to_contain_text("Europe/Paris")
    await expect(calls.nth(1).locator(".tool-result")).to_contain_text('"weekday"')
    await expect(last_reply(page).locator(".content")).to_contain_text("in Europe/Paris")

    await send(page, "Now write a **short** note about *Paris*")
    await page.wait_for_function(
        "() => document.querySelector('li.assistant[data-status=in_progress] .content')"
        "?.innerText.length > 60"
    )
    # Frame the rejected call, the retry, its result and the reply streaming below.
    await page.locator("li.assistant").first.evaluate("e => e.scrollIntoView()")
    path = await screenshot(page, "tool-calls")
    if os.environ.get("PLAYGROUND_UPDATE_README_SCREENSHOT"):
        shutil.copyfile(path, README_SCREENSHOT)
    await wait_idle(page)

    # The model names the thread with a tool: the header and the sidebar follow.
    await send(page, "Name this thread: Paris time")
    await expect(page.locator("#thread-title")).to_have_text("Paris time")
    await expect(page.locator(f"li[data-thread-id='{thread_id}'] .thread-open")).to_have_text(
        "Paris time"
    )
    await wait_idle(page)


async def test_html_in_messages_is_shown_as_text(page: Page) -> None:
    await new_thread(page)
    await send(page, f"Is this **bold**? {XSS}")
    await wait_idle(page)
    messages = page.locator("#messages")
    await expect(messages.locator("img")).to_have_count(0)
    await expect(page.locator("li.user .content")).to_contain_text(XSS)
    await expect(last_reply(page).locator(".content")).to_contain_text(XSS)
    await expect(page.locator("li.user .content strong")).to_have_text("bold")
    await screenshot(page, "html-as-text")


async def test_narrow_screen_hides_the_sidebar_behind_a_button(page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    sidebar = page.locator("#sidebar")
    await expect(sidebar).not_to_be_in_viewport()
    await page.click("#open-sidebar")
    await expect(sidebar).to_be_in_viewport()
    await screenshot(page, "mobile-sidebar")
    await page.click("#new-thread")
    await expect(sidebar).not_to_be_in_viewport()
    await send(page, "Hello from a phone")
    await wait_idle(page)
    await screenshot(page, "mobile-conversation")


async def test_a_reply_cut_short_by_the_token_limit_is_marked(page: Page) -> None:
    await new_thread(page)
    await page.fill("#max-tokens", "3")
    await page.click("#save-settings")
    await expect(page.locator("#settings-status")).to_have_text("Saved")
    await send(page, "Tell me a long story")
    await wait_idle(page)
    marker = last_reply(page).locator(".meta .status-cut-short")
    await expect(marker).to_have_text("cut short: token limit reached")
