"""The page's search box, in a real browser: it asks the server (``GET /api/search``),
shows the matches with their words marked, and opens a match on its message, switching
to the branch that holds it when that is not the active one."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import api, screenshot
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.search import word


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the offline model; the tests store messages by hand."""
    process = start_server(migrated_database_url, fake_upstream_url)
    yield process
    process.stop(signal.SIGTERM)


async def store(server: ServerProcess, thread_id: str, content: str, **body: object) -> str:
    """Store a message without a reply; its id."""
    path = f"/api/threads/{thread_id}/messages"
    stored = await api(server, "POST", path, json={"content": content, "generate": False, **body})
    message_id: str = stored["id"]
    return message_id


async def test_a_match_on_another_branch_opens_that_branch(
    blank_page: Page, server: ServerProcess
) -> None:
    w = word()
    thread = await api(server, "POST", "/api/threads", json={"title": "Bread"})
    tid = thread["id"]
    # u1 -> a1 (mentions the word) -> u2      the older branch
    #    \-> a2                              the active one: the newest message
    u1 = await store(server, tid, "How do I keep a starter alive?")
    a1 = await store(server, tid, f"Feed the {w} twice a day.", role="assistant", parent_id=u1)
    u2 = await store(server, tid, "And on holidays?", parent_id=a1)
    a2 = await store(server, tid, "Keep it in the fridge.", role="assistant", parent_id=u1)
    assert (await api(server, "GET", f"/api/threads/{tid}"))["head_id"] == a2

    page = blank_page
    await page.goto("/")
    await page.fill("#thread-search", w)
    result = page.locator(f"li.search-result[data-message-id='{a1}']")
    await expect(result).to_be_visible()
    await expect(page.locator("#thread-list")).to_be_hidden()
    await expect(result.locator("mark")).to_have_text(w)
    await expect(result.locator(".search-snippet")).to_have_text(f"Feed the {w} twice a day.")
    await expect(result.locator(".search-thread")).to_have_text("Bread")
    await screenshot(page, "search-results")

    await result.locator(".search-open").click()
    found = page.locator(f"li.message.found[data-message-id='{a1}']")
    await expect(found).to_be_visible()
    await expect(found).to_be_in_viewport()
    await expect(found.locator(".content")).to_contain_text(f"Feed the {w} twice a day.")
    # The head moved to the newest leaf under the match: its branch is the active one.
    await expect(page.locator("li.message")).to_have_count(3)
    await expect(page.locator(f"li.message[data-message-id='{u2}']")).to_be_visible()
    assert (await api(server, "GET", f"/api/threads/{tid}"))["head_id"] == u2
    assert await page.evaluate("location.hash.slice(1)") == tid
    await screenshot(page, "search-opened-on-another-branch")


async def test_titles_match_and_an_emptied_box_brings_the_list_back(
    blank_page: Page, server: ServerProcess
) -> None:
    w = word()
    thread = await api(server, "POST", "/api/threads", json={"title": f"Notes on {w}"})
    page = blank_page
    await page.goto("/")
    await expect(page.locator(f"li.thread-item[data-thread-id='{thread['id']}']")).to_be_visible()

    await page.fill("#thread-search", w)
    result = page.locator(f"li.search-result[data-thread-id='{thread['id']}']")
    await expect(result.locator(".search-where")).to_have_text("title")
    await expect(result.locator("mark")).to_have_text(w)
    await result.locator(".search-open").click()
    await expect(page.locator("#thread-title")).to_have_text(f"Notes on {w}")

    await page.fill("#thread-search", "zqnothingmatchesthis")
    await expect(page.locator(".search-none")).to_contain_text("No matches")
    await page.fill("#thread-search", "")
    await expect(page.locator("#search-results")).to_be_hidden()
    await expect(page.locator(f"li.thread-item[data-thread-id='{thread['id']}']")).to_be_visible()
