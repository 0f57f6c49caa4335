"""What the browser tests share: the slow offline model, screenshots, and the steps a
person takes on the page (new thread, send, wait for the reply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from tests.fixtures.processes import ServerProcess
from tests.fixtures.upstream import REPO_ROOT

# The offline model paced at 40 ms per chunk, so a reply takes about two seconds: long
# enough to watch it grow, stop it, or reload the page in the middle of it.
SLOW_MODEL_ENV = {"PLAYGROUND_OFFLINE_CHUNK_DELAY_MS": "40", "PLAYGROUND_FLUSH_INTERVAL_MS": "100"}
OUTPUT_DIR = REPO_ROOT / "test-output" / "browser"


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-window screenshot for a person to look at; print where it went."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    await page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


async def new_thread(page: Page) -> str:
    """Create a thread with the sidebar button; return its id (from the URL hash)."""
    old = page.url
    await page.click("#new-thread")
    await page.wait_for_function(
        "old => location.href !== old && location.hash.length > 1", arg=old
    )
    return str(await page.evaluate("location.hash.slice(1)"))


async def send(page: Page, text: str) -> None:
    """Type a message and press Enter."""
    await page.fill("#composer-input", text)
    await page.press("#composer-input", "Enter")
    await expect(page.locator("#stop")).to_be_visible()


def last_reply(page: Page) -> Locator:
    """The card of the newest assistant message."""
    return page.locator("li.message.assistant").last


async def wait_idle(page: Page) -> None:
    """Wait until no reply streams (the Send button is back) and the branch is reloaded."""
    await expect(page.locator("#send")).to_be_visible()
    await expect(page.locator("li.message[data-status='in_progress']")).to_have_count(0)


async def wait_for_reply_text(page: Page, length: int) -> None:
    """Wait until the first reply shows more than ``length`` characters."""
    await page.wait_for_function(
        "n => document.querySelector('li.assistant .content')?.innerText.length > n", arg=length
    )


async def text_length(reply: Locator) -> int:
    return len(await reply.locator(".content").inner_text())


async def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    """Call the server's API directly (``kwargs`` as for httpx); the parsed JSON answer."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        response = await http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()
