"""A fresh page for the browser tests; each test module starts the ``server`` it opens.
The browser itself is ``tests/fixtures/browser.py``'s."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Dialog, Page

from tests.fixtures.browser import TIMEOUT_MS
from tests.fixtures.processes import ServerProcess


@pytest.fixture
async def blank_page(browser: Browser, server: ServerProcess) -> AsyncIterator[Page]:
    """A fresh 1280x800 tab on the server's origin, not loaded yet; fails the test on any
    alert or JS error (a failed request's console line excepted: the page shows those)."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=server.base_url
    )
    tab = await context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        problems.append(f"unexpected {dialog.type} dialog: {dialog.message}")
        await dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}")
            if message.type == "error"
            and "the server responded with a status of" not in message.text
            else None
        ),
    )
    yield tab
    await context.close()
    assert not problems, problems
