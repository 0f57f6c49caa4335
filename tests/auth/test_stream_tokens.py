"""Stream tokens: ``EventSource`` cannot send headers, so ``GET /api/threads/{id}/stream``
also accepts ``?stream_token=`` from ``POST /api/threads/{id}/stream-token``.

Every follower here is a client that sends no ``Authorization`` header at all. A token
is for one thread's stream only, never carries the key, expires, and dies with its key.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from api.auth.secrets import key_hash, parse_stream_token, sign_stream_token
from api.settings import load_settings
from tests.fixtures.app import RunningApp, SSEEvent, SSEResult, send_and_disconnect, stream_events
from tests.fixtures.auth import AUTH_ENV, SEEN_BODIES, Caller

NOT_VALID = {"status_code": 401, "detail": "the stream token is not valid for this thread"}
EXPIRED = {"status_code": 401, "detail": "the stream token has expired; ask for a new one"}
REVOKED = {"status_code": 401, "detail": "the API key was revoked"}
NO_KEY = {
    "status_code": 401,
    "detail": "this server requires an API key: send `Authorization: Bearer <key>`",
}
NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"
# A reply of the fake upstream that sends three chunks, then nothing until it is stopped:
# a generation that is surely still running when the follower connects.
STALLED = "[[stall:3]]"
STALLED_DELTAS = 3


@pytest.fixture
async def headerless(auth_app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the server with no credentials of its own, as ``EventSource`` is."""
    async with httpx.AsyncClient(base_url=auth_app.base_url, timeout=30) as http:
        yield http


async def new_thread(caller: Caller, **body: Any) -> str:
    created = await caller.request("POST", "/api/threads", json=body)
    assert created.status_code == 201, created.text
    thread_id: str = created.json()["id"]
    return thread_id


async def token_for(caller: Caller, thread_id: str) -> str:
    answer = await caller.request("POST", f"/api/threads/{thread_id}/stream-token")
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def stream_url(thread_id: str) -> str:
    return f"/api/threads/{thread_id}/stream"


async def follow(http: httpx.AsyncClient, thread_id: str, **params: str) -> SSEResult:
    """``GET .../stream`` with these query parameters, read to the end; the answer is
    kept for the secrets check."""
    result = await stream_events(http, "GET", stream_url(thread_id), params=params)
    SEEN_BODIES.append(json.dumps(result.body) + json.dumps([e.data for e in result.events]))
    return result


def assert_refused(result: SSEResult, body: dict[str, Any]) -> None:
    """A 401 asking for a bearer credential, with exactly this body and no events."""
    assert result.status_code == 401, (result.body, result.names())
    assert result.headers["WWW-Authenticate"] == "Bearer"
    assert result.body == body
    assert result.events == []


def without_credentials(response: httpx.Response) -> None:
    assert "authorization" not in response.request.headers
    assert "stream_token" in response.request.url.params


async def stored_message(caller: Caller, thread_id: str, message_id: str) -> dict[str, Any]:
    answer = await caller.request("GET", f"/api/threads/{thread_id}/messages/{message_id}")
    assert answer.status_code == 200, answer.text
    message: dict[str, Any] = answer.json()
    return message


