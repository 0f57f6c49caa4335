"""Replay: the stored request sent again exactly, its answer a new sibling of the reply."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.app import send_and_disconnect, stream_events
from tests.fixtures.threads import create_thread
from tests.fixtures.upstream import RecordingUpstream
from tests.requests.test_request_log import request_of, send


async def exchange(api: httpx.AsyncClient, **thread_fields: Any) -> tuple[str, dict[str, Any]]:
    """A thread of two exchanges with the fake upstream; its id and the second reply."""
    thread = await create_thread(api, model="fake-small", tools=[], **thread_fields)
    await send(api, thread, "Tell me about apples [[chunks:3]]")
    return thread["id"], await send(api, thread, "And pears? [[chunks:3]]")


async def test_replay_after_an_edit_sends_the_stored_request_as_a_new_sibling(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream
) -> None:
    thread_id, reply = await exchange(api, params={"temperature": 0.5})
    sent = recording_upstream.received()[-1]
    branch = (await api.get(f"/api/threads/{thread_id}/messages")).json()["data"]
    first_user = branch[0]
    edited = await api.patch(
        f"/api/threads/{thread_id}/messages/{first_user['id']}",
        json={"content": "Tell me about cherries [[chunks:3]]"},
    )
    assert edited.status_code == 200, edited.text

    # The stored request still shows the text as it was sent.
    [call] = (await request_of(api, thread_id, reply["id"]))["rounds"]
    assert call["request"] == sent
    assert "Tell me about apples [[chunks:3]]" in [m["content"] for m in sent["messages"]]

    url = f"/api/threads/{thread_id}/messages/{reply['id']}/replay"
    result = await stream_events(api, "POST", url)

    assert result.status_code == 200, result.body
    assert result.names()[0] == "message.created"
    assert result.names()[-1] == "done"
    # The model server got exactly the stored request, not the edited thread.
    assert recording_upstream.received()[-1] == sent
    created = result.events[0].data["message"]
    replayed = result.completed()
    assert replayed["id"] == created["id"] != reply["id"]
    assert replayed["status"] == "completed"
    assert replayed["content"] == result.deltas() == "chunk-0 chunk-1 chunk-2"
    assert replayed["parent_id"] == reply["parent_id"]
    assert replayed["sibling_ids"] == [reply["id"], replayed["id"]]
    assert replayed["model"] == "fake-small"
    assert replayed["params"] == {"temperature": 0.5}
    # The replay is logged as a request of its own, the same body again.
    [again] = (await request_of(api, thread_id, replayed["id"]))["rounds"]
    assert again["request"] == sent
    thread = (await api.get(f"/api/threads/{thread_id}")).json()
    assert thread["head_id"] == replayed["id"]


async def test_replay_with_another_model_and_params(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream
) -> None:
    thread_id, reply = await exchange(api, params={"temperature": 0.5, "max_tokens": 40})
    sent = recording_upstream.received()[-1]

    answer = await api.post(
        f"/api/threads/{thread_id}/messages/{reply['id']}/replay",
        json={"model": "fake-large", "params": {"temperature": 1.5}, "stream": False},
    )

    assert answer.status_code == 200, answer.text
    replayed = answer.json()["assistant_message"]
    assert answer.json()["user_message"]["id"] == reply["parent_id"]
    assert replayed["model"] == "fake-large"
    assert replayed["params"] == {"temperature": 1.5, "max_tokens": 40}
    assert replayed["sibling_ids"] == [reply["id"], replayed["id"]]
    received = recording_upstream.received()[-1]
    assert received == {**sent, "model": "fake-large", "temperature": 1.5}


async def test_replay_follows_the_rules_of_a_regeneration(
    api: httpx.AsyncClient, recording_upstream: RecordingUpstream
) -> None:
    thread_id, reply = await exchange(api)
    url = f"/api/threads/{thread_id}/messages/{reply['id']}/replay"
    key = {"Idempotency-Key": "replay-once"}

    first = await api.post(url, json={"stream": False}, headers=key)
    calls = len(recording_upstream.received())
    retried = await api.post(url, json={"stream": False}, headers=key)
    reused = await api.post(url, json={"stream": False, "model": "fake-large"}, headers=key)

    assert first.status_code == retried.status_code == 200, retried.text
    assert retried.json() == first.json()
    assert len(recording_upstream.received()) == calls
    assert reused.status_code == 422
    assert reused.json()["extra"] == {"field": "Idempotency-Key"}

    # One run per thread: a replay while a reply is being written is a 409 naming it.
    _, _, running_id = await send_and_disconnect(
        api, thread_id, "slow [[slow:200]] [[chunks:50]]", stop_after_deltas=1
    )
    busy = await api.post(url, json={"stream": False})
    assert busy.status_code == 409, busy.text
    assert busy.json()["extra"] == {"message_id": running_id}
    cancel = await api.post(f"/api/threads/{thread_id}/cancel")
    assert cancel.json()["cancelled"] is True
    assert cancel.json()["message_id"] == running_id
