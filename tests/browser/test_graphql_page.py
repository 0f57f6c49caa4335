"""Chromium follows a reply through ``/graphql`` with plain ``fetch`` (the multipart
HTTP subscription, read part by part from the response body on the served page), and
runs GraphiQL from the vendored files with every request off the server refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from tests.fixtures.processes import ServerProcess, start_server

# Sends a message through the GraphQL mutation, then subscribes over HTTP (multipart)
# and reads every part as it arrives; resolves with the payloads and the reply's id.
FOLLOW = """
async () => {
  const post = (body, accept) => fetch("/graphql", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": accept},
    body: JSON.stringify(body),
  });
  const created = await (await post({query: "mutation { createThread { id } }"},
    "application/json")).json();
  const threadId = created.data.createThread.id;
  const sent = await (await post({
    query: `mutation($t: ID!) { sendMessage(threadId: $t, input: {content: "hi from fetch"})
      { generationId reply { id } } }`,
    variables: {t: threadId},
  }, "application/json")).json();
  const started = sent.data.sendMessage;
  const response = await post({
    query: `subscription($t: ID!, $after: String) { generation(threadId: $t, after: $after) {
      __typename ... on MessageDelta { eventId content }
      ... on MessageCompleted { eventId message { content status } } } }`,
    variables: {t: threadId, after: `${started.generationId}:0`},
  }, 'multipart/mixed;subscriptionSpec="1.0"');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const payloads = [];
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\\r\\n--graphql")) >= 0) {
      const part = buffer.slice(0, end);
      buffer = buffer.slice(end + "\\r\\n--graphql".length);
      const body = part.slice(part.indexOf("\\r\\n\\r\\n") + 4).trim();
      const parsed = body ? JSON.parse(body) : {};
      if (parsed.payload) payloads.push(parsed.payload);
    }
  }
  return {
    type: response.headers.get("content-type"),
    threadId,
    replyId: started.reply.id,
    payloads,
  };
}
"""


@pytest.fixture(scope="module")
def server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    """One API process, auth off (loopback)."""
    process = start_server(migrated_database_url, fake_upstream_url)
    yield process
    process.stop()


async def test_page_follows_a_reply_over_a_multipart_subscription(
    blank_page: Page, server: ServerProcess
) -> None:
    await blank_page.goto("/")
    result: dict[str, Any] = await blank_page.evaluate(FOLLOW)
    assert result["type"].startswith("multipart/mixed")
    events = [payload["data"]["generation"] for payload in result["payloads"]]
    names = [event["__typename"] for event in events]
    assert names[-2:] == ["MessageCompleted", "GenerationDone"]
    text = "".join(event["content"] for event in events if event["__typename"] == "MessageDelta")
    completed = events[-2]["message"]
    assert completed == {"content": text, "status": "completed"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        stored = await http.get(f"/api/threads/{result['threadId']}/messages/{result['replyId']}")
    assert stored.json()["content"] == text


async def test_graphiql_runs_from_vendored_files(blank_page: Page, server: ServerProcess) -> None:
    outside: list[str] = []

    async def refuse_outside(route: Route) -> None:
        outside.append(route.request.url)
        await route.abort()

    await blank_page.route(lambda url: not url.startswith(server.base_url), refuse_outside)
    async with blank_page.expect_response(
        lambda response: response.url.endswith("/graphql") and response.request.method == "POST"
    ) as introspected:
        await blank_page.goto("/graphql", wait_until="load")
    # GraphiQL renders its editors and reads the schema from /graphql itself.
    await expect(blank_page.locator(".graphiql-container .graphiql-editors")).to_be_visible()
    response = await introspected.value
    assert "__schema" in (await response.json())["data"]
    assert outside == []
