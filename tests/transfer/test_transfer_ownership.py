"""Export and import see only the caller's threads: another member's thread answers
exactly what a missing one answers, bulk exports leave it out, imports are the caller's."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.auth import Caller

NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"


async def exported_ids(caller: Caller, fmt: str = "jsonl") -> list[str]:
    """The titles of the threads of a caller's bulk export, one per line."""
    response = await caller.request("GET", "/api/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line)["title"] for line in response.text.splitlines()]


@pytest.mark.parametrize("fmt", ["json", "markdown", "openai-jsonl"])
async def test_another_members_thread_is_404_like_a_missing_one(
    alice: Caller, bob: Caller, fmt: str
) -> None:
    thread = (await alice.request("POST", "/api/threads", json={"title": "alice's"})).json()
    mine = await alice.request("GET", f"/api/threads/{thread['id']}/export?format={fmt}")
    assert mine.status_code == 200
    theirs = await bob.request("GET", f"/api/threads/{thread['id']}/export?format={fmt}")
    missing = await bob.request("GET", f"/api/threads/{NO_SUCH_ID}/export?format={fmt}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == f"thread {thread['id']} not found"
    assert missing.json()["detail"] == f"thread {NO_SUCH_ID} not found"


async def test_bulk_export_holds_the_callers_threads_and_an_admins_holds_all(
    alice: Caller, bob: Caller, admin: Caller
) -> None:
    for title in ("a-1", "a-2"):
        await alice.request("POST", "/api/threads", json={"title": title})
    await bob.request("POST", "/api/threads", json={"title": "b-1"})
    assert sorted(await exported_ids(alice)) == ["a-1", "a-2"]
    assert await exported_ids(bob) == ["b-1"]
    assert {"a-1", "a-2", "b-1"} <= set(await exported_ids(admin))
    chat = await alice.request("GET", "/api/export", params={"format": "openai-jsonl"})
    assert len(chat.text.splitlines()) == 2
    assert all(
        json.loads(line)["messages"][0]["role"] == "system" for line in chat.text.splitlines()
    )


async def test_an_import_belongs_to_the_caller(alice: Caller, bob: Caller) -> None:
    document = {
        "format": "playground.thread/v1",
        "model": "offline",
        "title": "b-imported",
        "messages": [],
    }
    imported = await bob.request("POST", "/api/threads/import", json=document)
    assert imported.status_code == 201, imported.text
    assert imported.json()["owner_id"] == bob.principal_id
    assert imported.json()["head_id"] is None
    assert await exported_ids(bob) == ["b-imported"]
    seen = await alice.request("GET", f"/api/threads/{imported.json()['id']}")
    assert seen.status_code == 404
