"""The chat endpoints' wire protocol, read with httpx-sse: the AI SDK's UI message
stream (its header, chunks and ``[DONE]``), resume from another process, and the
answers to requests the service cannot map onto the thread."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.chat.conftest import Principal
from tests.fixtures.processes import ServerProcess


def user_message(text: str, message_id: str = "client-1") -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


def chat_body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "chat-1", "messages": list(messages), "trigger": "submit-message", **fields}


def read_chunks(
    http: httpx.Client, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, list[Any]]:
    """The answer and the ``data:`` of each event, decoded (``[DONE]`` kept as text)."""
    with connect_sse(http, method, url, **kwargs) as source:
        assert source.response.status_code == 200, source.response.read()
        chunks = [
            sse.data if sse.data == "[DONE]" else json.loads(sse.data) for sse in source.iter_sse()
        ]
        return source.response, chunks


def types(chunks: list[Any]) -> list[str]:
    return [chunk if chunk == "[DONE]" else chunk["type"] for chunk in chunks]


def test_a_reply_is_a_ui_message_stream(carol: Principal) -> None:
    thread = carol.thread(tools=[])
    url = f"/api/threads/{thread['id']}/chat"
    response, chunks = read_chunks(
        carol.http, "POST", url, json=chat_body(user_message("Hi there"))
    )
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    names = types(chunks)
    assert names[:3] == ["start", "start-step", "text-start"]
    assert names[-5:] == ["text-delta", "text-end", "finish-step", "finish", "[DONE]"]
    assert set(names[3:-4]) == {"text-delta"}

    user, reply = carol.branch(thread["id"])
    start, finish = chunks[0], chunks[-2]
    assert start["messageId"] == reply["id"]
    assert start["messageMetadata"] == {
        "thread_id": thread["id"],
        "generation_id": start["messageMetadata"]["generation_id"],
        "user_message_id": user["id"],
    }
    assert user["content"] == "Hi there"
    deltas = [chunk for chunk in chunks if chunk != "[DONE]" and chunk["type"] == "text-delta"]
    assert {chunk["id"] for chunk in deltas} == {reply["id"]}
    assert "".join(chunk["delta"] for chunk in deltas) == reply["content"]
    assert finish == {
        "type": "finish",
        "finishReason": "stop",
        "messageMetadata": {
            "message_id": reply["id"],
            "status": "completed",
            "model": "offline",
            "usage": reply["usage"],
            "finish_reason": "stop",
            "timings": reply["timings"],
            "error": None,
        },
    }


def test_both_streams_carry_retry_on_their_first_chunk(carol: Principal) -> None:
    """As every event stream of the API; the AI SDK's parser skips the field."""
    thread = carol.thread(tools=[])
    url = f"/api/threads/{thread['id']}/chat"
    with carol.http.stream("POST", url, json=chat_body(user_message("Tell me more"))) as sent:
        received = sent.iter_bytes()
        first = next(received)
        # The reply still runs: the resume follows it to its end.
        resumed = carol.http.get(f"{url}/stream")
        sent_body = first + b"".join(received)
    assert resumed.status_code == 200, resumed.text
    for body in (sent_body, resumed.content):
        assert body.startswith(b'retry: 1000\ndata: {"type":"start"'), body[:80]
        assert body.count(b"retry:") == 1
        assert body.endswith(b"data: [DONE]\n\n")


def test_resume_replays_the_running_reply_on_another_process(
    servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=[])
    url = f"/api/threads/{thread['id']}/chat"
    headers = {"Authorization": f"Bearer {carol.key}"}
    with httpx.Client(base_url=servers[1].base_url, headers=headers, timeout=30) as on_b:
        with connect_sse(
            carol.http, "POST", url, json=chat_body(user_message("Tell me more"))
        ) as sent:
            events = sent.iter_sse()
            first = json.loads(next(events).data)
            # The reply runs on A; B replays it from its first event, then follows it live.
            response, resumed = read_chunks(on_b, "GET", f"{url}/stream")
            sent_rest = [sse.data for sse in events]
        assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert resumed[0] == first
        assert [first, *(d if d == "[DONE]" else json.loads(d) for d in sent_rest)] == resumed
        reply = carol.branch(thread["id"])[-1]
        deltas = [c["delta"] for c in resumed if c != "[DONE]" and c["type"] == "text-delta"]
        assert "".join(deltas) == reply["content"]
        # Nothing runs any more: the AI SDK's "nothing to resume".
        done = on_b.get(f"{url}/stream")
        assert (done.status_code, done.content) == (204, b"")


