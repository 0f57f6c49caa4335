"""The rules of a send while a reply runs in the thread, each answer exactly, and which
answer wins when a send breaks several: the model, then the parent, then the quotas,
then the reply in the way (the order a regeneration checks them in too)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tests.fixtures.app import RunningApp
from tests.fixtures.auth import caller
from tests.fixtures.threads import create_thread

SLOW = "busy [[chunks:200]] [[slow:10]]"


@asynccontextmanager
async def running_reply(http: httpx.AsyncClient, thread_id: str) -> AsyncIterator[str]:
    """A reply being generated in the thread while the block runs; its message id."""
    url = f"/api/threads/{thread_id}/messages"
    async with aconnect_sse(http, "POST", url, json={"content": SLOW}) as source:
        assert source.response.status_code == 200
        events = source.aiter_sse()
        await anext(events)
        reply: str = (await anext(events)).json()["message"]["id"]
        try:
            yield reply
        finally:
            await http.post(f"/api/threads/{thread_id}/cancel")
            async for _ in events:
                pass


async def post(http: httpx.AsyncClient, thread_id: str, **body: Any) -> httpx.Response:
    return await http.post(
        f"/api/threads/{thread_id}/messages", json={"content": "hi", "stream": False, **body}
    )


async def test_answers_while_a_reply_runs(client: httpx.AsyncClient) -> None:
    thread_id = (await create_thread(client, model="fake-small"))["id"]
    async with running_reply(client, thread_id) as reply:
        busy = await post(client, thread_id)
        below = await post(client, thread_id, parent_id=reply)
        unknown = await post(client, thread_id, model="no-such-model")
        beside = await post(client, thread_id, parent_id="root")
    assert (busy.status_code, busy.json()["extra"]) == (409, {"message_id": reply})
    assert busy.json()["detail"] == (
        f"a reply is already being generated in this thread (message {reply}); "
        "wait for it or cancel it"
    )
    assert below.status_code == 409
    assert below.json()["detail"] == f"message {reply} is still being generated"
    assert "extra" not in below.json()
    # The model is checked first, as before any statement ran.
    assert unknown.status_code == 400
    assert unknown.json()["extra"]["field"] == "model"
    assert beside.status_code == 409
    assert beside.json()["extra"] == {"message_id": reply}
    branch = (await client.get(f"/api/threads/{thread_id}/messages")).json()["data"]
    assert [message["content"] for message in branch][:1] == [SLOW]
    assert len(branch) == 2, "no refused send stored a message"


async def test_a_reused_key_and_a_bad_parent_are_answered_by_name(
    client: httpx.AsyncClient,
) -> None:
    thread_id = (await create_thread(client, title="keys"))["id"]
    key = f"key-{uuid.uuid4()}"
    first = await post(client, thread_id, content="first")
    assert first.status_code == 200, first.text
    keyed = await client.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": "once", "stream": False},
        headers={"Idempotency-Key": key},
    )
    assert keyed.status_code == 200, keyed.text
    reused = await client.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": "another", "stream": False},
        headers={"Idempotency-Key": key},
    )
    assert reused.status_code == 422
    assert reused.json()["detail"] == (
        f"Idempotency-Key {key!r} was used with a different request; "
        "use a new key for a new request"
    )
    assert reused.json()["extra"] == {"field": "Idempotency-Key"}
    malformed = await post(client, thread_id, parent_id="zzz")
    assert malformed.status_code == 400
    assert malformed.json()["extra"] == {"field": "parent_id"}


async def test_a_quota_reached_wins_over_the_reply_in_the_way(
    auth_app: RunningApp, migrated_database_url: str
) -> None:
    async for member in caller(auth_app, migrated_database_url, "one", max_concurrent_replies=1):
        thread_id = (await create_thread(member.http, model="fake-small"))["id"]
        async with running_reply(member.http, thread_id):
            limited = await post(member.http, thread_id)
        assert limited.status_code == 429, limited.text
        assert limited.json()["extra"] == {"limit": "max_concurrent_replies", "value": 1, "used": 1}
