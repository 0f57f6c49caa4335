"""The page on a server that requires API keys (``PLAYGROUND_AUTH=required``).

It asks for a key, refuses a wrong one, keeps the right one in ``sessionStorage`` (so a
reload mid-reply resumes the stream with it), sends it as a header and never in a URL,
and asks again when the key is revoked or the person signs out. Keys are made with the
CLI, as an operator would.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.helpers import (
    SLOW_MODEL_ENV,
    api,
    last_reply,
    new_thread,
    screenshot,
    send,
    wait_for_reply_text,
    wait_idle,
)
from tests.fixtures.auth import cli_key
from tests.fixtures.processes import ServerProcess, start_server

KEY_STORAGE = "playground.apiKey"


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` requiring keys, with the slow offline model."""
    env = {**SLOW_MODEL_ENV, "PLAYGROUND_AUTH": "required"}
    process = start_server(migrated_database_url, fake_upstream_url, env)
    yield process
    process.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def member_key(migrated_database_url: str) -> str:
    """A member's key, made with ``playground keys create``."""
    return cli_key(migrated_database_url, "create", "--name", "page member")


@pytest.fixture
async def page(blank_page: Page) -> Page:
    """The page, loaded: it asks for a key."""
    await blank_page.goto("/")
    await expect(blank_page.locator("#login")).to_be_visible()
    return blank_page


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def sign_in(page: Page, key: str) -> None:
    """Type the key in the form and wait for the playground."""
    await page.fill("#api-key", key)
    await page.click("#sign-in")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#model option")).not_to_have_count(0)


async def stored_key(page: Page) -> str | None:
    key = await page.evaluate("name => sessionStorage.getItem(name)", KEY_STORAGE)
    assert key is None or isinstance(key, str)
    return key


async def test_a_wrong_key_is_refused_and_the_right_one_signs_in_until_sign_out(
    page: Page, member_key: str
) -> None:
    await expect(page.locator("#app")).to_be_hidden()
    await expect(page.locator("#login-error")).to_be_hidden()
    await screenshot(page, "sign-in")

    await page.fill("#api-key", "pg_not-a-key")
    await page.click("#sign-in")
    await expect(page.locator("#login-error")).to_have_text("the API key is not valid")
    await expect(page.locator("#app")).to_be_hidden()
    await expect(page.locator("#api-key")).to_have_value("")
    assert await stored_key(page) is None
    await screenshot(page, "sign-in-refused")

    await sign_in(page, member_key)
    await expect(page.locator("#login")).to_be_hidden()
    await expect(page.locator("#account-name")).to_have_text("page member")
    await expect(page.locator("#account-role")).to_have_text("member")
    assert await stored_key(page) == member_key

    await page.click("#sign-out")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#app")).to_be_hidden()
    await expect(page.locator("#login-error")).to_be_hidden()
    assert await stored_key(page) is None
    await page.reload()
    await expect(page.locator("#login")).to_be_visible()


async def test_reload_mid_stream_keeps_the_key_and_resumes(
    page: Page, server: ServerProcess, member_key: str
) -> None:
    await sign_in(page, member_key)
    thread_id = await new_thread(page)
    await send(page, "Keep talking while I reload")
    await wait_for_reply_text(page, 15)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    await page.reload()
    reply = last_reply(page)
    await expect(reply).to_have_attribute("data-status", "in_progress")
    await expect(page.locator("#login")).to_be_hidden()
    await screenshot(page, "signed-in-resumed-mid-stream")
    await expect(reply).to_have_attribute("data-status", "completed")
    await wait_idle(page)

    follows = [r for r in requests if r.url.split("?")[0].endswith(f"{thread_id}/stream")]
    assert any("last_event_id=" in r.url for r in follows), [r.url for r in follows]
    assert all(r.headers.get("authorization") == f"Bearer {member_key}" for r in follows)
    assert not [r.url for r in requests if member_key in r.url]
    stored = await api(
        server, "GET", f"/api/threads/{thread_id}/messages", headers=bearer(member_key)
    )
    final = stored["data"][-1]
    assert final["status"] == "completed"
    assert (await reply.locator(".content").inner_text()).strip() == final["content"].strip()


async def test_a_revoked_key_brings_back_the_form_with_the_reason(
    page: Page, server: ServerProcess, migrated_database_url: str
) -> None:
    key = cli_key(migrated_database_url, "create", "--name", "soon revoked")
    await sign_in(page, key)
    me = await api(server, "GET", "/api/me", headers=bearer(key))
    cli_key(migrated_database_url, "revoke", me["key_id"])

    await page.click("#new-thread")
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.locator("#login-error")).to_have_text("the API key was revoked")
    await expect(page.locator("#error-banner")).to_be_hidden()
    assert await stored_key(page) is None
    await screenshot(page, "key-revoked")
