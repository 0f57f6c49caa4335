"""The psql views of migration 0008, queried as the README's recipes query them, on
rows written by hand so that every number is known."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.migrate import upgrade
from db.models import LOCAL_PRINCIPAL_ID
from tests.fixtures.database import connect

USAGE_COLUMNS = [
    "day",
    "owner_id",
    "model",
    "replies",
    "prompt_tokens",
    "completion_tokens",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "failures",
]
SUMMARY_COLUMNS = [
    "thread_id",
    "owner_id",
    "title",
    "model",
    "messages",
    "branches",
    "created_at",
    "last_activity_at",
    "prompt_tokens",
    "completion_tokens",
    "tokens",
]
ALICE = LOCAL_PRINCIPAL_ID
BOB = uuid.UUID("00000000-0000-0000-0000-0000000000b0")
# 23:30 UTC is already the next day in Europe, still this one in UTC: days are UTC days.
DAY_1 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


async def columns(connection: AsyncConnection, view: str) -> list[str]:
    found = await connection.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = :view ORDER BY ordinal_position"
        ),
        {"view": view},
    )
    return [name for (name,) in found]


async def add_thread(
    connection: AsyncConnection, owner: uuid.UUID, title: str | None = None
) -> uuid.UUID:
    thread_id = uuid.uuid4()
    await connection.execute(
        text("INSERT INTO thread (id, owner_id, title, model) VALUES (:id, :owner, :title, 'm1')"),
        {"id": thread_id, "owner": owner, "title": title},
    )
    return thread_id


async def add_message(
    connection: AsyncConnection, thread_id: uuid.UUID, **fields: Any
) -> uuid.UUID:
    """An assistant reply of model m1 on DAY_1 unless ``fields`` say otherwise."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "thread_id": thread_id,
        "parent_id": None,
        "role": "assistant",
        "status": "completed",
        "model": "m1",
        "prompt_tokens": None,
        "completion_tokens": None,
        "time_to_first_token_ms": None,
        "created_at": DAY_1,
        **fields,
    }
    names = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    await connection.execute(text(f"INSERT INTO message ({names}) VALUES ({values})"), row)
    message_id: uuid.UUID = row["id"]
    return message_id


async def test_usage_daily(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    async with connect(fresh_database_url) as connection:
        await connection.execute(
            text("INSERT INTO principal (id, name) VALUES (:id, 'bob')"), {"id": BOB}
        )
        mine, bobs = await add_thread(connection, ALICE), await add_thread(connection, BOB)
        # Day 1, m1: four replies (time to first token 10, 20, 30 and 40 ms), two of them
        # failures (failed, interrupted); a cancelled one is not a failure.
        for ttft, status in [(10, "completed"), (20, "failed"), (30, "interrupted"), (40, "x")]:
            await add_message(
                connection,
                mine,
                status="cancelled" if status == "x" else status,
                prompt_tokens=100,
                completion_tokens=ttft,
                time_to_first_token_ms=ttft,
            )
        # A reply that never reached its first token counts, without a time.
        await add_message(connection, mine, status="failed", prompt_tokens=5)
        # Not replies of a model: a question, a hand-written answer, a reply still running.
        await add_message(connection, mine, role="user", model=None, prompt_tokens=999)
        await add_message(connection, mine, model=None, completion_tokens=999)
        await add_message(connection, mine, status="in_progress", completion_tokens=999)
        # Day 2 and another model; bob's reply on day 1 is a row of bob's.
        await add_message(
            connection,
            mine,
            model="m2",
            created_at=DAY_2,
            prompt_tokens=7,
            completion_tokens=3,
            time_to_first_token_ms=12.5,
        )
        await add_message(
            connection, bobs, prompt_tokens=1, completion_tokens=2, time_to_first_token_ms=99
        )

        assert await columns(connection, "usage_daily") == USAGE_COLUMNS
        found = await connection.execute(
            text(
                f"SELECT {', '.join(USAGE_COLUMNS)} FROM usage_daily ORDER BY day, owner_id, model"
            )
        )
        assert [tuple(row) for row in found] == [
            (date(2026, 11, 20), ALICE, "m1", 5, 405, 100, 25.0, 38.5, 3),
            (date(2026, 11, 20), BOB, "m1", 1, 1, 2, 99.0, 99.0, 0),
            (date(2026, 11, 21), ALICE, "m2", 1, 7, 3, 12.5, 12.5, 0),
        ]


async def test_thread_summary(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    async with connect(fresh_database_url) as connection:
        tree = await add_thread(connection, ALICE, "A tree")
        empty = await add_thread(connection, ALICE)
        # u1 -> a1                  (the first answer: one leaf)
        #    \-> a2 -> u2 -> a3     (regenerated, then a follow-up: the other leaf)
        #                 \-> a4    (regenerated again: a third leaf)
        u1 = await add_message(connection, tree, role="user", model=None)
        await add_message(connection, tree, parent_id=u1, prompt_tokens=10, completion_tokens=1)
        a2 = await add_message(
            connection, tree, parent_id=u1, prompt_tokens=10, completion_tokens=2
        )
        u2 = await add_message(connection, tree, parent_id=a2, role="user", model=None)
        await add_message(connection, tree, parent_id=u2, prompt_tokens=20, completion_tokens=3)
        await add_message(connection, tree, parent_id=u2, status="in_progress")
        await connection.execute(
            text("UPDATE thread SET last_activity_at = '2026-11-21 10:00+00' WHERE id = :id"),
            {"id": tree},
        )

        assert await columns(connection, "thread_summary") == SUMMARY_COLUMNS
        found = await connection.execute(
            text(
                "SELECT thread_id, owner_id, title, messages, branches, last_activity_at, "
                "prompt_tokens, completion_tokens, tokens FROM thread_summary "
                "ORDER BY last_activity_at DESC"
            )
        )
        rows = [tuple(row) for row in found]
        assert rows[1] == (
            tree,
            ALICE,
            "A tree",
            6,
            3,
            datetime(2026, 11, 21, 10, tzinfo=UTC),
            40,
            6,
            46,
        )
        assert rows[0][:5] == (empty, ALICE, None, 0, 0)
        assert rows[0][6:] == (0, 0, 0)
        # One thread alone, as the README's recipe asks.
        one = await connection.execute(
            text("SELECT messages, branches FROM thread_summary WHERE thread_id = :id"),
            {"id": tree},
        )
        assert [tuple(row) for row in one] == [(6, 3)]