async def test_a_token_lets_a_headerless_client_follow_a_running_reply(
    alice: Caller, headerless: httpx.AsyncClient
) -> None:
    thread = await new_thread(alice, model="fake-small")
    # Started with the key and left running: the reply stalls after its third chunk.
    before, _, reply_id = await send_and_disconnect(
        alice.http, thread, STALLED, stop_after_deltas=STALLED_DELTAS, count_words=True
    )
    asked_at = int(time.time())
    issued = await alice.request("POST", f"/api/threads/{thread}/stream-token")
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    assert alice.key not in token
    assert key_hash(alice.key) not in token
    claims = parse_stream_token(token)
    assert claims is not None
    assert (str(claims.key_id), str(claims.thread_id)) == (alice.key_id, thread)
    expires_at = datetime.fromisoformat(issued.json()["expires_at"]).timestamp()
    assert claims.expires_at == expires_at
    ttl_s = load_settings(AUTH_ENV).access.playground_stream_token_ttl_s
    assert asked_at + ttl_s <= expires_at <= time.time() + ttl_s

    events: list[SSEEvent] = []
    cancelled: httpx.Response | None = None
    params = {"stream_token": token}
    async with aconnect_sse(headerless, "GET", stream_url(thread), params=params) as source:
        without_credentials(source.response)
        assert source.response.status_code == 200
        async for sse in source.aiter_sse():
            events.append(SSEEvent(event=sse.event, id=sse.id, data=json.loads(sse.data)))
            text = "".join(e.data["content"] for e in events if e.event == "message.delta")
            # A late follower gets the deltas so far coalesced: wait for their text.
            if sse.event == "message.delta" and text == "".join(before):
                # Everything sent so far has reached the follower: now end the reply.
                cancelled = await alice.request("POST", f"/api/threads/{thread}/cancel")
    SEEN_BODIES.append(json.dumps([event.data for event in events]))
    assert cancelled is not None
    assert cancelled.json() == {"cancelled": True, "message_id": reply_id, "status": "cancelled"}

    followed = SSEResult(status_code=200, headers=source.response.headers, events=events)
    # From the generation's first event to its last.
    assert followed.names()[0] == "message.created"
    assert followed.names()[-2:] == ["message.completed", "done"]
    final = followed.completed()
    assert (final["id"], final["status"]) == (reply_id, "cancelled")
    stored = await stored_message(alice, thread, reply_id)
    assert followed.deltas() == "".join(before) == final["content"] == stored["content"]
    assert stored["content"].startswith("chunk-0")


async def test_a_token_resumes_after_the_last_event_id(
    alice: Caller, headerless: httpx.AsyncClient
) -> None:
    thread = await new_thread(alice)
    before, last_id, reply_id = await send_and_disconnect(
        alice.http, thread, "Tell me a story about a lighthouse keeper", stop_after_deltas=2
    )
    token = await token_for(alice, thread)
    # Whether the reply is still running or has just ended, it resumes after that event.
    resumed = await follow(headerless, thread, stream_token=token, last_event_id=last_id)
    assert resumed.status_code == 200, resumed.body
    generation, _, seq = last_id.rpartition(":")
    assert [event.id for event in resumed.events] == [
        f"{generation}:{n}" for n in range(int(seq) + 1, int(seq) + 1 + len(resumed.events))
    ]
    assert resumed.names()[-2:] == ["message.completed", "done"]
    assert "message.created" not in resumed.names()
    final = resumed.completed()
    assert (final["id"], final["status"]) == (reply_id, "completed")
    stored = await stored_message(alice, thread, reply_id)
    assert "".join(before) + resumed.deltas() == final["content"] == stored["content"]
    assert "lighthouse" in stored["content"]

    # The same token and id again replay the same events: nothing is consumed.
    again = await follow(headerless, thread, stream_token=token, last_event_id=last_id)
    assert again.events == resumed.events


