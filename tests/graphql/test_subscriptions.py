"""``Subscription.generation`` with ``gql`` over WebSocket: the deltas make the stored
reply, a dropped subscriber resumes on another process with ``after``, and a cancel
through a mutation ends the reply its subscriber follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from scripts.fake_upstream import reply_text
from tests.fixtures.graphql import execute, over_http, over_websocket, subscribe
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.processes import ServerProcess

CREATE = 'mutation { createThread(input: {model: "fake-small"}) { id } }'
SEND = """
mutation($t: ID!, $content: String!) {
  sendMessage(threadId: $t, input: {content: $content}) {
    generationId userMessage { id content } reply { id status }
  }
}"""
FOLLOW = """
subscription($t: ID!, $after: String) {
  generation(threadId: $t, after: $after) {
    __typename
    ... on MessageCreated { eventId message { id role } }
    ... on MessageDelta { eventId messageId content }
    ... on MessageCompleted { eventId message { id content status } }
    ... on GenerationError { eventId code detail }
    ... on GenerationDone { eventId }
  }
}"""


def seq(event: dict[str, Any]) -> int:
    return int(event["eventId"].rsplit(":", 1)[1])


def deltas(events: list[dict[str, Any]]) -> str:
    return "".join(e["content"] for e in events if e["__typename"] == "MessageDelta")


async def start(base_url: str, key: str, content: str) -> tuple[str, dict[str, Any]]:
    async with over_http(base_url, key) as gql:
        thread_id: str = (await execute(gql, CREATE))["createThread"]["id"]
        started: dict[str, Any] = (await execute(gql, SEND, t=thread_id, content=content))[
            "sendMessage"
        ]
    return thread_id, started


async def test_deltas_concatenate_to_the_stored_reply(
    graphql_servers: list[ServerProcess], key: str, db_engine: AsyncEngine
) -> None:
    base_url = graphql_servers[0].base_url
    thread_id, started = await start(base_url, key, "hello [[chunks:12]] [[slow:5]]")
    assert started["userMessage"]["content"] == "hello [[chunks:12]] [[slow:5]]"
    assert started["reply"]["status"] == "in_progress"
    generation = started["generationId"]
    async with over_websocket(base_url, key) as gql:
        events = [
            data["generation"]
            async for data in subscribe(gql, FOLLOW, t=thread_id, after=f"{generation}:0")
        ]
    names = [event["__typename"] for event in events]
    assert names[:2] == ["MessageCreated", "MessageCreated"]
    assert names[-2:] == ["MessageCompleted", "GenerationDone"]
    # The ids of the SSE events: one generation, numbered from 1 without a gap.
    assert all(event["eventId"].startswith(f"{generation}:") for event in events)
    assert [seq(event) for event in events] == list(range(1, len(events) + 1))
    completed = events[-2]["message"]
    assert deltas(events) == reply_text(12) == completed["content"]
    row = await wait_until_settled(db_engine, started["reply"]["id"])
    assert row.content == deltas(events)


async def test_dropped_subscriber_resumes_on_another_process(
    graphql_servers: list[ServerProcess], key: str, db_engine: AsyncEngine
) -> None:
    a, b = graphql_servers
    thread_id, started = await start(a.base_url, key, "resume me [[chunks:60]] [[slow:15]]")
    seen: list[dict[str, Any]] = []
    async with over_websocket(a.base_url, key) as gql:
        async for data in subscribe(gql, FOLLOW, t=thread_id):
            seen.append(data["generation"])
            if sum(event["__typename"] == "MessageDelta" for event in seen) == 7:
                break  # the socket closes mid-reply
    last = seen[-1]["eventId"]
    async with over_websocket(b.base_url, key) as gql:
        rest = [
            data["generation"] async for data in subscribe(gql, FOLLOW, t=thread_id, after=last)
        ]
    # No gap and no duplicate: the ids go on from the last one seen.
    assert [seq(event) for event in rest] == list(range(seq(seen[-1]) + 1, seq(rest[-1]) + 1))
    assert rest[-1]["__typename"] == "GenerationDone"
    text = deltas(seen) + deltas(rest)
    assert text == reply_text(60)
    row = await wait_until_settled(db_engine, started["reply"]["id"])
    assert (row.content, row.status) == (text, "completed")


async def test_cancel_through_a_mutation_while_subscribed(
    graphql_servers: list[ServerProcess], key: str, db_engine: AsyncEngine
) -> None:
    a, b = graphql_servers
    thread_id, started = await start(a.base_url, key, "stop me [[chunks:200]] [[slow:20]]")
    events: list[dict[str, Any]] = []
    cancelled: dict[str, Any] = {}
    async with over_websocket(a.base_url, key) as gql, over_http(b.base_url, key) as http:
        async for data in subscribe(gql, FOLLOW, t=thread_id):
            events.append(data["generation"])
            if events[-1]["__typename"] == "MessageDelta" and not cancelled:
                cancelled = await execute(
                    http,
                    "mutation($t: ID!) { cancelGeneration(threadId: $t) {"
                    " cancelled messageId status } }",
                    t=thread_id,
                )
    reply_id = started["reply"]["id"]
    assert cancelled["cancelGeneration"]["messageId"] == reply_id
    assert cancelled["cancelGeneration"]["cancelled"] is True
    assert events[-1]["__typename"] == "GenerationDone"
    completed = events[-2]["message"]
    assert completed["status"] == "cancelled"
    assert completed["content"] == deltas(events)
    assert len(completed["content"]) < len(reply_text(200))
    row = await wait_until_settled(db_engine, reply_id)
    assert (row.status, row.content) == ("cancelled", completed["content"])
