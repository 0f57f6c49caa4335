"""The OpenAI path through the app, against the fake upstream server on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import load_settings
from scripts.fake_upstream import reply_text
from tests.fixtures.app import app_settings_env, serve, stream_events
from tests.fixtures.messages import message_row
from tests.fixtures.threads import create_thread
from tests.fixtures.upstream import DEFAULT_CHUNKS


async def test_streamed_reply_with_usage(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, model="fake-small", default_system_prompt=False)
    result = await stream_events(
        client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": "hi upstream"}
    )
    assert result.status_code == 200
    assert result.deltas() == reply_text(DEFAULT_CHUNKS)
    final = result.completed()
    assert final["status"] == "completed"
    assert final["content"] == reply_text(DEFAULT_CHUNKS)
    assert final["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": DEFAULT_CHUNKS,
        "total_tokens": DEFAULT_CHUNKS + 2,
    }
    assert final["finish_reason"] == "stop"
    assert final["model"] == "fake-small"


async def test_model_gets_system_prompt_then_active_branch(client: httpx.AsyncClient) -> None:
    thread = await create_thread(
        client, model="fake-small", system_prompt="You are terse.", default_system_prompt=False
    )
    url = f"/api/threads/{thread['id']}/messages"
    first = (await client.post(url, json={"content": "one", "generate": False})).json()
    await client.post(url, json={"content": "abandoned", "generate": False})
    reply = (
        await client.post(
            url,
            json={
                "role": "assistant",
                "content": "two",
                "generate": False,
                "parent_id": first["id"],
            },
        )
    ).json()
    result = await stream_events(client, "POST", url, json={"content": "three [[echo]]"})
    user = result.events[0].data["message"]
    assert user["parent_id"] == reply["id"]
    sent = json.loads(result.deltas())
    assert sent == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three [[echo]]"},
    ]
    assert result.completed()["request_message_count"] == 4


async def test_default_system_prompt_comes_before_the_threads_own(
    client: httpx.AsyncClient,
) -> None:
    thread = await create_thread(
        client, model="fake-small", system_prompt="You are terse.", tools=["calculator"]
    )
    result = await stream_events(
        client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": "hi [[echo]]"}
    )
    system = json.loads(result.deltas())[0]
    assert system["role"] == "system"
    prompt = system["content"]
    assert prompt.index("calculator") < prompt.index("Thread instructions:\nYou are terse.")
    assert "current_time" not in prompt, "only the enabled tools are explained"
    assert "set_thread_title" not in prompt


async def test_upstream_500_before_streaming_is_a_502(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    response = await client.post(url, json={"content": "please [[fail:500]]"})
    assert response.status_code == 502
    body = response.json()
    assert body["status_code"] == 502
    assert "model server answered 500" in body["detail"]
    assert "test-key" not in response.text
    branch = (await client.get(url)).json()["data"]
    assert [m["role"] for m in branch] == ["user", "assistant"]
    assert branch[0]["content"] == "please [[fail:500]]"
    assert branch[1]["status"] == "failed"
    row = await message_row(db_engine, branch[1]["id"])
    assert row.status == "failed"
    assert "500" in str(row.error)


async def test_upstream_failure_without_stream_is_a_502(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, model="fake-small")
    response = await client.post(
        f"/api/threads/{thread['id']}/messages",
        json={"content": "[[fail:503]]", "stream": False},
    )
    assert response.status_code == 502
    assert "model server answered 503" in response.json()["detail"]


async def test_connection_dropped_mid_stream(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    result = await stream_events(
        client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": "x [[drop:3]]"}
    )
    assert result.status_code == 200
    assert result.names()[-3:] == ["error", "message.completed", "done"]
    assert result.deltas() == reply_text(DEFAULT_CHUNKS)[: len(result.deltas())]
    assert result.deltas().count("chunk-") == 3
    error = next(e for e in result.events if e.event == "error")
    assert error.data["code"] == "generation_failed"
    assert "model server" in error.data["detail"]
    final = result.completed()
    assert final["status"] == "failed"
    assert final["error"] == error.data["detail"]
    row = await message_row(db_engine, final["id"])
    assert row.status == "failed"
    assert row.content == result.deltas()
    assert row.error == error.data["detail"]


async def test_malformed_chunk_fails_the_reply(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    result = await stream_events(
        client,
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": "x [[malformed:2]]"},
    )
    assert result.names()[-3:] == ["error", "message.completed", "done"]
    assert result.deltas() == "chunk-0 chunk-1 "
    final = result.completed()
    assert final["status"] == "failed"
    row = await message_row(db_engine, final["id"])
    assert row.content == "chunk-0 chunk-1 "


@pytest.fixture
async def impatient_client(
    migrated_database_url: str, fake_upstream_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A second app whose upstream timeout is short, to see a 504 quickly."""
    env = app_settings_env(fake_upstream_url, {"PLAYGROUND_UPSTREAM_TIMEOUT_S": "0.3"})
    app = create_app(migrated_database_url, load_settings(env))
    async for base_url in serve(app):
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            yield http


async def test_upstream_timeout_is_a_504(impatient_client: httpx.AsyncClient) -> None:
    thread = await create_thread(impatient_client, model="fake-small")
    response = await impatient_client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": "[[delay:2000]]"}
    )
    assert response.status_code == 504
    assert "timed out" in response.json()["detail"]
