"""The demo data: stored once however often ``seed`` runs, with a branch and a regenerate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from api.settings import OFFLINE_MODEL, load_settings
from scripts.seed import DEMO_THREADS, seed
from tests.fixtures.database import connect

DEMO_KEYS = sorted(demo.key for demo in DEMO_THREADS)


async def _run_seed(url: str) -> int:
    # seed() runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(seed, url, load_settings({}))


@pytest.fixture
async def seeded_url(migrated_database_url: str) -> str:
    """The session database with the demo threads in it (seeding again is a no-op)."""
    assert await _run_seed(migrated_database_url) == 0
    return migrated_database_url


@pytest.fixture
async def conn(seeded_url: str) -> AsyncIterator[AsyncConnection]:
    async with connect(seeded_url) as connection:
        yield connection


async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await conn.execute(text(sql), params)
    return [dict(row) for row in result.mappings()]


async def _counts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Each demo thread's key, id and number of messages."""
    return await _rows(
        conn,
        """
        SELECT t.metadata->>'seed' AS key, t.id, count(m.id) AS messages
        FROM thread AS t LEFT JOIN message AS m ON m.thread_id = t.id
        WHERE t.metadata ? 'seed'
        GROUP BY t.id
        ORDER BY key
        """,
    )


async def test_second_run_stores_nothing(
    migrated_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _run_seed(migrated_database_url) == 0
    async with connect(migrated_database_url) as connection:
        before = await _counts(connection)
    capsys.readouterr()

    assert await _run_seed(migrated_database_url) == 0
    out = capsys.readouterr().out
    async with connect(migrated_database_url) as connection:
        after = await _counts(connection)

    assert f"seeded 0 threads, skipped {len(DEMO_THREADS)} existing" in out
    assert after == before
    assert [row["key"] for row in after] == DEMO_KEYS


async def test_demo_threads_exist_once_each(conn: AsyncConnection) -> None:
    rows = await _rows(
        conn,
        """
        SELECT metadata->>'seed' AS key, count(*) AS n,
               bool_and(title IS NOT NULL AND system_prompt IS NOT NULL) AS described
        FROM thread WHERE metadata ? 'seed' GROUP BY 1 ORDER BY 1
        """,
    )
    assert [row["key"] for row in rows] == DEMO_KEYS
    assert all(row["n"] == 1 and row["described"] for row in rows)


async def test_a_reply_was_regenerated(conn: AsyncConnection) -> None:
    rows = await _rows(
        conn,
        """
        SELECT p.id, count(*) AS versions, count(DISTINCT c.content) AS texts,
               bool_and(
                   c.status = 'completed' AND c.model = :model
                   AND c.prompt_tokens > 0 AND c.completion_tokens > 0
                   AND c.finish_reason IS NOT NULL AND c.time_to_first_token_ms > 0
                   AND c.duration_ms >= c.time_to_first_token_ms
                   AND c.completed_at > c.created_at AND c.content <> ''
               ) AS complete
        FROM message AS p
        JOIN thread AS t ON t.id = p.thread_id AND t.metadata ? 'seed'
        JOIN message AS c ON c.parent_id = p.id AND c.role = 'assistant'
        WHERE p.role = 'user'
        GROUP BY p.id
        HAVING count(*) >= 2
        """,
        model=OFFLINE_MODEL,
    )
    assert rows, "no user message has two assistant replies"
    assert all(row["complete"] for row in rows)
    # A regenerate with other sampling parameters gets other words from the offline model.
    assert all(row["texts"] == row["versions"] for row in rows)


async def test_a_conversation_branches(conn: AsyncConnection) -> None:
    rows = await _rows(
        conn,
        """
        SELECT p.id, count(DISTINCT c.content) AS questions
        FROM message AS p
        JOIN thread AS t ON t.id = p.thread_id AND t.metadata ? 'seed'
        JOIN message AS c ON c.parent_id = p.id AND c.role = 'user'
        WHERE p.role = 'assistant'
        GROUP BY p.id
        HAVING count(*) >= 2
        """,
    )
    assert rows, "no assistant reply has two user follow-ups"
    assert all(row["questions"] >= 2 for row in rows)


async def test_every_head_is_a_leaf_of_a_user_led_branch(conn: AsyncConnection) -> None:
    threads = await _rows(
        conn,
        """
        SELECT t.id, t.head_id, t.last_activity_at,
               EXISTS (SELECT 1 FROM message AS c WHERE c.parent_id = t.head_id) AS has_children
        FROM thread AS t WHERE t.metadata ? 'seed'
        """,
    )
    assert len(threads) == len(DEMO_THREADS)
    for thread in threads:
        assert thread["head_id"] is not None
        assert not thread["has_children"], "the head must be the leaf of its branch"
        branch = await _rows(
            conn,
            """
            SELECT position, id, role, created_at FROM thread_active_branch
            WHERE thread_id = :thread_id ORDER BY position
            """,
            thread_id=thread["id"],
        )
        assert len(branch) >= 2
        assert branch[0]["role"] in ("user", "system")
        assert branch[-1]["id"] == thread["head_id"]
        assert [row["position"] for row in branch] == list(range(1, len(branch) + 1))
        times = [row["created_at"] for row in branch]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert thread["last_activity_at"] >= times[-1]


async def test_message_timestamps_are_distinct_per_thread(conn: AsyncConnection) -> None:
    rows = await _rows(
        conn,
        """
        SELECT m.thread_id, count(*) AS n, count(DISTINCT m.created_at) AS distinct_times,
               bool_and(p.id IS NULL OR p.created_at < m.created_at) AS after_parent
        FROM message AS m
        JOIN thread AS t ON t.id = m.thread_id AND t.metadata ? 'seed'
        LEFT JOIN message AS p ON p.id = m.parent_id
        GROUP BY m.thread_id
        """,
    )
    assert len(rows) == len(DEMO_THREADS)
    assert all(row["n"] == row["distinct_times"] and row["after_parent"] for row in rows)
