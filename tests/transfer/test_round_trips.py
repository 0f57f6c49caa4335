"""Export a thread with branches, a regenerated reply and a tool round in each format,
import it back, and compare what came back with what went out."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fixtures.transfer import branched_thread, settings_of, tree_shape


async def export(client: httpx.AsyncClient, thread_id: str, fmt: str) -> httpx.Response:
    response = await client.get(f"/api/threads/{thread_id}/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response


async def import_body(client: httpx.AsyncClient, body: bytes) -> dict[str, Any]:
    response = await client.post(
        "/api/threads/import", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()
    return thread


async def test_json_round_trip_keeps_the_tree_the_head_and_the_settings(
    client: httpx.AsyncClient,
) -> None:
    thread = await branched_thread(client)
    exported = await export(client, thread["id"], "json")
    assert exported.headers["content-type"].startswith("application/json")
    document = exported.json()
    assert document["format"] == "playground.thread/v1"
    roles = [message["role"] for message in document["messages"]]
    assert roles.count("tool") == 1
    assert roles.count("user") == 3
    # Two first replies (regenerated), each with usage and timings.
    root = document["messages"][0]
    replies = [m for m in document["messages"] if m.get("parent_id") == root["id"]]
    assert len(replies) == 2
    assert all(r["usage"]["completion_tokens"] > 0 and r["timings"] for r in replies)
    call = next(m for m in document["messages"] if m.get("tool_calls"))
    assert call["tool_calls"][0]["function"]["name"] == "calculator"

    imported = await import_body(client, exported.content)
    assert imported["id"] != thread["id"]
    assert imported["head_id"] not in {m["id"] for m in document["messages"]}
    again = (await export(client, imported["id"], "json")).json()
    assert not {m["id"] for m in again["messages"]} & {m["id"] for m in document["messages"]}
    assert tree_shape(again) == tree_shape(document)
    assert settings_of(again) == settings_of(document)
    # The active branch reads the same through the API.
    branch = (await client.get(f"/api/threads/{imported['id']}/messages")).json()["data"]
    source = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [(m["role"], m["content"]) for m in branch] == [
        (m["role"], m["content"]) for m in source
    ]
    assert [len(m["sibling_ids"]) for m in branch] == [len(m["sibling_ids"]) for m in source]


async def test_markdown_shows_the_active_branch_with_tool_calls_as_json(
    client: httpx.AsyncClient,
) -> None:
    thread = await branched_thread(client)
    exported = await export(client, thread["id"], "markdown")
    assert exported.headers["content-type"].startswith("text/markdown")
    text = exported.text
    branch = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert text.startswith("# Transfer\n")
    assert "## System prompt\n\nBe brief." in text
    headings = [line for line in text.splitlines() if line.startswith("## ")][1:]
    assert [h.split()[1] for h in headings] == [m["role"].capitalize() for m in branch]
    call = next(m for m in branch if m.get("tool_calls"))["tool_calls"][0]
    fenced = json.dumps(call, indent=2)
    assert f"```json\n{fenced}\n```" in text
    assert "Another direction" not in text  # another branch


async def test_openai_jsonl_round_trip_gives_the_same_line(client: httpx.AsyncClient) -> None:
    thread = await branched_thread(client)
    exported = await export(client, thread["id"], "openai-jsonl")
    assert exported.text.endswith("\n")
    assert exported.text.count("\n") == 1
    line = json.loads(exported.text)
    roles = [message["role"] for message in line["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "tool", "assistant"]
    # The system prompt as composed: the default prompt, then the thread's own.
    assert line["messages"][0]["content"].endswith("Thread instructions:\nBe brief.")
    assert line["messages"][4]["tool_calls"][0]["function"]["name"] == "calculator"
    assert line["messages"][5]["tool_call_id"] == line["messages"][4]["tool_calls"][0]["id"]
    assert [tool["function"]["name"] for tool in line["tools"]] == ["calculator"]

    imported = await import_body(client, exported.content)
    assert imported["tools"] == ["calculator"]
    assert imported["default_system_prompt"] is False
    again = await export(client, imported["id"], "openai-jsonl")
    assert again.text == exported.text
    branch = (await client.get(f"/api/threads/{imported['id']}/messages")).json()["data"]
    assert [m["role"] for m in branch] == roles[1:]
    assert imported["head_id"] == branch[-1]["id"]


async def test_a_line_of_the_bulk_export_survives_any_line_reader(
    client: httpx.AsyncClient,
) -> None:
    """Text holding NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR stays on its line: they
    are escaped, since readers that split like str.splitlines break lines there."""
    text = "one\u2028two\x85three\u2029four"
    thread = (await client.post("/api/threads", json={"title": "separators"})).json()
    sent = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": text, "generate": False}
    )
    assert sent.status_code == 201, sent.text
    for fmt in ("jsonl", "openai-jsonl"):
        response = await client.get("/api/export", params={"format": fmt})
        # Every piece splitlines makes is a whole document.
        documents = [json.loads(line) for line in response.content.decode().splitlines()]
        mine = [doc for doc in documents if text in json.dumps(doc, ensure_ascii=False)]
        assert len(mine) == 1, fmt
