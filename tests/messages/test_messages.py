"""Sending, streaming, editing, deleting, branching and regenerating messages."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import stream_events
from tests.fixtures.messages import message_row
from tests.fixtures.threads import create_thread


async def test_send_streams_events_in_order_and_stores_reply(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, system_prompt="Answer briefly.")
    result = await stream_events(
        client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": "Hello there"}
    )
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    names = result.names()
    assert names[:2] == ["message.created", "message.created"]
    assert names[-2:] == ["message.completed", "done"]
    assert set(names[2:-2]) == {"message.delta"}
    assert len(names) > 10, "the offline model streams many chunks"

    ids = [event.id for event in result.events]
    generation = {event_id.rsplit(":", 1)[0] for event_id in ids}
    assert len(generation) == 1
    assert [int(event_id.rsplit(":", 1)[1]) for event_id in ids] == list(range(1, len(ids) + 1))

    user = result.events[0].data["message"]
    placeholder = result.events[1].data["message"]
    assert (user["role"], user["content"], user["status"]) == ("user", "Hello there", "completed")
    assert placeholder["role"] == "assistant"
    assert placeholder["status"] == "in_progress"
    assert placeholder["parent_id"] == user["id"]

    final = result.completed()
    assert final["id"] == placeholder["id"]
    assert final["status"] == "completed"
    assert final["content"] == result.deltas()
    assert final["finish_reason"] == "stop"
    assert final["usage"]["prompt_tokens"] > 0
    assert final["usage"]["completion_tokens"] > 0
    assert final["timings"]["time_to_first_token_ms"] > 0
    assert final["timings"]["duration_ms"] >= final["timings"]["time_to_first_token_ms"]
    assert final["model"] == "offline"
    assert final["request_message_count"] == 2

    row = await message_row(db_engine, final["id"])
    assert row.content == result.deltas()
    assert row.status == "completed"
    assert row.prompt_tokens == final["usage"]["prompt_tokens"]
    assert row.completion_tokens == final["usage"]["completion_tokens"]
    assert row.finish_reason == "stop"
    assert row.time_to_first_token_ms == final["timings"]["time_to_first_token_ms"]

    branch = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["id"] for m in branch] == [user["id"], final["id"]]
    thread_after = (await client.get(f"/api/threads/{thread['id']}")).json()
    assert thread_after["head_id"] == final["id"]


async def test_send_without_stream_returns_both_messages(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    response = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": "plain json", "stream": False}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_message"]["content"] == "plain json"
    assistant = body["assistant_message"]
    assert assistant["status"] == "completed"
    assert assistant["parent_id"] == body["user_message"]["id"]
    assert "plain json" in assistant["content"]
    stored = await client.get(f"/api/threads/{thread['id']}/messages/{assistant['id']}")
    assert stored.json()["content"] == assistant["content"]


async def test_append_without_generating_builds_few_shot_turns(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    turns = [("system", "Reply in French."), ("user", "Hello"), ("assistant", "Bonjour")]
    for role, content in turns:
        response = await client.post(
            url, json={"role": role, "content": content, "generate": False}
        )
        assert response.status_code == 201, response.text
        assert response.json()["role"] == role
        assert response.json()["status"] == "completed"
    branch = (await client.get(url)).json()["data"]
    assert [(m["role"], m["content"]) for m in branch] == turns
    assert [m["parent_id"] for m in branch] == [None, branch[0]["id"], branch[1]["id"]]


async def test_edit_in_place(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    message = (await client.post(url, json={"content": "typo", "generate": False})).json()
    response = await client.patch(f"{url}/{message['id']}", json={"content": "fixed"})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "fixed"
    assert response.json()["id"] == message["id"]
    assert (await client.get(f"{url}/{message['id']}")).json()["content"] == "fixed"


async def test_delete_takes_descendants_and_moves_head(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    first = (await client.post(url, json={"content": "a", "generate": False})).json()
    second = (await client.post(url, json={"content": "b", "generate": False})).json()
    third = (await client.post(url, json={"content": "c", "generate": False})).json()
    assert (await client.delete(f"{url}/{second['id']}")).status_code == 204
    assert (await client.get(f"{url}/{third['id']}")).status_code == 404
    branch = (await client.get(url)).json()["data"]
    assert [m["id"] for m in branch] == [first["id"]]
    assert (await client.get(f"/api/threads/{thread['id']}")).json()["head_id"] == first["id"]


async def test_regenerate_keeps_old_versions_as_siblings(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    first = await stream_events(client, "POST", url, json={"content": "Tell me something"})
    old = first.completed()
    again = await stream_events(client, "POST", f"{url}/{old['id']}/regenerate", json={})
    assert again.status_code == 200
    assert again.names()[0] == "message.created"
    assert again.names()[-2:] == ["message.completed", "done"]
    new = again.completed()
    assert new["id"] != old["id"]
    assert new["parent_id"] == old["parent_id"]
    assert new["sibling_ids"] == [old["id"], new["id"]]
    branch = (await client.get(url)).json()["data"]
    assert branch[-1]["id"] == new["id"]
    assert branch[-1]["sibling_ids"] == [old["id"], new["id"]]
    still_there = await client.get(f"{url}/{old['id']}")
    assert still_there.json()["content"] == old["content"]

    # Regenerating a user message adds a reply below it, beside the others.
    user_id = old["parent_id"]
    third = await stream_events(
        client, "POST", f"{url}/{user_id}/regenerate", json={"stream": True}
    )
    assert third.completed()["sibling_ids"] == [old["id"], new["id"], third.completed()["id"]]


async def test_regenerate_without_body(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    first = await stream_events(client, "POST", url, json={"content": "x"})
    response = await stream_events(client, "POST", f"{url}/{first.completed()['id']}/regenerate")
    assert response.status_code == 200
    assert response.completed()["status"] == "completed"


async def test_send_with_earlier_parent_branches(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    first = await stream_events(client, "POST", url, json={"content": "first question"})
    await stream_events(client, "POST", url, json={"content": "follow-up"})
    first_reply = first.completed()
    branch = await stream_events(
        client, "POST", url, json={"content": "another follow-up", "parent_id": first_reply["id"]}
    )
    new_user = branch.events[0].data["message"]
    assert new_user["parent_id"] == first_reply["id"]
    assert len(new_user["sibling_ids"]) == 2
    active = (await client.get(url)).json()["data"]
    assert [m["content"] for m in active][:3] == [
        "first question",
        first_reply["content"],
        "another follow-up",
    ]
    assert len(active) == 4


async def test_per_request_model_and_params_override(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, params={"temperature": 1.0})
    result = await stream_events(
        client,
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": "short please", "params": {"max_tokens": 3}},
    )
    final = result.completed()
    assert final["params"] == {"temperature": 1.0, "max_tokens": 3}
    assert final["finish_reason"] == "length"
    assert final["usage"]["completion_tokens"] == 3


async def test_branch_at_the_root_makes_a_second_first_message(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    first = (await client.post(url, json={"content": "v1", "generate": False})).json()
    await client.post(url, json={"content": "reply", "generate": False})
    second = await stream_events(client, "POST", url, json={"content": "v2", "parent_id": "root"})
    user = second.events[0].data["message"]
    assert user["parent_id"] is None
    assert user["sibling_ids"] == [first["id"], user["id"]]
    branch = (await client.get(url)).json()["data"]
    assert branch[0]["content"] == "v2"
    bad = await client.post(url, json={"content": "x", "parent_id": "top"})
    assert bad.status_code == 400
    assert "parent_id" in bad.text
