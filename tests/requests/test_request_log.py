"""The request behind a reply: stored as the model server received it, per model call."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import stream_events
from tests.fixtures.threads import create_thread
from tests.fixtures.upstream import RecordingUpstream

TEST_KEY = "test-key"


async def send(api: httpx.AsyncClient, thread: dict[str, Any], content: str) -> dict[str, Any]:
    """Send ``content``, read the stream to ``done``; the final reply."""
    url = f"/api/threads/{thread['id']}/messages"
    result = await stream_events(api, "POST", url, json={"content": content})
    assert result.status_code == 200, result.body
    assert result.names()[-1] == "done"
    return result.completed()


async def request_of(api: httpx.AsyncClient, thread_id: str, message_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/threads/{thread_id}/messages/{message_id}/request")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_stored_request_is_what_the_upstream_received(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(
        api,
        model="fake-small",
        system_prompt="Answer in one line.",
        params={"temperature": 0.3, "max_tokens": 50, "stop": ["END"]},
        tools=["calculator"],
    )
    reply = await send(api, thread, "Tell me about apples [[chunks:4]]")

    logged = await request_of(api, thread["id"], reply["id"])

    assert logged["message_id"] == reply["id"]
    [call] = logged["rounds"]
    assert call["message_id"] == reply["id"]
    # Equal as JSON (dicts compare without key order): byte for byte once normalised.
    assert call["request"] == recording_upstream.received()[-1]
    assert list(call["request"])[:3] == ["model", "messages", "tools"]
    request = call["request"]
    assert request["model"] == "fake-small"
    assert request["temperature"] == 0.3
    assert request["max_tokens"] == 50
    assert request["stop"] == ["END"]
    assert request["stream"] is True
    system, user = request["messages"]
    assert system["role"] == "system"
    assert system["content"].endswith("Thread instructions:\nAnswer in one line.")
    assert user == {"role": "user", "content": "Tell me about apples [[chunks:4]]"}
    assert [tool["function"]["name"] for tool in request["tools"]] == ["calculator"]
    response = call["response"]
    assert response["id"].startswith("chatcmpl-fake-")
    assert response["model"] == "fake-small"
    assert response["system_fingerprint"] == "fp_fake"
    assert response["finish_reason"] == "stop"
    assert response["usage"] == reply["usage"]

    # The key is in neither column, nor any header.
    async with db_engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT request::text || response::text FROM model_request"
                    " WHERE message_id = :m"
                ),
                {"m": reply["id"]},
            )
        ).scalar_one()
    assert TEST_KEY not in stored
    assert "authorization" not in stored.lower()


async def test_a_reply_with_tool_rounds_has_one_call_per_round(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream
) -> None:
    thread = await create_thread(api, model="fake-small", tools=["calculator"])
    final = await send(api, thread, "what is 2**10 [[tools]]")
    branch = (await api.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [row["role"] for row in branch] == ["user", "assistant", "tool", "assistant"]
    calling = branch[1]

    logged = await request_of(api, thread["id"], final["id"])

    first, second = logged["rounds"]
    assert [first["message_id"], second["message_id"]] == [calling["id"], final["id"]]
    assert [first["request"], second["request"]] == recording_upstream.received()[-2:]
    assert first["response"]["finish_reason"] == "tool_calls"
    assert second["response"]["finish_reason"] == "stop"
    # The second round sent the call and its result back.
    roles = [message["role"] for message in second["request"]["messages"]]
    assert roles[-3:] == ["user", "assistant", "tool"]
    assert second["request"]["messages"][-1]["content"] == branch[2]["content"]
    # Asked about the tool-calling turn, the same run answers.
    assert (await request_of(api, thread["id"], calling["id"]))["rounds"] == logged["rounds"]


async def test_a_message_without_a_stored_request_is_a_404(api: httpx.AsyncClient) -> None:
    thread = await create_thread(api, model="fake-small")
    reply = await send(api, thread, "hello [[chunks:2]]")
    by_hand = (
        await api.post(
            f"/api/threads/{thread['id']}/messages",
            json={"role": "assistant", "content": "written by hand", "generate": False},
        )
    ).json()
    user_id = reply["parent_id"]
    base = f"/api/threads/{thread['id']}/messages"

    for message_id, detail in [
        (user_id, f"message {user_id} is a user message; only a model's reply has a request"),
        (by_hand["id"], f"no request is stored for message {by_hand['id']}"),
    ]:
        for method, path in [("GET", "request"), ("POST", "replay")]:
            response = await api.request(method, f"{base}/{message_id}/{path}")
            assert response.status_code == 404, response.text
            assert response.json()["detail"].startswith(detail)


async def test_a_call_the_server_refused_is_logged_too(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream
) -> None:
    thread = await create_thread(api, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    failed = await api.post(url, json={"content": "hello [[fail:500]]"})
    assert failed.status_code == 502, failed.text
    reply = (await api.get(url)).json()["data"][-1]
    assert reply["status"] == "failed"

    [call] = (await request_of(api, thread["id"], reply["id"]))["rounds"]

    assert call["request"] == recording_upstream.received()[-1]
    assert call["response"] == {
        "id": None,
        "model": None,
        "system_fingerprint": None,
        "finish_reason": None,
        "usage": None,
    }
