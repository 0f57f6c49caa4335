"""Thread endpoints: create, list with cursors, read, update, delete, fork, head."""

from __future__ import annotations

import httpx

from tests.fixtures.app import stream_events
from tests.fixtures.threads import create_thread


async def test_create_with_defaults_and_read_back(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    assert thread["model"] == "offline"
    assert thread["title"] is None
    assert thread["params"] == {}
    assert thread["head_id"] is None
    fetched = (await client.get(f"/api/threads/{thread['id']}")).json()
    assert fetched == thread


async def test_create_with_every_field(client: httpx.AsyncClient) -> None:
    thread = await create_thread(
        client,
        title="Poems",
        system_prompt="You write haiku.",
        model="fake-small",
        params={"temperature": 0.3, "max_tokens": 64, "seed": 7},
        metadata={"owner": "ana"},
    )
    assert thread["title"] == "Poems"
    assert thread["system_prompt"] == "You write haiku."
    assert thread["model"] == "fake-small"
    assert thread["params"] == {"temperature": 0.3, "max_tokens": 64, "seed": 7}
    assert thread["metadata"] == {"owner": "ana"}


async def test_update_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, title="Before", system_prompt="Keep me.")
    response = await client.patch(
        f"/api/threads/{thread['id']}", json={"title": "After", "params": {"top_p": 0.5}}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "After"
    assert updated["system_prompt"] == "Keep me."
    assert updated["params"] == {"top_p": 0.5}
    cleared = (await client.patch(f"/api/threads/{thread['id']}", json={"title": None})).json()
    assert cleared["title"] is None


async def test_delete_removes_thread_and_messages(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    sent = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": "hi", "generate": False}
    )
    message_id = sent.json()["id"]
    assert (await client.delete(f"/api/threads/{thread['id']}")).status_code == 204
    assert (await client.get(f"/api/threads/{thread['id']}")).status_code == 404
    gone = await client.get(f"/api/threads/{thread['id']}/messages/{message_id}")
    assert gone.status_code == 404


async def test_list_pages_by_newest_activity(client: httpx.AsyncClient) -> None:
    created = [await create_thread(client, title=f"page-{i}") for i in range(5)]
    # Activity on the oldest thread moves it to the front.
    await client.post(
        f"/api/threads/{created[0]['id']}/messages", json={"content": "bump", "generate": False}
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/threads", params=params)).json()
        assert len(page["data"]) <= 2
        seen.extend(item["id"] for item in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    ours = [item for item in seen if item in {str(t["id"]) for t in created}]
    expected = [created[0]["id"], *[t["id"] for t in reversed(created[1:])]]
    assert ours == expected


async def test_fork_copies_the_path_to_the_message(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, title="Origin", system_prompt="Be brief.")
    url = f"/api/threads/{thread['id']}/messages"
    first = await stream_events(client, "POST", url, json={"content": "one"})
    await stream_events(client, "POST", url, json={"content": "two"})
    fork_at = first.completed()["id"]
    response = await client.post(f"/api/threads/{thread['id']}/fork", json={"message_id": fork_at})
    assert response.status_code == 201, response.text
    fork = response.json()
    assert fork["id"] != thread["id"]
    assert fork["title"] == "Origin (fork)"
    assert fork["system_prompt"] == "Be brief."
    copied = (await client.get(f"/api/threads/{fork['id']}/messages")).json()["data"]
    assert [(row["role"], row["content"]) for row in copied] == [
        ("user", "one"),
        ("assistant", first.deltas()),
    ]
    assert fork["head_id"] == copied[-1]["id"]
    assert all(row["thread_id"] == fork["id"] for row in copied)
    original = (await client.get(f"{url}")).json()["data"]
    assert len(original) == 4


async def test_head_switches_to_newest_leaf_under_message(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    url = f"/api/threads/{thread['id']}/messages"
    root = (await client.post(url, json={"content": "root", "generate": False})).json()
    left = (await client.post(url, json={"content": "left", "generate": False})).json()
    await client.post(url, json={"content": "left-2", "generate": False})
    right = (
        await client.post(
            url, json={"content": "right", "parent_id": root["id"], "generate": False}
        )
    ).json()
    branch = (await client.get(url)).json()["data"]
    assert [row["content"] for row in branch] == ["root", "right"]
    assert branch[1]["sibling_ids"] == [left["id"], right["id"]]

    response = await client.put(
        f"/api/threads/{thread['id']}/head", json={"message_id": left["id"]}
    )
    assert response.status_code == 200, response.text
    branch = (await client.get(url)).json()["data"]
    assert [row["content"] for row in branch] == ["root", "left", "left-2"]
    assert response.json()["head_id"] == branch[-1]["id"]