def test_requests_the_thread_cannot_take_name_the_field(carol: Principal) -> None:
    thread = carol.thread(tools=[])
    url = f"/api/threads/{thread['id']}/chat"
    no_text = {
        "id": "u",
        "role": "user",
        "parts": [{"type": "file", "url": "x", "mediaType": "text/plain"}],
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        (chat_body(), 400, "messages"),
        (chat_body(no_text), 400, "messages[0].parts"),
        (chat_body(user_message("   ")), 400, "messages[0].parts"),
        (chat_body({"id": "s", "role": "system", "parts": []}), 400, "messages[0].role"),
        (chat_body(user_message("hi"), extra=1), 400, "extra"),
        (chat_body(user_message("hi"), trigger="resume-stream"), 400, "trigger"),
    ]
    for body, status, field in cases:
        response = carol.http.post(url, json=body)
        assert response.status_code == status, (body, response.text)
        assert field in json.dumps(response.json()), (field, response.json())
    # An assistant message answers waiting tool calls; none wait here.
    answer = {
        "id": "a",
        "role": "assistant",
        "parts": [
            {
                "type": "tool-get_weather",
                "toolCallId": "c1",
                "state": "output-available",
                "output": 1,
            }
        ],
    }
    conflict = carol.http.post(url, json=chat_body(user_message("hi"), answer))
    assert conflict.status_code == 409, conflict.text
    assert "not waiting for tool outputs" in conflict.json()["detail"]
    assert carol.branch(thread["id"]) == []


def test_a_regeneration_with_nothing_to_regenerate_is_a_400(carol: Principal) -> None:
    thread = carol.thread(tools=[])
    response = carol.http.post(
        f"/api/threads/{thread['id']}/chat",
        json=chat_body(user_message("hi"), trigger="regenerate-message"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["extra"] == {"field": "messageId"}


def test_another_principals_thread_is_not_found_and_a_key_is_required(
    servers: list[ServerProcess], carol: Principal, dave: Principal
) -> None:
    thread = carol.thread(tools=[])
    url = f"/api/threads/{thread['id']}/chat"
    for response in (
        dave.http.post(url, json=chat_body(user_message("hi"))),
        dave.http.get(f"{url}/stream"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == f"thread {thread['id']} not found"
    anonymous = httpx.post(f"{servers[0].base_url}{url}", json=chat_body(user_message("hi")))
    assert anonymous.status_code == 401
    assert carol.branch(thread["id"]) == []


def test_regenerate_message_id_names_the_reply_to_regenerate(carol: Principal) -> None:
    thread = carol.thread(tools=["calculator"])
    url = f"/api/threads/{thread['id']}/chat"
    _, first = read_chunks(carol.http, "POST", url, json=chat_body(user_message("what is 6*7")))
    read_chunks(carol.http, "POST", url, json=chat_body(user_message("And then?")))
    # The first reply has a tool round (assistant, tool, assistant): its UI message id is
    # its first row, and regenerating it makes a sibling of that row.
    reply_id = first[0]["messageId"]
    body = chat_body(user_message("what is 6*7"), trigger="regenerate-message", messageId=reply_id)
    _, again = read_chunks(carol.http, "POST", url, json=body)
    user, new_reply, *rest = carol.branch(thread["id"])
    assert new_reply["id"] == again[0]["messageId"]
    assert new_reply["sibling_ids"] == [reply_id, new_reply["id"]]
    assert again[0]["messageMetadata"]["user_message_id"] == user["id"]
    assert [row["role"] for row in rest] == ["tool", "assistant"]
    deltas = [c["delta"] for c in again if c != "[DONE]" and c["type"] == "text-delta"]
    assert "".join(deltas) == rest[-1]["content"]
