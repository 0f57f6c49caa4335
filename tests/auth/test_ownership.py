"""The ownership matrix: for every route that takes an id, another member's ids answer
exactly what an id that does not exist answers (404), and nothing of theirs changes."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fixtures.auth import Caller

NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"


async def alice_world(alice: Caller) -> dict[str, Any]:
    """A thread of alice's with a finished reply, its messages and a snapshot of it all."""
    thread = (await alice.request("POST", "/api/threads", json={"title": "alice's"})).json()
    sent = await alice.request(
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": "my secret plan", "stream": False},
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    return {
        "thread": thread["id"],
        "user": body["user_message"]["id"],
        "reply": body["assistant_message"]["id"],
    }


async def snapshot(caller: Caller, thread_id: str) -> tuple[Any, Any]:
    thread = await caller.request("GET", f"/api/threads/{thread_id}")
    messages = await caller.request("GET", f"/api/threads/{thread_id}/messages")
    assert thread.status_code == messages.status_code == 200
    return thread.json(), messages.json()


def attempts(thread: str, user: str, reply: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route with a thread or message id, with a body it would accept."""
    base = f"/api/threads/{thread}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"title": "taken over"}),
        ("DELETE", base, None),
        ("POST", f"{base}/fork", {"message_id": user}),
        ("PUT", f"{base}/head", {"message_id": user}),
        ("GET", f"{base}/messages", None),
        ("GET", f"{base}/messages/{reply}", None),
        ("POST", f"{base}/messages", {"content": "hi", "stream": False}),
        ("POST", f"{base}/messages", {"content": "hi", "generate": False}),
        ("POST", f"{base}/messages", {"content": "hi", "if_busy": "interrupt"}),
        ("PATCH", f"{base}/messages/{user}", {"content": "rewritten"}),
        ("DELETE", f"{base}/messages/{user}", None),
        ("POST", f"{base}/messages/{reply}/regenerate", {"stream": False}),
        ("GET", f"{base}/messages/{reply}/request", None),
        ("POST", f"{base}/messages/{reply}/replay", {"stream": False}),
        (
            "POST",
            f"{base}/messages/{reply}/tool_outputs",
            {"outputs": [{"call_id": "c", "output": "o"}]},
        ),
        ("GET", f"{base}/stream", None),
        ("POST", f"{base}/cancel", None),
        ("POST", f"{base}/stream-token", None),
    ]


def _masked(text: str, *ids: str) -> str:
    for value in ids:
        text = text.replace(value, "<id>")
    return text


async def test_another_members_ids_are_404_and_change_nothing(alice: Caller, bob: Caller) -> None:
    world = await alice_world(alice)
    before = await snapshot(alice, world["thread"])
    theirs = attempts(world["thread"], world["user"], world["reply"])
    nowhere = attempts(NO_SUCH_ID, NO_SUCH_ID, NO_SUCH_ID)
    for (method, url, body), (_, missing_url, _) in zip(theirs, nowhere, strict=True):
        answer = await bob.request(method, url, json=body)
        missing = await bob.request(method, missing_url, json=body)
        assert answer.status_code == 404, (method, url, answer.text)
        # Word for word what an id that exists nowhere gets: no existence leak.
        assert _masked(answer.text, *world.values()) == _masked(missing.text, NO_SUCH_ID), url
    assert await snapshot(alice, world["thread"]) == before


async def test_own_thread_with_another_members_message_is_404(alice: Caller, bob: Caller) -> None:
    world = await alice_world(alice)
    own = (await bob.request("POST", "/api/threads", json={})).json()["id"]
    for method, url, body in [
        ("POST", f"/api/threads/{own}/fork", {"message_id": world["user"]}),
        ("PUT", f"/api/threads/{own}/head", {"message_id": world["user"]}),
        ("GET", f"/api/threads/{own}/messages/{world['reply']}", None),
        ("GET", f"/api/threads/{own}/messages/{world['reply']}/request", None),
        ("POST", f"/api/threads/{own}/messages/{world['reply']}/replay", {"stream": False}),
        ("POST", f"/api/threads/{own}/messages", {"content": "x", "parent_id": world["user"]}),
    ]:
        answer = await bob.request(method, url, json=body)
        assert answer.status_code in (400, 404), (url, answer.text)
        assert "my secret plan" not in answer.text


async def test_members_list_only_their_threads(alice: Caller, bob: Caller, admin: Caller) -> None:
    world = await alice_world(alice)
    bobs = (await bob.request("POST", "/api/threads", json={"title": "bob's"})).json()

    listed = (await bob.request("GET", "/api/threads", params={"limit": 100})).json()["data"]
    assert [thread["id"] for thread in listed] == [bobs["id"]]
    assert {thread["owner_id"] for thread in listed} == {bob.principal_id}

    forbidden = await bob.request("GET", "/api/threads", params={"owner": alice.principal_id})
    assert forbidden.status_code == 403
    assert forbidden.json()["extra"] == {"field": "owner"}
    mine = await bob.request("GET", "/api/threads", params={"owner": bob.principal_id})
    assert [thread["id"] for thread in mine.json()["data"]] == [bobs["id"]]

    # Admins see everyone's, and filter by owner.
    everyone = await admin.request("GET", "/api/threads", params={"limit": 100})
    assert {world["thread"], bobs["id"]} <= {thread["id"] for thread in everyone.json()["data"]}
    only_alice = await admin.request("GET", "/api/threads", params={"owner": alice.principal_id})
    assert [thread["id"] for thread in only_alice.json()["data"]] == [world["thread"]]
    bad = await admin.request("GET", "/api/threads", params={"owner": "nope"})
    assert bad.status_code == 400
    assert bad.json()["extra"] == {"field": "owner"}


async def test_admin_reaches_a_members_thread_and_forks_it_as_their_own(
    alice: Caller, admin: Caller
) -> None:
    world = await alice_world(alice)
    read = await admin.request("GET", f"/api/threads/{world['thread']}/messages")
    assert next(message["content"] for message in read.json()["data"]) == "my secret plan"
    fork = await admin.request(
        "POST", f"/api/threads/{world['thread']}/fork", json={"message_id": world["reply"]}
    )
    assert fork.status_code == 201
    assert fork.json()["owner_id"] == admin.principal_id
    # The fork is the admin's: alice does not see it.
    assert (await alice.request("GET", f"/api/threads/{fork.json()['id']}")).status_code == 404


async def test_a_thread_belongs_to_whoever_created_it(alice: Caller) -> None:
    created = await alice.request("POST", "/api/threads", json={})
    assert created.json()["owner_id"] == alice.principal_id
    assert uuid.UUID(created.json()["owner_id"])
