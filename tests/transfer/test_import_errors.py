"""Bad documents are a 400 naming the JSON path of the problem, and store nothing."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import app_settings_env, serve

LIMITS = {"PLAYGROUND_IMPORT_MAX_MESSAGES": "6", "PLAYGROUND_IMPORT_MAX_BYTES": "4096"}
Doc = dict[str, Any]


def call(call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "calculator", "arguments": "{}"},
    }


def valid() -> Doc:
    """A small v1 document: a question, a tool round, an answer."""
    return {
        "format": "playground.thread/v1",
        "model": "offline",
        "tools": ["calculator"],
        "head_id": "a2",
        "messages": [
            {"id": "u1", "role": "user", "content": "what is 2+2"},
            {"id": "a1", "parent_id": "u1", "role": "assistant", "tool_calls": [call("c1")]},
            {"id": "t1", "parent_id": "a1", "role": "tool", "tool_call_id": "c1", "content": "4"},
            {"id": "a2", "parent_id": "t1", "role": "assistant", "content": "4."},
        ],
    }


def changed(change: Callable[[Doc], object]) -> Doc:
    document = copy.deepcopy(valid())
    change(document)
    return document


def chat(*turns: dict[str, Any]) -> Doc:
    return {"messages": list(turns)}


CASES: list[tuple[str, Doc | bytes, str]] = [
    ("malformed JSON", b'{"messages": [', "$"),
    ("not an object", b"[]", "$"),
    ("unknown format", changed(lambda d: d.update(format="playground.thread/v9")), "$.format"),
    (
        "cycle",
        changed(
            lambda d: d["messages"].extend(
                [
                    {"id": "x", "parent_id": "y", "role": "user", "content": "x"},
                    {"id": "y", "parent_id": "x", "role": "user", "content": "y"},
                ]
            )
        ),
        "$.messages[4].parent_id",
    ),
    (
        "dangling parent",
        changed(lambda d: d["messages"][3].update(parent_id="nowhere")),
        "$.messages[3].parent_id",
    ),
    ("id used twice", changed(lambda d: d["messages"][2].update(id="u1")), "$.messages[2].id"),
    (
        "unknown role",
        changed(lambda d: d["messages"][0].update(role="robot")),
        "$.messages[0].role",
    ),
    (
        "tool result without its call",
        changed(lambda d: d["messages"][2].update(tool_call_id="c9")),
        "$.messages[2].tool_call_id",
    ),
    (
        "tool result on another branch than its call",
        changed(
            lambda d: d["messages"].append(
                {"id": "t2", "parent_id": "u1", "role": "tool", "tool_call_id": "c1"}
            )
        ),
        "$.messages[4].tool_call_id",
    ),
    (
        "tool result after another turn",
        changed(
            lambda d: (
                d["messages"][2].update(parent_id="x")
                or d["messages"].insert(2, {"id": "x", "parent_id": "a1", "role": "user"})
            )
        ),
        "$.messages[3].tool_call_id",
    ),
    ("head nowhere", changed(lambda d: d.update(head_id="zz")), "$.head_id"),
    ("unknown field", changed(lambda d: d["messages"][1].update(colour="red")), "$.messages[1]"),
    ("unknown tool", changed(lambda d: d.update(tools=["calculator", "nope"])), "$.tools[1]"),
    (
        "NUL character",
        changed(lambda d: d["messages"][0].update(content="a\x00b")),
        "$.messages[0].content",
    ),
    (
        "too many messages",
        changed(
            lambda d: d["messages"].extend(
                {"id": f"n{i}", "parent_id": "u1", "role": "user", "content": "n"} for i in range(3)
            )
        ),
        "$.messages",
    ),
    (
        "too many bytes",
        changed(lambda d: d["messages"][0].update(content="x" * 5000)),
        "$",
    ),
    (
        "chat: unknown role",
        chat({"role": "user", "content": "hi"}, {"role": "bot"}),
        "$.messages[1].role",
    ),
    (
        "chat: tool result without its call",
        chat(
            {"role": "system", "content": "s"},
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "c1", "content": "4"},
        ),
        "$.messages[2].tool_call_id",
    ),
    (
        "chat: a function without parameters",
        chat({"role": "user", "content": "hi"})
        | {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
        "$.tools[0].function",
    ),
    (
        "chat: a tool that is not a function",
        chat({"role": "user", "content": "hi"}) | {"tools": [{"type": "x"}]},
        "$.tools[0]",
    ),
]


@pytest.fixture(scope="module")
async def small_limits_app(
    migrated_database_url: str, fake_upstream_url: str
) -> AsyncIterator[str]:
    """The API with small import limits."""
    app = create_app(
        migrated_database_url, load_settings(app_settings_env(fake_upstream_url, LIMITS))
    )
    async for base_url in serve(app):
        yield base_url


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT (SELECT count(*) FROM thread), (SELECT count(*) FROM message)")
            )
        ).one()
    return int(row[0]), int(row[1])


@pytest.mark.parametrize(("case", "document", "path"), CASES, ids=[case[0] for case in CASES])
async def test_a_bad_document_is_a_400_naming_its_path_and_stores_nothing(
    small_limits_app: str, db_engine: AsyncEngine, case: str, document: Doc | bytes, path: str
) -> None:
    body = document if isinstance(document, bytes) else msgspec.json.encode(document)
    before = await counts(db_engine)
    async with httpx.AsyncClient(base_url=small_limits_app, timeout=30) as http:
        response = await http.post(
            "/api/threads/import", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["extra"]["field"] == path
    assert path in answer["detail"]
    assert await counts(db_engine) == before


async def test_the_valid_document_of_the_matrix_imports(
    small_limits_app: str, db_engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient(base_url=small_limits_app, timeout=30) as http:
        response = await http.post("/api/threads/import", json=valid())
        assert response.status_code == 201, response.text
        thread = response.json()
        branch = (await http.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["content"] for m in branch] == ["what is 2+2", "", "4", "4."]
    assert thread["head_id"] == branch[-1]["id"]


async def test_several_first_messages_are_alternatives_at_the_root(
    small_limits_app: str,
) -> None:
    """The tree allows several roots (a new first message, ``parent_id: "root"``), so
    the v1 format does too; a chat document is one branch and cannot have two."""
    document = valid()
    document["messages"].append({"id": "u2", "role": "user", "content": "Another start"})
    document["head_id"] = "u2"
    async with httpx.AsyncClient(base_url=small_limits_app, timeout=30) as http:
        thread = (await http.post("/api/threads/import", json=document)).json()
        branch = (await http.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["content"] for m in branch] == ["Another start"]
    assert len(branch[0]["sibling_ids"]) == 2
