"""GraphiQL on a server that requires API keys: the key typed in its Headers tab also
authenticates a subscription, as the WebSocket's ``connection_init`` payload."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, WebSocket, expect

from tests.fixtures.auth import AUTH_ENV, create_key
from tests.fixtures.processes import ServerProcess, start_server

SEND = 'mutation($t: ID!) { sendMessage(threadId: $t, input: {content: "hi"}) { generationId } }'
FOLLOW = """subscription Follow($t: ID!, $after: String) {
  generation(threadId: $t, after: $after) {
    __typename
    ... on MessageCompleted { message { status } }
  }
}"""
EDITOR_TOOL = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """One API process requiring keys."""
    process = start_server(migrated_database_url, fake_upstream_url, AUTH_ENV)
    yield process
    process.stop(signal.SIGTERM)


async def generated(server: ServerProcess, key: str) -> tuple[str, str]:
    """A thread with a reply sent over HTTP: the thread's id and the generation's."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        thread = (await http.post("/api/threads", json={})).json()["id"]
        sent = await http.post("/graphql", json={"query": SEND, "variables": {"t": thread}})
    return thread, sent.json()["data"]["sendMessage"]["generationId"]


async def fill_tool(page: Page, tab: str, text: str) -> None:
    """Open the Variables or Headers tab and replace its text."""
    await page.locator(f".graphiql-editor-tools [data-name={tab}]").click()
    await page.locator(EDITOR_TOOL).evaluate("(node, text) => node.CodeMirror.setValue(text)", text)


async def test_a_subscription_authenticates_with_the_headers_tab(
    blank_page: Page, server: ServerProcess, migrated_database_url: str
) -> None:
    key = (await create_key(migrated_database_url, "graphiql"))["key"]
    thread, generation = await generated(server, key)
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def record(socket: WebSocket) -> None:
        socket.on("framesent", lambda frame: sent.append(json.loads(frame)))
        socket.on("framereceived", lambda frame: received.append(json.loads(frame)))

    blank_page.on("websocket", record)
    await blank_page.goto("/graphql")
    await fill_tool(blank_page, "headers", json.dumps({"Authorization": f"Bearer {key}"}))
    await fill_tool(blank_page, "variables", json.dumps({"t": thread, "after": f"{generation}:0"}))
    query = blank_page.locator(QUERY_EDITOR)
    await query.evaluate("(node, text) => node.CodeMirror.setValue(text)", FOLLOW)
    # GraphiQL parses the query a moment after an edit, and only a parsed subscription
    # goes over WebSocket.
    await blank_page.wait_for_function(
        "node => node.CodeMirror.operationName === 'Follow'", arg=await query.element_handle()
    )
    await blank_page.locator(".graphiql-execute-button").click()
    await expect(blank_page.locator(".result-window")).to_contain_text("GenerationDone")
    init = [frame for frame in sent if frame["type"] == "connection_init"]
    assert init == [{"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}]
    nexts = [frame["payload"] for frame in received if frame["type"] == "next"]
    events = [payload["data"]["generation"] for payload in nexts]
    assert {"__typename": "MessageCompleted", "message": {"status": "completed"}} in events
