"""The request behind a reply on the page, in a real browser: "Request" shows what the
model server got (the JSON the API stores), and "Replay with…" sends it again to another
model, streaming the answer as a new sibling of the reply."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from scripts.fake_upstream import reply_text
from tests.browser.helpers import (
    SLOW_MODEL_ENV,
    api,
    last_reply,
    new_thread,
    screenshot,
    send,
    wait_idle,
)
from tests.fixtures.processes import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the slow offline model and the fake upstream's models."""
    process = start_server(migrated_database_url, fake_upstream_url, SLOW_MODEL_ENV)
    yield process
    process.stop(signal.SIGTERM)


async def test_request_shows_what_was_sent_and_replay_with_streams_a_sibling(
    blank_page: Page, server: ServerProcess
) -> None:
    page = blank_page
    await page.goto("/")
    tid = await new_thread(page)
    await send(page, "Write about autumn")
    await wait_idle(page)
    reply = last_reply(page)
    reply_id = await reply.get_attribute("data-message-id")
    stored = await api(server, "GET", f"/api/threads/{tid}/messages/{reply_id}/request")

    await reply.locator(".show-request").click()
    panel = reply.locator(".request-panel")
    await expect(panel.locator("summary")).to_have_text(
        "Call 1 of 1 (this reply) · offline · 2 messages · finish: stop"
    )
    shown = json.loads(await panel.locator(".request-json").inner_text())
    assert shown == stored["rounds"][0]["request"]
    assert [message["role"] for message in shown["messages"]] == ["system", "user"]
    assert shown["messages"][1] == {"role": "user", "content": "Write about autumn"}
    await screenshot(page, "request-shown")
    # The same button hides it again.
    await reply.locator(".show-request").click()
    await expect(panel).to_have_count(0)

    await reply.locator(".replay-with").click()
    await expect(panel.locator(".replay-form select")).to_be_focused()
    await panel.locator(".replay-form select").select_option("fake-small")
    await panel.locator(".replay-form input[name='temperature']").fill("0.2")
    await panel.locator(".replay").click()

    replayed = last_reply(page)
    await expect(replayed.locator(".sibling-count")).to_have_text("2/2")
    await wait_idle(page)
    await expect(replayed.locator(".content")).to_have_text(reply_text(20).strip())
    await expect(replayed.locator(".meta")).to_contain_text("fake-small")
    await screenshot(page, "request-replayed")
    replayed_id = await replayed.get_attribute("data-message-id")
    assert replayed_id != reply_id
    again = await api(server, "GET", f"/api/threads/{tid}/messages/{replayed_id}/request")
    sent = again["rounds"][0]["request"]
    assert sent == {**shown, "model": "fake-small", "temperature": 0.2}
