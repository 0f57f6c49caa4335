"""Threads that use a prompt of the library: checked when written, rendered for each
reply, the version recorded on the reply, compared in SQL, exported rendered."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.tools.base import ToolContext, validate_and_run
from api.tools.builtins.model_stats import TOOL as MODEL_STATS
from db.models import LOCAL_PRINCIPAL_ID
from tests.fixtures.app import stream_events
from tests.fixtures.prompts import add_version, create_prompt
from tests.fixtures.threads import create_thread

NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"


async def echoed_system(client: httpx.AsyncClient, thread_id: str) -> tuple[str, dict[str, Any]]:
    """Send an ``[[echo]]`` message: the system prompt the model received, and the reply."""
    result = await stream_events(
        client, "POST", f"/api/threads/{thread_id}/messages", json={"content": "hi [[echo]]"}
    )
    sent = json.loads(result.deltas())
    assert sent[0]["role"] == "system"
    return sent[0]["content"], result.completed()


async def test_a_reply_gets_the_rendered_version_and_records_it(
    client: httpx.AsyncClient,
) -> None:
    prompt = await create_prompt(
        client, "Answer in {{language}}, {{tone}}.", variables={"tone": "briefly"}
    )
    thread = await create_thread(
        client,
        model="fake-small",
        default_system_prompt=False,
        prompt_id=prompt["id"],
        prompt_variables={"language": "French"},
    )
    assert (thread["prompt_id"], thread["prompt_version"]) == (prompt["id"], "latest")
    assert (thread["system_prompt"], thread["prompt_variables"]) == (None, {"language": "French"})

    system, reply = await echoed_system(client, thread["id"])
    assert system == "Answer in French, briefly."
    assert (reply["prompt_id"], reply["prompt_version"]) == (prompt["id"], 1)

    # The thread follows the latest version: the next reply renders and records v2.
    await add_version(
        client, prompt["id"], "Reply in {{language}} ({{tone}}).", variables={"tone": "briefly"}
    )
    system, reply = await echoed_system(client, thread["id"])
    assert system == "Reply in French (briefly)."
    assert reply["prompt_version"] == 2
    stored = (await client.get(f"/api/threads/{thread['id']}/messages/{reply['id']}")).json()
    assert (stored["prompt_id"], stored["prompt_version"]) == (prompt["id"], 2)

    # Pinned to v1 it renders v1 again, and a regeneration records it too.
    pinned = await client.patch(f"/api/threads/{thread['id']}", json={"prompt_version": 1})
    assert pinned.json()["prompt_version"] == 1
    regenerated = await client.post(
        f"/api/threads/{thread['id']}/messages/{reply['id']}/regenerate", json={"stream": False}
    )
    assert regenerated.status_code == 200, regenerated.text
    assert regenerated.json()["assistant_message"]["prompt_version"] == 1


async def test_the_default_prompt_comes_first(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "You are {{who}}.")
    thread = await create_thread(
        client, model="fake-small", prompt_id=prompt["id"], prompt_variables={"who": "terse"}
    )
    system, _ = await echoed_system(client, thread["id"])
    assert system.endswith("---\n\nThread instructions:\nYou are terse.")


async def test_thread_prompt_fields_are_checked_when_written(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "Hello {{name}} from {{place}}", variables={"place": "X"})
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"prompt_id": prompt["id"]}, {"field": "prompt_variables", "missing": ["name"]}),
        (
            {"prompt_id": prompt["id"], "prompt_variables": {"name": "A", "nmae": "B"}},
            {"field": "prompt_variables", "unused": ["nmae"]},
        ),
        ({"prompt_id": NO_SUCH_ID}, {"field": "prompt_id"}),
        (
            {"prompt_id": prompt["id"], "prompt_version": 7, "prompt_variables": {"name": "A"}},
            {"field": "prompt_version"},
        ),
        (
            {"prompt_id": prompt["id"], "prompt_variables": {"name": "A"}, "system_prompt": "x"},
            {"field": "system_prompt"},
        ),
        ({"prompt_variables": {"name": "A"}}, {"field": "prompt_variables"}),
    ]
    for body, extra in cases:
        response = await client.post("/api/threads", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["extra"] == extra, body
    missing = (await client.post("/api/threads", json={"prompt_id": prompt["id"]})).json()
    assert missing["detail"] == "prompt_variables is missing a value for: name"
    unknown = (await client.post("/api/threads", json={"prompt_id": NO_SUCH_ID})).json()
    assert unknown["detail"] == f"prompt {NO_SUCH_ID} not found"


async def test_patch_switches_between_a_literal_prompt_and_the_library(
    client: httpx.AsyncClient,
) -> None:
    prompt = await create_prompt(client, "Be {{mood}}.")
    thread = await create_thread(client, system_prompt="literal")
    url = f"/api/threads/{thread['id']}"
    both = await client.patch(
        url, json={"prompt_id": prompt["id"], "prompt_variables": {"mood": "kind"}}
    )
    assert both.status_code == 400
    assert both.json()["extra"] == {"field": "system_prompt"}
    switched = await client.patch(
        url,
        json={
            "system_prompt": None,
            "prompt_id": prompt["id"],
            "prompt_variables": {"mood": "kind"},
        },
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["prompt_variables"] == {"mood": "kind"}
    extra = await client.patch(url, json={"prompt_variables": {"mood": "kind", "x": "y"}})
    assert extra.json()["extra"] == {"field": "prompt_variables", "unused": ["x"]}
    back = (await client.patch(url, json={"prompt_id": None, "system_prompt": "again"})).json()
    # What the page sends for a thread without a prompt: prompt_id null alongside.
    same = await client.patch(url, json={"prompt_id": None, "system_prompt": "again"})
    assert same.status_code == 200, same.text
    assert (back["system_prompt"], back["prompt_id"], back["prompt_version"]) == (
        "again",
        None,
        None,
    )
    assert back["prompt_variables"] == {}


async def test_a_new_latest_version_needing_another_variable_is_a_400_at_send(
    client: httpx.AsyncClient,
) -> None:
    prompt = await create_prompt(client, "Hi {{a}}")
    thread = await create_thread(
        client, model="fake-small", prompt_id=prompt["id"], prompt_variables={"a": "1"}
    )
    await add_version(client, prompt["id"], "Hi {{a}} and {{b}}")
    url = f"/api/threads/{thread['id']}/messages"
    response = await client.post(url, json={"content": "hello", "stream": False})
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "prompt_variables", "missing": ["b"]}
    # Nothing was stored.
    assert (await client.get(url)).json()["data"] == []


async def test_a_deleted_prompt_keeps_its_threads_and_replies(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "Stay {{x}}.")
    thread = await create_thread(
        client,
        model="fake-small",
        default_system_prompt=False,
        prompt_id=prompt["id"],
        prompt_variables={"x": "calm"},
    )
    _, before = await echoed_system(client, thread["id"])
    assert (await client.delete(f"/api/prompts/{prompt['id']}")).status_code == 204
    system, after = await echoed_system(client, thread["id"])
    assert system == "Stay calm."
    for reply in (before, after):
        stored = (await client.get(f"/api/threads/{thread['id']}/messages/{reply['id']}")).json()
        assert (stored["prompt_id"], stored["prompt_version"]) == (prompt["id"], 1)


async def test_sql_and_model_stats_compare_two_versions_on_one_model(
    client: httpx.AsyncClient,
    db_engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    prompt = await create_prompt(client, "v1 says a lot")
    thread = await create_thread(client, model="fake-small", prompt_id=prompt["id"])
    url = f"/api/threads/{thread['id']}/messages"

    async def send(chunks: int) -> None:
        body = {"content": f"go [[chunks:{chunks}]]", "stream": False}
        answer = await client.post(url, json=body)
        assert answer.status_code == 200, answer.text

    for chunks in (8, 10):
        await send(chunks)
    await add_version(client, prompt["id"], "v2 is terse")
    for chunks in (2, 4):
        await send(chunks)
    # The README's recipe.
    async with db_engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT prompt_version, count(*) AS replies,"
                " avg(completion_tokens)::float AS avg_completion_tokens"
                " FROM message WHERE prompt_id = :prompt AND model = 'fake-small'"
                " AND status = 'completed' GROUP BY prompt_version ORDER BY prompt_version"
            ),
            {"prompt": prompt["id"]},
        )
        found = [tuple(row) for row in rows]
    assert found == [(1, 2, 9.0), (2, 2, 3.0)]

    ctx = ToolContext(
        session_factory=session_factory,
        thread_id=uuid.UUID(thread["id"]),
        owner_id=LOCAL_PRINCIPAL_ID,
    )
    outcome = await validate_and_run(MODEL_STATS, '{"by_prompt_version": true}', ctx)
    assert outcome.error is None
    rows = outcome.output["models"]
    assert [
        (r["model"], r["prompt_id"], r["prompt_version"], r["replies"], r["avg_completion_tokens"])
        for r in sorted(rows, key=lambda r: r["prompt_version"])
    ] == [("fake-small", prompt["id"], 1, 2, 9.0), ("fake-small", prompt["id"], 2, 2, 3.0)]
    assert [r["finish_reasons"] for r in rows] == [{"stop": 2}, {"stop": 2}]
    plain = await validate_and_run(MODEL_STATS, "{}", ctx)
    assert [(r["model"], r["replies"]) for r in plain.output["models"]] == [("fake-small", 4)]
    assert "prompt_version" not in plain.output["models"][0]


async def test_export_carries_the_rendered_prompt_and_imports_back(
    client: httpx.AsyncClient,
) -> None:
    prompt = await create_prompt(client, "Speak {{language}}.")
    thread = await create_thread(
        client, prompt_id=prompt["id"], prompt_variables={"language": "Latin"}
    )
    await client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": "salve", "stream": False}
    )
    exported = await client.get(f"/api/threads/{thread['id']}/export")
    document = exported.json()
    assert document["system_prompt"] == "Speak Latin."
    markdown = await client.get(
        f"/api/threads/{thread['id']}/export", params={"format": "markdown"}
    )
    assert "## System prompt\n\nSpeak Latin." in markdown.text
    chat = await client.get(
        f"/api/threads/{thread['id']}/export", params={"format": "openai-jsonl"}
    )
    assert json.loads(chat.text)["messages"][0]["content"].endswith("Speak Latin.")

    imported = await client.post("/api/threads/import", content=exported.content)
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert (copy["system_prompt"], copy["prompt_id"], copy["prompt_version"]) == (
        "Speak Latin.",
        None,
        None,
    )
    again = (await client.get(f"/api/threads/{copy['id']}/export")).json()
    assert again["system_prompt"] == "Speak Latin."
    assert [m["content"] for m in again["messages"]] == [m["content"] for m in document["messages"]]


async def test_a_fork_keeps_the_prompt(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "Fork {{x}}")
    thread = await create_thread(
        client, prompt_id=prompt["id"], prompt_version=1, prompt_variables={"x": "me"}
    )
    sent = await client.post(
        f"/api/threads/{thread['id']}/messages", json={"content": "a", "stream": False}
    )
    reply = sent.json()["assistant_message"]
    fork = await client.post(f"/api/threads/{thread['id']}/fork", json={"message_id": reply["id"]})
    copy = fork.json()
    assert (copy["prompt_id"], copy["prompt_version"], copy["prompt_variables"]) == (
        prompt["id"],
        1,
        {"x": "me"},
    )
    copied = (await client.get(f"/api/threads/{copy['id']}/messages")).json()["data"][-1]
    assert (copied["prompt_id"], copied["prompt_version"]) == (prompt["id"], 1)


async def test_every_reply_of_a_tool_round_records_the_version(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "Use tools when asked.")
    thread = await create_thread(client, prompt_id=prompt["id"])
    url = f"/api/threads/{thread['id']}/messages"
    sent = await client.post(
        url, json={"content": "What time is it in Europe/Paris?", "stream": False}
    )
    assert sent.status_code == 200, sent.text
    branch = (await client.get(url)).json()["data"]
    replies = [message for message in branch if message["role"] == "assistant"]
    assert len(replies) == 2, "the offline model calls current_time, then answers"
    assert replies[0]["tool_calls"]
    assert [(r["prompt_id"], r["prompt_version"]) for r in replies] == [(prompt["id"], 1)] * 2
