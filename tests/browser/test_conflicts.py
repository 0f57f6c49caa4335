"""Two tabs on one thread: a change made in one after the other changed the same thing
is refused (412), the page shows what is stored now beside the person's change, and
the person applies it anyway or keeps theirs. A person working alone never sees it."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import (
    SLOW_MODEL_ENV,
    api,
    last_reply,
    screenshot,
    send,
    wait_idle,
)
from tests.fixtures.browser import TIMEOUT_MS
from tests.fixtures.processes import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the offline model streaming one chunk per 40 ms."""
    process = start_server(migrated_database_url, fake_upstream_url, SLOW_MODEL_ENV)
    yield process
    process.stop(signal.SIGTERM)


@pytest.fixture
async def second_tab(blank_page: Page) -> AsyncIterator[Page]:
    """Another tab of the same browser, failing the test on a JS error as the first does.

    Its live feeds never answer (requests left pending), so it keeps an older copy of
    the thread, as a tab does while its feed is behind, and its changes meet the
    server's newer version."""
    tab = await blank_page.context.new_page()
    await tab.route("**/events*", lambda route: None)
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    assert not errors, errors


async def stored_exchange(server: ServerProcess) -> dict[str, Any]:
    """A thread holding a user message and a reply, stored through the API."""
    thread: dict[str, Any] = await api(server, "POST", "/api/threads", json={"title": "Original"})
    base = f"/api/threads/{thread['id']}/messages"
    await api(server, "POST", base, json={"content": "hello", "generate": False})
    await api(server, "POST", base, json={"content": "hi", "role": "assistant", "generate": False})
    return thread


async def open_thread(page: Page, thread_id: str) -> None:
    await page.goto(f"/#{thread_id}")
    await expect(page.locator("li.message.user .content")).to_have_text("hello")


async def rename(page: Page, thread_id: str, title: str) -> None:
    item = page.locator(f"li.thread-item[data-thread-id='{thread_id}']")
    await item.locator(".thread-rename").click()
    await item.locator(".rename-form input").fill(title)
    await item.locator(".rename-form input").press("Enter")


async def edit_first_message(page: Page, content: str) -> None:
    card = page.locator("li.message.user").first
    await card.get_by_role("button", name="Edit").click()
    await card.locator("textarea").fill(content)
    await card.get_by_role("button", name="Save", exact=True).click()


async def test_a_stale_tab_sees_the_newer_version_and_reapplies(
    blank_page: Page, second_tab: Page, server: ServerProcess
) -> None:
    first, second = blank_page, second_tab
    thread = await stored_exchange(server)
    thread_id = thread["id"]
    await open_thread(first, thread_id)
    await open_thread(second, thread_id)
    notice = second.locator("#conflict")

    # A rename in the first tab, then one in the second, which still had the old title.
    await rename(first, thread_id, "Renamed in the first tab")
    await expect(first.locator("#thread-title")).to_have_text("Renamed in the first tab")
    await rename(second, thread_id, "Renamed in the second tab")
    await expect(notice).to_be_visible()
    await expect(second.locator("#conflict-theirs")).to_have_text("Title: Renamed in the first tab")
    await expect(second.locator("#conflict-mine")).to_have_text("Title: Renamed in the second tab")
    # What is stored now is shown at once; nothing of the person's is lost yet.
    await expect(second.locator("#thread-title")).to_have_text("Renamed in the first tab")
    await screenshot(second, "conflict-rename")
    await second.get_by_role("button", name="Apply my change anyway").click()
    await expect(notice).to_be_hidden()
    await expect(second.locator("#thread-title")).to_have_text("Renamed in the second tab")
    stored = await api(server, "GET", f"/api/threads/{thread_id}")
    assert stored["title"] == "Renamed in the second tab"

    # The same for an edit of a message.
    await edit_first_message(first, "edited in the first tab")
    await expect(first.locator("li.message.user .content")).to_have_text("edited in the first tab")
    await edit_first_message(second, "edited in the second tab")
    await expect(notice).to_be_visible()
    await expect(second.locator("#conflict-theirs")).to_have_text("edited in the first tab")
    await expect(second.locator("li.message.user .content")).to_have_text("edited in the first tab")
    await second.get_by_role("button", name="Apply my change anyway").click()
    await expect(second.locator("li.message.user .content")).to_have_text(
        "edited in the second tab"
    )
    messages = await api(server, "GET", f"/api/threads/{thread_id}/messages")
    assert messages["data"][0]["content"] == "edited in the second tab"

    # Settings changed in the first tab (reloaded: its copy is stale too), then in the
    # second, whose person keeps theirs this time.
    await first.reload()
    await expect(first.locator("#thread-title")).to_have_text("Renamed in the second tab")
    await first.fill("#system-prompt", "The first tab's prompt")
    await first.click("#save-settings")
    await expect(first.locator("#settings-status")).to_have_text("Saved")
    await second.fill("#system-prompt", "The second tab's prompt")
    await second.click("#save-settings")
    await expect(notice).to_be_visible()
    await expect(second.locator("#conflict-theirs")).to_contain_text("The first tab's prompt")
    await second.get_by_role("button", name="Keep theirs").click()
    await expect(second.locator("#settings-status")).to_have_text("Kept theirs")
    await expect(second.locator("#system-prompt")).to_have_value("The first tab's prompt")
    stored = await api(server, "GET", f"/api/threads/{thread_id}")
    assert stored["system_prompt"] == "The first tab's prompt"
    assert stored["title"] == "Renamed in the second tab"