async def test_a_token_is_bound_to_its_thread(
    alice: Caller, bob: Caller, headerless: httpx.AsyncClient
) -> None:
    thread = await new_thread(alice)
    other = await new_thread(alice)
    token = await token_for(alice, thread)

    # On its own thread it is accepted: nothing is running there, so 204.
    idle = await follow(headerless, thread, stream_token=token)
    assert (idle.status_code, idle.body, idle.events) == (204, None, [])
    # On another of alice's own threads it is refused.
    assert_refused(await follow(headerless, other, stream_token=token), NOT_VALID)
    # One character of the signature changed.
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert_refused(await follow(headerless, thread, stream_token=flipped), NOT_VALID)
    # The thread id in the token swapped for the other thread's, signature kept.
    swapped = token.replace(uuid.UUID(thread).hex, uuid.UUID(other).hex)
    assert swapped != token
    assert_refused(await follow(headerless, other, stream_token=swapped), NOT_VALID)
    for garbage in ["st_", "st_a.b.c.d", alice.key, "x" * 200]:
        assert_refused(await follow(headerless, thread, stream_token=garbage), NOT_VALID)

    # Bob cannot get one for her thread: the same 404 as for an id that exists nowhere.
    theirs = await bob.request("POST", f"/api/threads/{thread}/stream-token")
    nowhere = await bob.request("POST", f"/api/threads/{NO_SUCH_ID}/stream-token")
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.text.replace(thread, "<id>") == nowhere.text.replace(NO_SUCH_ID, "<id>")
    assert "token" not in theirs.json()

    # A token bob got for his own thread does not open hers.
    bobs_thread = await new_thread(bob)
    bobs_token = await token_for(bob, bobs_thread)
    assert_refused(await follow(headerless, thread, stream_token=bobs_token), NOT_VALID)

    # Nor one he signs for her thread himself (he knows his own key): it makes him bob,
    # and her thread answers bob as an id that exists nowhere does.
    def signed_by_bob(thread_id: str) -> str:
        return sign_stream_token(
            uuid.UUID(bob.key_id),
            uuid.UUID(thread_id),
            expires_at=int(time.time()) + 60,
            stored_hash=key_hash(bob.key),
        )

    forged = await follow(headerless, thread, stream_token=signed_by_bob(thread))
    missing = await follow(headerless, NO_SUCH_ID, stream_token=signed_by_bob(NO_SUCH_ID))
    assert forged.status_code == missing.status_code == 404, forged.body
    assert forged.events == missing.events == []
    assert json.dumps(forged.body).replace(thread, "<id>") == json.dumps(missing.body).replace(
        NO_SUCH_ID, "<id>"
    )


async def test_an_expired_token_is_refused(alice: Caller, headerless: httpx.AsyncClient) -> None:
    thread = await new_thread(alice)
    expired = sign_stream_token(
        uuid.UUID(alice.key_id),
        uuid.UUID(thread),
        expires_at=int(time.time()) - 1,
        stored_hash=key_hash(alice.key),
    )
    assert_refused(await follow(headerless, thread, stream_token=expired), EXPIRED)
    # Signed the same way but still valid, it is accepted: only the expiry differs.
    fresh = sign_stream_token(
        uuid.UUID(alice.key_id),
        uuid.UUID(thread),
        expires_at=int(time.time()) + 60,
        stored_hash=key_hash(alice.key),
    )
    assert (await follow(headerless, thread, stream_token=fresh)).status_code == 204


async def test_revoking_the_key_ends_its_tokens_at_once(
    alice: Caller, admin: Caller, headerless: httpx.AsyncClient
) -> None:
    thread = await new_thread(alice)
    token = await token_for(alice, thread)
    assert (await follow(headerless, thread, stream_token=token)).status_code == 204
    revoked = await admin.request("DELETE", f"/api/keys/{alice.key_id}")
    assert revoked.status_code == 204, revoked.text
    assert_refused(await follow(headerless, thread, stream_token=token), REVOKED)


async def test_a_token_is_accepted_only_on_the_stream(
    alice: Caller, headerless: httpx.AsyncClient
) -> None:
    thread = await new_thread(alice)
    token = await token_for(alice, thread)
    params = {"stream_token": token}
    base = f"/api/threads/{thread}"
    for method, url in [
        ("GET", base),
        ("GET", f"{base}/messages"),
        ("POST", f"{base}/stream-token"),
        ("POST", f"{base}/cancel"),
        ("PATCH", base),
        ("DELETE", base),
        ("GET", "/api/threads"),
        ("GET", "/api/me"),
    ]:
        answer = await headerless.request(method, url, params=params, json={"title": "x"})
        SEEN_BODIES.append(answer.text)
        without_credentials(answer)
        assert answer.status_code == 401, (method, url, answer.text)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json() == NO_KEY, (method, url)
    # Nothing changed: the thread is still there, untitled.
    still = await alice.request("GET", base)
    assert still.status_code == 200
    assert still.json()["title"] is None
