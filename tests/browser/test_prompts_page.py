"""The prompt library in the settings panel, in a real browser: choose a prompt and a
version, fill its variables, save them with the thread, edit the template and save it
as a new version, see the diff between two versions, and a reply recording the version
the thread was pinned to."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import api, screenshot, send, wait_idle
from tests.fixtures.processes import ServerProcess, start_server
from tests.fixtures.prompts import unique_name


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """``playground serve`` with the offline model."""
    process = start_server(migrated_database_url, fake_upstream_url)
    yield process
    process.stop(signal.SIGTERM)


async def test_choose_fill_save_version_and_diff(blank_page: Page, server: ServerProcess) -> None:
    name = unique_name("Translator")
    prompt = await api(
        server,
        "POST",
        "/api/prompts",
        json={
            "name": name,
            "template": "Answer in {{language}}, {{tone}}.",
            "variables": {"tone": "briefly"},
        },
    )
    thread = await api(server, "POST", "/api/threads", json={"title": "Prompted"})
    tid = thread["id"]
    page = blank_page
    await page.goto(f"/#{tid}")
    # The thread is open (its settings shown) once it is the current one in the list.
    await expect(page.locator(f"li.thread-item.current[data-thread-id='{tid}']")).to_be_visible()
    await expect(page.locator("#prompt option", has_text=name)).to_have_count(1)

    # Choose the prompt: one input per variable, the default as placeholder.
    await page.select_option("#prompt", prompt["id"])
    language = page.locator("#prompt-var-language")
    await expect(language).to_be_visible()
    await expect(language).to_have_attribute("placeholder", "(required)")
    await expect(page.locator("#prompt-var-tone")).to_have_attribute("placeholder", "briefly")
    await expect(page.locator("#system-prompt")).to_be_disabled()
    await language.fill("French")
    await page.click("#save-settings")
    await expect(page.locator("#settings-status")).to_have_text("Saved")
    stored = await api(server, "GET", f"/api/threads/{tid}")
    assert (stored["prompt_id"], stored["prompt_version"]) == (prompt["id"], "latest")
    assert (stored["system_prompt"], stored["prompt_variables"]) == (None, {"language": "French"})

    # Edit the template and save it as version 2; its default for tone comes along.
    await page.click("#prompt-edit")
    template = page.locator("#prompt-template")
    await expect(template).to_have_value("Answer in {{language}}, {{tone}}.")
    await template.fill("Answer only in {{language}}, {{tone}}.")
    await page.fill("#prompt-note", "stricter")
    await page.click("#prompt-save-version")
    await expect(page.locator("#prompt-status")).to_have_text("Saved as v2")
    await expect(page.locator("#prompt-version option")).to_have_text(
        ["latest", "v2: stricter", "v1"]
    )
    versions = (await api(server, "GET", f"/api/prompts/{prompt['id']}/versions"))["data"]
    assert [(v["version"], v["variables"], v["note"]) for v in versions] == [
        (2, {"tone": "briefly"}, "stricter"),
        (1, {"tone": "briefly"}, None),
    ]

    # The diff between v1 and v2.
    await page.select_option("#prompt-diff-from", "1")
    await page.select_option("#prompt-diff-to", "2")
    await page.click("#prompt-diff")
    diff = page.locator("#prompt-diff-output")
    await expect(diff).to_have_text(
        "--- v1\n+++ v2\n@@ -1 +1 @@\n"
        "-Answer in {{language}}, {{tone}}.\n+Answer only in {{language}}, {{tone}}.\n"
    )
    await screenshot(page, "prompt-library-diff")

    # Pin the thread to v1: the typed variable stays; the next reply records v1.
    await page.select_option("#prompt-version", "1")
    await expect(language).to_have_value("French")
    await page.click("#save-settings")
    await expect(page.locator("#settings-status")).to_have_text("Saved")
    assert (await api(server, "GET", f"/api/threads/{tid}"))["prompt_version"] == 1
    await send(page, "Bonjour")
    await wait_idle(page)
    branch = (await api(server, "GET", f"/api/threads/{tid}/messages"))["data"]
    assert (branch[-1]["prompt_id"], branch[-1]["prompt_version"]) == (prompt["id"], 1)

    # Reopened, the panel shows what is stored.
    await page.reload()
    await expect(page.locator(f"li.thread-item.current[data-thread-id='{tid}']")).to_be_visible()
    await expect(page.locator("#prompt")).to_have_value(prompt["id"])
    await expect(page.locator("#prompt-version")).to_have_value("1")
    await expect(page.locator("#prompt-var-language")).to_have_value("French")
    await screenshot(page, "prompt-library-pinned")


async def test_the_library_lists_more_than_one_page_of_prompts(
    blank_page: Page, server: ServerProcess
) -> None:
    # Named to sort after every other prompt, so they fill the second page of 100.
    prefix = unique_name("zz-paged")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        for index in range(101):
            body = {"name": f"{prefix}-{index:03}", "template": "Plain."}
            assert (await http.post("/api/prompts", json=body)).status_code == 201
    await blank_page.goto("/")
    await expect(blank_page.locator("#prompt option", has_text=prefix)).to_have_count(101)
