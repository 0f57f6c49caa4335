"""``message.tool_calls`` is SQL NULL on rows without calls, never JSON ``null``.

One spelling of "no calls" keeps ``WHERE tool_calls IS NULL`` (and ``jsonb_typeof``)
truthful for every row, whichever path wrote it: a send, a tool round, a fork.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import stream_events
from tests.fixtures.threads import create_thread


async def tool_calls_by_row(engine: AsyncEngine, thread_id: str) -> list[tuple[Any, ...]]:
    """(role, tool_calls IS NULL, jsonb_typeof(tool_calls)) of each row, oldest first."""
    async with engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT role, tool_calls IS NULL, jsonb_typeof(tool_calls) FROM message "
                "WHERE thread_id = :thread ORDER BY created_at"
            ),
            {"thread": thread_id},
        )
        return [tuple(row) for row in result]


async def send(client: httpx.AsyncClient, thread: dict[str, Any], content: str) -> None:
    url = f"/api/threads/{thread['id']}/messages"
    result = await stream_events(client, "POST", url, json={"content": content})
    assert result.completed()["status"] == "completed"


async def test_a_plain_reply_has_sql_null(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, tools=[])
    await send(client, thread, "Hello there")
    assert await tool_calls_by_row(db_engine, thread["id"]) == [
        ("user", True, None),
        ("assistant", True, None),
    ]


async def test_a_tool_round_has_an_array_then_sql_null(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, tools=["calculator"])
    await send(client, thread, "what is 6*7")
    assert await tool_calls_by_row(db_engine, thread["id"]) == [
        ("user", True, None),
        ("assistant", False, "array"),
        ("tool", True, None),
        ("assistant", True, None),
    ]
    # A fork copies each row's column as it is.
    head = (await client.get(f"/api/threads/{thread['id']}")).json()["head_id"]
    response = await client.post(f"/api/threads/{thread['id']}/fork", json={"message_id": head})
    assert response.status_code == 201, response.text
    assert await tool_calls_by_row(db_engine, response.json()["id"]) == [
        ("user", True, None),
        ("assistant", False, "array"),
        ("tool", True, None),
        ("assistant", True, None),
    ]
    # params too: user and tool rows have none, and a fork must not turn that into JSON.
    async with db_engine.connect() as connection:
        spelled = await connection.scalar(
            text(
                "SELECT count(*) FROM message WHERE thread_id = :thread AND params = 'null'::jsonb"
            ),
            {"thread": response.json()["id"]},
        )
    assert spelled == 0
