"""Compare runs: one message, two to four replies generated at once on one stream."""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import pairwise
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.stores.messages import MessageStore
from scripts.fake_upstream import reply_text
from tests.compare.conftest import MODELS, THREE, reply_ids, texts
from tests.fixtures.app import stream_events
from tests.fixtures.messages import message_row, wait_until_settled
from tests.fixtures.threads import create_thread


async def test_three_models_stream_side_by_side(
    api: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    result = await stream_events(
        api, "POST", url, json={"content": "three [[chunks:30]]", "variants": THREE}
    )
    assert result.status_code == 200, result.body
    names = result.names()
    # The user message and the three placeholders first; `done` once, at the end.
    assert names[:4] == ["message.created"] * 4
    assert names[-4:] == ["message.completed"] * 3 + ["done"]
    assert Counter(names)["done"] == 1
    replies = reply_ids(result)
    assert len(replies) == 3
    # Every delta names its reply; the three streams interleave in time.
    order = [e.data["message_id"] for e in result.events if e.event == "message.delta"]
    assert set(order) == set(replies)
    switches = sum(1 for a, b in pairwise(order) if a != b)
    assert switches >= 6
    # Ids are the generation's, consecutive, for all of them.
    prefixes = {event.id.rsplit(":", 1)[0] for event in result.events}
    assert len(prefixes) == 1
    seqs = [int(event.id.rsplit(":", 1)[1]) for event in result.events]
    assert seqs == list(range(1, len(seqs) + 1))
    streamed = texts(result)
    completed = {
        e.data["message"]["id"]: e.data["message"]
        for e in result.events
        if e.event == "message.completed"
    }
    for reply_id, model in zip(replies, MODELS, strict=True):
        assert streamed[reply_id] == reply_text(30)
        message = completed[reply_id]
        assert message["content"] == streamed[reply_id]
        assert message["model"] == model
        assert message["status"] == "completed"
        assert message["sibling_ids"] == replies
        assert message["usage"]["completion_tokens"] > 0
        assert message["timings"]["time_to_first_token_ms"] > 0
        row = await message_row(db_engine, reply_id)
        assert (row.content, row.model, row.status) == (streamed[reply_id], model, "completed")
    # Each took its model's time: the slowest pace gave the longest duration.
    durations = [completed[reply_id]["timings"]["duration_ms"] for reply_id in replies]
    assert durations[0] < durations[2]
    # The head follows the first variant.
    assert (await api.get(f"/api/threads/{thread['id']}")).json()["head_id"] == replies[0]


async def test_stream_false_answers_the_user_message_and_the_replies(
    api: httpx.AsyncClient,
) -> None:
    thread = await create_thread(api, model="fake-quick", params={"temperature": 0.5})
    variants = [
        {"model": "fake-steady", "params": {"temperature": 0}},
        {"params": {"temperature": 1.5, "max_tokens": 50}},
    ]
    response = await api.post(
        f"/api/threads/{thread['id']}/messages",
        json={"content": "two [[chunks:4]]", "variants": variants, "stream": False},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user_message", "replies"}
    assert body["user_message"]["content"] == "two [[chunks:4]]"
    first, second = body["replies"]
    assert (first["model"], first["params"]) == ("fake-steady", {"temperature": 0})
    assert (second["model"], second["params"]) == (
        "fake-quick",
        {"temperature": 1.5, "max_tokens": 50},
    )
    for reply in body["replies"]:
        assert reply["content"] == reply_text(4)
        assert reply["parent_id"] == body["user_message"]["id"]
        assert reply["sibling_ids"] == [first["id"], second["id"]]


async def test_regenerate_with_variants_adds_siblings(api: httpx.AsyncClient) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    sent = (await api.post(url, json={"content": "once [[chunks:3]]", "stream": False})).json()
    first = sent["assistant_message"]
    response = await api.post(
        f"{url}/{first['id']}/regenerate",
        json={"variants": [{"model": "fake-slow"}, {"model": "fake-steady"}], "stream": False},
    )
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert [reply["model"] for reply in replies] == ["fake-slow", "fake-steady"]
    assert replies[0]["sibling_ids"] == [first["id"], replies[0]["id"], replies[1]["id"]]
    assert (await api.get(f"/api/threads/{thread['id']}")).json()["head_id"] == replies[0]["id"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"variants": [{"model": "fake-quick"}]}, "variants"),
        ({"variants": [{"model": "fake-quick"}] * 5}, "variants"),
        ({"variants": THREE, "model": "fake-quick"}, "variants"),
        ({"variants": THREE, "params": {"temperature": 1}}, "variants"),
        ({"variants": [{"model": "fake-quick"}, {"model": "nope"}]}, "nope"),
        ({"variants": [{"model": "fake-quick"}, {"params": {"temperature": 9}}]}, "temperature"),
    ],
    ids=["one", "five", "with model", "with params", "unknown model", "bad params"],
)
async def test_bad_variants_are_a_400_and_store_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    response = await api.post(url, json={"content": "bad", **body})
    assert response.status_code == 400, response.text
    assert detail in response.text
    assert (await api.get(url)).json()["data"] == []


