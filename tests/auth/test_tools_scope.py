"""Tools respect ownership: with two principals on one server, the built-in tools that read
other threads (``search_threads``, ``model_stats``) see only the calling thread's owner's
rows, so a model can never quote another member's conversation.

Each test has the same question asked in a thread of each principal: the owner's answer
finds the rows (so the test could fail), the other's finds nothing of theirs.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.fixtures.app import SSEResult, stream_events
from tests.fixtures.auth import SEEN_BODIES, Caller


async def new_thread(caller: Caller, **body: Any) -> str:
    created = await caller.request("POST", "/api/threads", json=body)
    assert created.status_code == 201, created.text
    thread_id: str = created.json()["id"]
    return thread_id


async def say(caller: Caller, thread_id: str, content: str) -> dict[str, Any]:
    """Send ``content`` and wait for the reply (no stream); the answer body."""
    sent = await caller.request(
        "POST", f"/api/threads/{thread_id}/messages", json={"content": content, "stream": False}
    )
    assert sent.status_code == 200, sent.text
    body: dict[str, Any] = sent.json()
    assert body["assistant_message"]["status"] == "completed", body
    return body


async def ask(caller: Caller, thread_id: str, content: str) -> SSEResult:
    """Send ``content`` and read the whole SSE stream of its reply (kept for the
    secrets check like every other answer)."""
    result = await stream_events(
        caller.http, "POST", f"/api/threads/{thread_id}/messages", json={"content": content}
    )
    SEEN_BODIES.append(json.dumps([event.data for event in result.events]))
    assert result.status_code == 200, result.body
    assert result.names()[-1] == "done"
    assert result.completed()["status"] == "completed"
    return result


async def branch(caller: Caller, thread_id: str) -> list[dict[str, Any]]:
    listed = await caller.request("GET", f"/api/threads/{thread_id}/messages")
    assert listed.status_code == 200, listed.text
    messages: list[dict[str, Any]] = listed.json()["data"]
    return messages


def tool_output(messages: list[dict[str, Any]], result: SSEResult, name: str) -> Any:
    """The one call of ``name`` in this reply: its stored output, checked to be the one
    the stream showed."""
    calls = [e.data["call"] for e in result.events if e.event == "tool_call"]
    assert [call["name"] for call in calls] == [name], calls
    shown = [e.data for e in result.events if e.event == "tool_result"]
    assert [item["call_id"] for item in shown] == [calls[0]["id"]]
    stored = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in stored] == [calls[0]["id"]]
    output = json.loads(stored[0]["content"])
    assert output == shown[0]["output"]
    return output


async def test_search_finds_only_the_callers_own_threads(alice: Caller, bob: Caller) -> None:
    word = f"zebra{uuid.uuid4().hex}"
    # Alice's secret: the word, in a sentence with a second word nobody searches for.
    hidden = f"quagga{uuid.uuid4().hex}"
    secret = f"My vault code is {word} and the spare key is {hidden}"
    title = f"Alice's vault {uuid.uuid4().hex[:8]}"
    vault = await new_thread(alice, title=title)
    stored = await say(alice, vault, secret)
    alices_ids = {
        vault,
        stored["user_message"]["id"],
        stored["assistant_message"]["id"],
        alice.principal_id,
    }

    # Asked in another of alice's threads, the search finds her message: it works, so the
    # empty result below is ownership, not a miss. (Her thread now also has an answer
    # quoting it: one more row bob must not reach.)
    other = await new_thread(alice)
    found = await ask(alice, other, f"Please search for {word}.")
    output = tool_output(await branch(alice, other), found, "search_threads")
    hits = {hit["message_id"]: hit for hit in output["results"]}
    assert stored["user_message"]["id"] in hits
    mine = hits[stored["user_message"]["id"]]
    assert mine["thread_id"] == vault
    assert mine["title"] == title
    assert f"**{word}**" in mine["snippet"]
    assert hidden in mine["snippet"]
    assert {hit["thread_id"] for hit in output["results"]} == {vault}
    assert title in found.completed()["content"]
    alices_ids.add(other)

    # Bob asks his model to search for her word: nothing comes back.
    bobs = await new_thread(bob, title="bob's")
    asked = await ask(bob, bobs, f"Please search for {word}.")
    bobs_messages = await branch(bob, bobs)
    assert [m["role"] for m in bobs_messages] == ["user", "assistant", "tool", "assistant"]
    call = next(e.data["call"] for e in asked.events if e.event == "tool_call")
    assert call["arguments"]["query"] == word
    assert tool_output(bobs_messages, asked, "search_threads") == {"results": []}
    assert bobs_messages[-1]["content"] == "I found nothing about that in earlier conversations."
    # Nothing of hers anywhere in his thread: the stored rows, and every event he was sent.
    everything_bob_saw = json.dumps(bobs_messages) + json.dumps([e.data for e in asked.events])
    for leaked in [hidden, secret, title, *alices_ids]:
        assert leaked not in everything_bob_saw
    # Her word is in his thread only as he asked it: his message and the call's arguments.
    assert [m["role"] for m in bobs_messages if word in m["content"]] == ["user"]


def stats_models(output: dict[str, Any]) -> dict[str, int]:
    """Replies per model in a ``model_stats`` output."""
    return {row["model"]: row["replies"] for row in output["models"]}


async def test_model_stats_over_all_threads_counts_only_the_callers_replies(
    alice: Caller, bob: Caller
) -> None:
    # Alice has replies from a model bob never uses, and more replies than bob.
    upstream = await new_thread(alice, model="fake-small")
    for n in range(2):
        await say(alice, upstream, f"hello upstream {n}")
    offline = await new_thread(alice)
    for n in range(3):
        await say(alice, offline, f"hello offline {n}")

    # Bob: two plain replies in one thread, then the question in another.
    chat = await new_thread(bob)
    for n in range(2):
        await say(bob, chat, f"hi {n}")
    stats_thread = await new_thread(bob)
    asked = await ask(bob, stats_thread, "Show me the stats for all threads")
    call = next(e.data["call"] for e in asked.events if e.event == "tool_call")
    assert call["arguments"]["scope"] == "all"
    bobs_messages = await branch(bob, stats_thread)
    output = tool_output(bobs_messages, asked, "model_stats")
    assert output["scope"] == "all"
    # Every reply of bob's finished before the question: his two chat replies. The turn
    # that calls the tool is still being written while the tool runs, so it is not one.
    bobs_replies = [m for m in await branch(bob, chat) if m["role"] == "assistant"]
    assert len(bobs_replies) == 2
    assert {m["model"] for m in bobs_replies} == {"offline"}
    assert stats_models(output) == {"offline": 2}
    assert output["models"][0]["finish_reasons"] == {"stop": 2}
    assert "fake-small" not in json.dumps(bobs_messages)
    assert "fake-small" not in json.dumps([e.data for e in asked.events])

    # Alice asking the same sees her own five replies, both models.
    mine = await new_thread(alice)
    hers = await ask(alice, mine, "Show me the stats for all threads")
    her_output = tool_output(await branch(alice, mine), hers, "model_stats")
    assert stats_models(her_output) == {"offline": 3, "fake-small": 2}
