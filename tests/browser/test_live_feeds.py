"""Two tabs on one thread stay in step through the live feeds: a send, an edit, a branch
switch and a rename made in one appear in the other within a second, and a thread
created in one appears in the other's list."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.browser.helpers import (
    SLOW_MODEL_ENV,
    api,
    last_reply,
    new_thread,
    screenshot,
    send,
    wait_idle,
)
from tests.fixtures.browser import TIMEOUT_MS
from tests.fixtures.processes import ServerProcess, start_server

# What "within a second" means for the other tab.
WITHIN_MS = 1000


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the offline model streaming one chunk per 40 ms."""
    process = start_server(migrated_database_url, fake_upstream_url, SLOW_MODEL_ENV)
    yield process
    process.stop(signal.SIGTERM)


@pytest.fixture
async def other_page(browser: Browser, server: ServerProcess) -> AsyncIterator[Page]:
    """A second tab, in a context of its own; fails the test on a JS error in it."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=server.base_url
    )
    tab = await context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield tab
    await context.close()
    assert not problems, problems


async def open_page(page: Page, thread_id: str = "") -> None:
    await page.goto(f"/#{thread_id}" if thread_id else "/")
    await expect(page.locator("#model option")).not_to_have_count(0)


async def test_two_tabs_of_one_thread_stay_in_step(blank_page: Page, other_page: Page) -> None:
    one, two = blank_page, other_page
    await open_page(one)
    await open_page(two)

    # A thread created in one appears in the other's list.
    thread_id = await new_thread(one)
    listed = two.locator(f"li.thread-item[data-thread-id='{thread_id}']")
    await expect(listed).to_be_visible(timeout=WITHIN_MS)
    await open_page(two, thread_id)

    # A send: the message at once, then the reply as it streams, to the same end.
    await send(one, "Hello from tab one")
    await expect(one.locator("li.message.user .content")).to_have_text("Hello from tab one")
    await expect(two.locator("li.message.user .content")).to_have_text(
        "Hello from tab one", timeout=WITHIN_MS
    )
    await expect(last_reply(two)).to_have_attribute("data-status", "in_progress", timeout=WITHIN_MS)
    await wait_idle(one)
    final = (await last_reply(one).locator(".content").inner_text()).strip()
    await expect(last_reply(two)).to_have_attribute("data-status", "completed", timeout=WITHIN_MS)
    assert (await last_reply(two).locator(".content").inner_text()).strip() == final
    await screenshot(two, "live-feed-send")

    # An edit in place.
    first = one.locator("li.message.user").first
    await first.get_by_role("button", name="Edit").click()
    await first.locator("textarea").fill("Hello, edited in tab one")
    await first.get_by_role("button", name="Save", exact=True).click()
    await expect(first.locator(".content")).to_have_text("Hello, edited in tab one")
    await expect(two.locator("li.message.user").first.locator(".content")).to_have_text(
        "Hello, edited in tab one", timeout=WITHIN_MS
    )

    # A branch switch: a second reply (regenerated in one), then back to the first.
    await one.locator("li.message.assistant").last.get_by_role("button", name="Regenerate").click()
    await wait_idle(one)
    reply = last_reply(one)
    await expect(reply.locator(".sibling-count")).to_have_text("2/2")
    await expect(last_reply(two).locator(".sibling-count")).to_have_text("2/2", timeout=WITHIN_MS)
    await reply.locator(".sibling-prev").click()
    await expect(last_reply(one).locator(".sibling-count")).to_have_text("1/2")
    await expect(last_reply(two).locator(".sibling-count")).to_have_text("1/2", timeout=WITHIN_MS)
    await expect(last_reply(two).locator(".content")).to_have_text(
        await last_reply(one).locator(".content").inner_text()
    )

    # A rename: the other tab's heading and list follow.
    item = one.locator(f"li.thread-item[data-thread-id='{thread_id}']")
    await item.get_by_role("button", name="Rename thread").click()
    await item.locator("input").fill("Renamed in tab one")
    await item.locator("input").press("Enter")
    await expect(one.locator("#thread-title")).to_have_text("Renamed in tab one")
    await expect(two.locator("#thread-title")).to_have_text("Renamed in tab one", timeout=WITHIN_MS)
    await expect(listed).to_contain_text("Renamed in tab one", timeout=WITHIN_MS)
    await screenshot(two, "live-feed-renamed")


async def test_settings_being_typed_stay_when_another_tab_saves(
    blank_page: Page, other_page: Page
) -> None:
    """The feed brings another tab's settings into the panel only when the person is not
    typing there; what they typed then meets the newer version as a conflict to resolve,
    instead of overwriting it or being wiped."""
    one, two = blank_page, other_page
    await open_page(one)
    thread_id = await new_thread(one)
    await open_page(two, thread_id)
    await expect(
        two.locator(f"li.thread-item.current[data-thread-id='{thread_id}']")
    ).to_be_visible()
    await two.fill("#system-prompt", "Typed in tab two")
    await one.fill("#system-prompt", "Saved in tab one")
    await one.click("#save-settings")
    await expect(one.locator("#settings-status")).to_have_text("Saved")
    # Tab two has the newer thread (its title would follow) but keeps the typing.
    await expect(two.locator("#system-prompt")).to_have_value("Typed in tab two")
    await two.click("#save-settings")
    await expect(two.locator("#conflict")).to_be_visible()
    await expect(two.locator("#conflict-theirs")).to_contain_text("Saved in tab one")
    await two.get_by_role("button", name="Apply my change anyway").click()
    await expect(two.locator("#settings-status")).to_have_text("Saved")
    await expect(one.locator("#system-prompt")).to_have_value("Typed in tab two", timeout=WITHIN_MS)


async def test_a_change_before_the_thread_feed_opens_is_not_missed(
    blank_page: Page, server: ServerProcess
) -> None:
    """The page reads a thread, then opens its feed; a message stored in between (here:
    while the feed's request is held) shows once the feed is open."""
    page = blank_page
    thread = await api(server, "POST", "/api/threads", json={"title": "Read, then followed"})
    messages = f"/api/threads/{thread['id']}/messages"
    await api(server, "POST", messages, json={"content": "first", "generate": False})
    held: asyncio.Queue[Route] = asyncio.Queue()
    await page.route(f"**/api/threads/{thread['id']}/events*", lambda route: held.put_nowait(route))
    await open_page(page, thread["id"])
    feed = await held.get()
    await expect(page.locator("li.message.user .content")).to_have_text("first")
    await api(server, "POST", messages, json={"content": "stored meanwhile", "generate": False})
    await feed.continue_()
    await expect(page.locator("li.message.user .content")).to_have_text(
        ["first", "stored meanwhile"]
    )