async def test_a_run_is_one_unit_busy_then_cancelled(
    api: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    body = {"content": "long [[chunks:400]] [[slow:10]]", "variants": THREE}
    events: list[tuple[str, dict[str, Any]]] = []
    answers: dict[str, httpx.Response] = {}

    async def watch() -> None:
        async with api.stream("POST", url, json=body) as response:
            assert response.status_code == 200
            async for sse in EventSource(response).aiter_sse():
                events.append((sse.event, sse.json()))
                deltas = {data["message_id"] for name, data in events if name == "message.delta"}
                if len(deltas) == 3 and "cancel" not in answers:
                    # Every variant has text: the thread is busy for any other send.
                    answers["busy"] = await api.post(url, json={"content": "another"})
                    answers["regenerate"] = await api.post(
                        f"{url}/{next(iter(deltas))}/regenerate", json={}
                    )
                    # The reaper's sweep of replies no generation writes leaves them be.
                    async with AsyncSession(db_engine) as session:
                        await MessageStore(session).interrupt_orphans()
                        await session.commit()
                    answers["cancel"] = await api.post(f"/api/threads/{thread['id']}/cancel")

    await watch()
    assert answers["busy"].status_code == 409, answers["busy"].text
    assert "already being generated" in answers["busy"].json()["detail"]
    assert answers["regenerate"].status_code == 409
    assert answers["cancel"].status_code == 200, answers["cancel"].text
    completed = [data["message"] for name, data in events if name == "message.completed"]
    assert [name for name, _ in events][-1] == "done"
    assert len(completed) == 3
    streamed: dict[str, str] = {}
    for name, data in events:
        if name == "message.delta":
            streamed[data["message_id"]] = streamed.get(data["message_id"], "") + data["content"]
    for message in completed:
        assert message["status"] == "cancelled"
        assert 0 < len(message["content"]) < len(reply_text(400))
        assert message["content"] == streamed[message["id"]]
        row = await wait_until_settled(db_engine, message["id"])
        assert (row.status, row.content) == ("cancelled", message["content"])
    # The thread takes a new run right away.
    again = await stream_events(
        api, "POST", url, json={"content": "again [[chunks:2]]", "variants": THREE[:2]}
    )
    assert [
        e.data["message"]["status"] for e in again.events if e.event == "message.completed"
    ] == [
        "completed",
        "completed",
    ]


async def test_idempotency_key_replays_the_whole_run(
    api: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    body = {"content": "once only [[chunks:5]]", "variants": THREE}
    headers = {"Idempotency-Key": "compare-1"}
    first = await stream_events(api, "POST", url, json=body, headers=headers)
    again = await stream_events(api, "POST", url, json=body, headers=headers)
    assert again.status_code == 200
    assert [(e.id, e.event, e.data) for e in again.events] == [
        (e.id, e.event, e.data) for e in first.events
    ]
    as_json = await api.post(url, json={**body, "stream": False}, headers=headers)
    assert as_json.status_code == 422  # the same key with another body
    async with db_engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM message WHERE thread_id = :id"), {"id": thread["id"]}
        )
    assert count == 4


async def test_a_failing_variant_fails_alone(api: httpx.AsyncClient) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    # The offline model ignores the fake server's directives; the fake one fails.
    body = {"content": "half [[fail:500]]", "variants": [{"model": "offline"}, THREE[0]]}
    result = await stream_events(api, "POST", url, json=body)
    assert result.status_code == 200
    offline_id, failing_id = reply_ids(result)
    errors = [e.data for e in result.events if e.event == "error"]
    assert len(errors) == 1
    assert errors[0]["message_id"] == failing_id
    completed = {
        e.data["message"]["id"]: e.data["message"]
        for e in result.events
        if e.event == "message.completed"
    }
    assert completed[offline_id]["status"] == "completed"
    assert completed[failing_id]["status"] == "failed"
    assert result.names()[-1] == "done"


async def test_runs_in_many_threads_at_once(api: httpx.AsyncClient) -> None:
    threads = [await create_thread(api, model="fake-quick") for _ in range(3)]
    results = await asyncio.gather(
        *(
            stream_events(
                api,
                "POST",
                f"/api/threads/{thread['id']}/messages",
                json={"content": "many [[chunks:10]]", "variants": THREE},
            )
            for thread in threads
        )
    )
    for result in results:
        assert sorted(texts(result).values()) == [reply_text(10)] * 3