async def test_working_alone_never_conflicts(blank_page: Page, server: ServerProcess) -> None:
    page = blank_page
    thread = await stored_exchange(server)
    await open_thread(page, thread["id"])
    # A send moves the head (a new version of the thread) while the reply streams.
    await send(page, "Tell me more")
    await expect(last_reply(page).locator(".content")).not_to_have_text("")
    # The send's activity moves the thread to the top of the list: click once it has.
    await expect(page.locator("li.thread-item").first).to_have_attribute(
        "data-thread-id", thread["id"]
    )
    await rename(page, thread["id"], "Renamed during the reply")
    await wait_idle(page)
    await expect(page.locator("#thread-title")).to_have_text("Renamed during the reply")
    await page.locator("li.message.user").last.get_by_role("button", name="Edit").click()
    await page.locator("li.message.user textarea").fill("Tell me less")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("li.message.user .content").last).to_have_text("Tell me less")
    await page.fill("#system-prompt", "Alone")
    await page.click("#save-settings")
    await expect(page.locator("#settings-status")).to_have_text("Saved")
    await rename(page, thread["id"], "Still alone")
    await expect(page.locator("#thread-title")).to_have_text("Still alone")
    await expect(page.locator("#conflict")).to_be_hidden()
    await expect(page.locator("#error-banner")).to_be_hidden()
    stored = await api(server, "GET", f"/api/threads/{thread['id']}")
    assert (stored["title"], stored["system_prompt"]) == ("Still alone", "Alone")


async def test_a_change_elsewhere_to_something_else_goes_through(
    blank_page: Page, second_tab: Page, server: ServerProcess
) -> None:
    """A 412 caused by another part of the thread moving (here its title) is no
    conflict for a settings change: the page sends it again with the new version."""
    first, second = blank_page, second_tab
    thread = await stored_exchange(server)
    await open_thread(first, thread["id"])
    await open_thread(second, thread["id"])
    await rename(first, thread["id"], "Renamed in the first tab")
    await expect(first.locator("#thread-title")).to_have_text("Renamed in the first tab")
    renamed = await api(server, "GET", f"/api/threads/{thread['id']}")
    await second.fill("#system-prompt", "The second tab's prompt")
    await second.click("#save-settings")
    await expect(second.locator("#settings-status")).to_have_text("Saved")
    await expect(second.locator("#conflict")).to_be_hidden()
    stored = await api(server, "GET", f"/api/threads/{thread['id']}")
    assert stored["title"] == "Renamed in the first tab"
    assert stored["system_prompt"] == "The second tab's prompt"
    assert stored["version"] == renamed["version"] + 1
