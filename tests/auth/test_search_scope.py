"""Search reaches only the caller's threads: bob never finds alice's titles or
messages; an admin finds everyone's, or one principal's with ``owner``."""

from __future__ import annotations

from typing import Any

from tests.fixtures.auth import Caller
from tests.fixtures.search import word


async def found(caller: Caller, q: str, **params: Any) -> list[tuple[str, str | None]]:
    answer = await caller.request("GET", "/api/search", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return [(r["thread_id"], r["message_id"]) for r in answer.json()["data"]]


async def make_thread(caller: Caller, title: str, content: str) -> tuple[str, str]:
    thread = (await caller.request("POST", "/api/threads", json={"title": title})).json()
    stored = await caller.request(
        "POST",
        f"/api/threads/{thread['id']}/messages",
        json={"content": content, "generate": False},
    )
    assert stored.status_code == 201, stored.text
    return thread["id"], stored.json()["id"]


async def test_search_is_scoped_to_the_owner(alice: Caller, bob: Caller, admin: Caller) -> None:
    w = word()
    alices, alice_message = await make_thread(alice, f"alice's {w}", f"alice's secret {w}")
    bobs, bob_message = await make_thread(bob, "bob's", f"bob's own {w} {w}")

    assert await found(bob, w) == [(bobs, bob_message)]
    assert set(await found(alice, w)) == {(alices, None), (alices, alice_message)}
    everyone = {(alices, None), (alices, alice_message), (bobs, bob_message)}
    assert set(await found(admin, w)) == everyone
    assert set(await found(admin, w, owner=alice.principal_id)) == {
        (alices, None),
        (alices, alice_message),
    }
    # A member may name themselves, and no one else.
    assert await found(bob, w, owner=bob.principal_id) == [(bobs, bob_message)]
    refused = await bob.request("GET", "/api/search", params={"q": w, "owner": alice.principal_id})
    assert refused.status_code == 403
    assert refused.json()["extra"] == {"field": "owner"}
    assert w not in refused.text
