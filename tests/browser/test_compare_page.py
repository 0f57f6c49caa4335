"""Compare on the page: three models answer one message in columns side by side, and
"Use this one" makes a reply the head (a real server on the paced fake upstream)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from scripts.fake_upstream import reply_text
from tests.browser.helpers import api, new_thread, screenshot, send, wait_idle
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.upstream import PACES


@pytest.fixture(scope="module")
def server(migrated_database_url: str, paced_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` on the fake upstream serving three models at three speeds."""
    process = start_server(migrated_database_url, paced_upstream_url)
    yield process
    process.stop(signal.SIGTERM)


async def compare_on_a_new_thread(page: Page) -> str:
    """Open the page on a new thread with the Compare toggle on; the thread's id."""
    await page.goto("/")
    await expect(page.locator("#model option")).not_to_have_count(0)
    thread_id = await new_thread(page)
    await expect(page.locator("#compare-pickers")).to_be_hidden()
    await page.check("#compare-toggle")
    return thread_id


async def test_three_models_in_columns_and_use_this_one(
    blank_page: Page, server: ServerProcess
) -> None:
    page = blank_page
    thread_id = await compare_on_a_new_thread(page)
    await expect(page.locator(".compare-picker")).to_have_count(2)
    await page.click("#compare-add")
    pickers = page.locator(".compare-picker")
    await expect(pickers).to_have_count(3)
    for index, model in enumerate(PACES):
        await pickers.nth(index).locator(".compare-model").select_option(model)
    await pickers.nth(2).locator(".compare-temperature").fill("0.2")
    await send(page, "side by side [[chunks:40]]")
    columns = page.locator(".compare-column")
    await expect(columns).to_have_count(3)
    # The replies stream at once: the quickest has text while the slowest is still going.
    await expect(columns.nth(0).locator(".compare-text")).not_to_be_empty()
    await wait_idle(page)
    for index, model in enumerate(PACES):
        column = columns.nth(index)
        await expect(column.locator(".compare-model-name")).to_have_text(model)
        await expect(column.locator(".compare-text")).to_have_text(reply_text(40))
        meta = column.locator(".compare-meta")
        await expect(meta).to_contain_text("tokens")
        await expect(meta).to_contain_text("first token")
        await expect(meta).to_contain_text("total")
    await screenshot(page, "compare-columns")
    chosen = await columns.nth(2).get_attribute("data-message-id")
    await columns.nth(2).locator(".compare-use").click()
    await expect(columns.nth(2)).to_have_class("compare-column status-completed chosen")
    thread = await api(server, "GET", f"/api/threads/{thread_id}")
    assert thread["head_id"] == chosen
    # The conversation now shows the chosen reply on the active branch.
    await expect(page.locator(f"li.message[data-message-id='{chosen}']")).to_be_visible()
    stored = await api(server, "GET", f"/api/threads/{thread_id}/messages/{chosen}")
    assert (stored["model"], stored["params"]) == ("fake-slow", {"temperature": 0.2})


async def test_a_reload_mid_run_rebuilds_every_column(
    blank_page: Page, server: ServerProcess
) -> None:
    page = blank_page
    thread_id = await compare_on_a_new_thread(page)
    pickers = page.locator(".compare-picker")
    await pickers.nth(0).locator(".compare-model").select_option("fake-steady")
    await pickers.nth(1).locator(".compare-model").select_option("fake-slow")
    await send(page, "reload me [[chunks:300]]")
    columns = page.locator(".compare-column")
    await expect(columns).to_have_count(2)
    await expect(columns.nth(1).locator(".compare-text")).not_to_be_empty()
    await page.reload()
    # Followed again from the run's first event: both columns, each with its whole text.
    await expect(columns).to_have_count(2)
    await wait_idle(page)
    replies = (await api(server, "GET", f"/api/threads/{thread_id}/messages"))["data"]
    first = replies[-1]
    for index, model in enumerate(("fake-steady", "fake-slow")):
        column = columns.nth(index)
        await expect(column.locator(".compare-model-name")).to_have_text(model)
        await expect(column.locator(".compare-text")).to_have_text(reply_text(300))
        await expect(column.locator(".compare-meta")).to_contain_text("tokens")
    assert await columns.nth(0).get_attribute("data-message-id") == first["id"]
