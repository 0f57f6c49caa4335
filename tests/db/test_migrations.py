"""Migrations: up, down and up again; the result matches the models; the view works."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.migrate import MIGRATION_LOCK_ID, downgrade, schema_differences, upgrade
from db.models import Base
from tests.fixtures.database import connect

# The newest revision in db/migrations/versions.
HEAD = "0013"

VIEW_COLUMNS = [
    "thread_id",
    "position",
    "id",
    "parent_id",
    "role",
    "content",
    "status",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "time_to_first_token_ms",
    "duration_ms",
    "error",
    "created_at",
]


async def rows(connection: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    result = await connection.execute(text(sql), params)
    return [tuple(row) for row in result]


async def relations(url: str) -> dict[str, set[str]]:
    """Tables and views of the public schema, by kind."""
    async with connect(url) as connection:
        found = await rows(
            connection,
            "SELECT table_type, table_name FROM information_schema.tables "
            "WHERE table_schema = 'public'",
        )
    kinds: dict[str, set[str]] = {"BASE TABLE": set(), "VIEW": set()}
    for kind, name in found:
        kinds.setdefault(kind, set()).add(name)
    return kinds


async def functions(url: str) -> set[str]:
    """The functions of the public schema."""
    async with connect(url) as connection:
        found = await rows(
            connection, "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        )
    return {name for (name,) in found}


async def catalog(connection: AsyncConnection) -> dict[str, set[tuple[Any, ...]]]:
    """What Postgres itself says the schema is, minus Alembic's bookkeeping table."""
    return {
        "columns": set(
            await rows(
                connection,
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name IN ('thread', 'message', 'generation', 'generation_event', "
                "'principal', 'api_key', 'principal_usage', 'feed_event', 'model_request', "
                "'prompt', 'prompt_version')",
            )
        ),
        "constraints": set(
            await rows(
                connection,
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                "AND conrelid::regclass::text <> 'alembic_version' "
                # PostgreSQL 18 lists NOT NULL here too; "columns" already covers it.
                "AND contype <> 'n' "
                # The feed's constraint triggers (migration 0010) are not in the models.
                "AND contype <> 't'",
            )
        ),
        "indexes": set(
            await rows(
                connection,
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
            )
        ),
    }


# Every table of the models, Alembic's own, and the views migrations 0001 and 0008 create.
AT_HEAD = {
    "BASE TABLE": {"alembic_version", *Base.metadata.tables},
    "VIEW": {"thread_active_branch", "usage_daily", "thread_summary"},
}


async def test_upgrade_downgrade_upgrade(fresh_database_url: str) -> None:
    url = fresh_database_url

    await asyncio.to_thread(upgrade, url)
    assert await relations(url) == AT_HEAD
    async with connect(url) as connection:
        assert await rows(connection, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert await functions(url) == {
        "playground_send",
        "playground_quota_usage",
        "playground_bump_version",
        "playground_feed_append",
        "playground_feed_thread",
        "playground_feed_child",
        "playground_refuse_update",
    }

    await asyncio.to_thread(downgrade, url, "base")
    # Alembic keeps its (now empty) version table; everything of ours is gone.
    assert await relations(url) == {"BASE TABLE": {"alembic_version"}, "VIEW": set()}
    assert await functions(url) == set()
    async with connect(url) as connection:
        assert await rows(connection, "SELECT version_num FROM alembic_version") == []
        leftovers = await catalog(connection)
        assert leftovers == {"columns": set(), "constraints": set(), "indexes": set()}

    await asyncio.to_thread(upgrade, url)
    assert await relations(url) == AT_HEAD


async def advisory_waiters(connection: AsyncConnection) -> int:
    found = await rows(
        connection,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event = 'advisory'",
    )
    # Statistics views are a snapshot per transaction: end it to see news next time.
    await connection.commit()
    return int(found[0][0])


async def test_concurrent_upgrades_wait_for_each_other(fresh_database_url: str) -> None:
    # Several processes (and threads) may start on one new database at once. Holding
    # the migration lock here makes them all queue up behind it; once released, one
    # creates the schema and the others find nothing left to do.
    url = fresh_database_url
    async with connect(url) as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        await holder.commit()
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", "import sys, db.migrate; db.migrate.upgrade(sys.argv[1])", url
            )
            for _ in range(3)
        ]
        threads = [asyncio.ensure_future(asyncio.to_thread(upgrade, url)) for _ in range(2)]
        # Threads of one process take turns before reaching the database, so one of
        # the two waits there, beside the three processes.
        for _ in range(600):
            if await advisory_waiters(holder) >= 4:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the upgrades never queued up behind the migration lock")
        assert "thread" not in (await relations(url))["BASE TABLE"]
        await holder.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        await holder.commit()

    assert [await process.wait() for process in processes] == [0, 0, 0]
    await asyncio.gather(*threads)
    async with connect(url) as connection:
        assert await rows(connection, "SELECT version_num FROM alembic_version") == [(HEAD,)]


async def test_upgrade_from_a_running_event_loop(fresh_database_url: str) -> None:
    # A direct call from async code still works (it blocks this loop meanwhile).
    upgrade(fresh_database_url)
    assert "thread" in (await relations(fresh_database_url))["BASE TABLE"]


async def test_autogenerate_finds_no_difference(migrated_database_url: str) -> None:
    async with connect(migrated_database_url) as connection:
        differences = await connection.run_sync(schema_differences)
    assert differences == []
    # The view exists and is left alone, not reported as an extra table to drop.
    assert "thread_active_branch" in (await relations(migrated_database_url))["VIEW"]


async def test_catalog_matches_create_all(
    migrated_database_url: str, fresh_database_url: str
) -> None:
    # Autogenerate does not compare CHECK constraints or partial-index predicates;
    # Postgres's own rendering of both schemas does.
    async with connect(fresh_database_url) as connection:
        await connection.run_sync(Base.metadata.create_all)
        from_models = await catalog(connection)
    async with connect(migrated_database_url) as connection:
        from_migrations = await catalog(connection)

    assert from_migrations == from_models
    constraint_names = {name for _, name, _ in from_migrations["constraints"]}
    assert {
        "pk_thread",
        "pk_message",
        "fk_thread_head_id_message",
        "fk_message_thread_id_thread",
        "fk_message_parent_id_message",
        "ck_message_role",
        "ck_message_status",
        "ck_message_not_own_parent",
        "ck_message_variant",
        "pk_generation",
        "pk_generation_event",
        "fk_generation_thread_id_thread",
        "fk_generation_message_id_message",
        "fk_generation_event_generation_id_generation",
        "ck_generation_status",
        "fk_generation_principal_id_principal",
        "pk_principal",
        "ck_principal_role",
        "pk_api_key",
        "uq_api_key_secret_hash",
        "fk_api_key_principal_id_principal",
        "pk_principal_usage",
        "fk_principal_usage_principal_id_principal",
        "fk_thread_owner_id_principal",
        "pk_feed_event",
        "ck_feed_event_kind",
        "pk_model_request",
        "fk_model_request_message_id_message",
        "fk_model_request_thread_id_thread",
        "pk_prompt",
        "fk_prompt_owner_id_principal",
        "pk_prompt_version",
        "fk_prompt_version_prompt_id_prompt",
        "ck_prompt_version_positive",
        "fk_thread_prompt_id_prompt",
        "fk_thread_prompt_id_prompt_version",
        "fk_message_prompt_id_prompt_version",
    } == constraint_names
    indexes = {name: definition for _, name, definition in from_migrations["indexes"]}
    assert (
        "WHERE (status = 'in_progress'::text)"
        in indexes["uq_message_thread_id_variant_in_progress"]
    )
    assert indexes["uq_message_thread_id_variant_in_progress"].startswith("CREATE UNIQUE INDEX")
    assert "WHERE (status = 'running'::text)" in indexes["uq_generation_thread_id_running"]


async def test_head_delete_sets_thread_head_null(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    thread_id, message_id = uuid.uuid4(), uuid.uuid4()
    async with connect(fresh_database_url) as connection:
        await connection.execute(
            text("INSERT INTO thread (id, model) VALUES (:id, 'm')"), {"id": thread_id}
        )
        await connection.execute(
            text("INSERT INTO message (id, thread_id, role) VALUES (:id, :thread_id, 'user')"),
            {"id": message_id, "thread_id": thread_id},
        )
        await connection.execute(
            text("UPDATE thread SET head_id = :head WHERE id = :id"),
            {"head": message_id, "id": thread_id},
        )
        await connection.execute(text("DELETE FROM message WHERE id = :id"), {"id": message_id})
        head = await rows(connection, "SELECT head_id FROM thread WHERE id = :id", id=thread_id)
    assert head == [(None,)]


async def test_active_branch_view(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url)
    ids = {name: uuid.uuid4() for name in ["t1", "t2", "t3", "sys", "u1", "a1", "a2", "u2", "u3"]}
    ids["b1"] = uuid.uuid4()
    # t1:  sys -> u1 -> a1 -> u3        (older answer, with a follow-up)
    #                 \-> a2 -> u2      (regenerated answer; the active branch)
    # t2:  b1 (one message);  t3: no messages, no head.
    messages = [
        ("sys", "t1", None, "system", "be brief"),
        ("u1", "t1", "sys", "user", "hi"),
        ("a1", "t1", "u1", "assistant", "hello v1"),
        ("a2", "t1", "u1", "assistant", "hello v2"),
        ("u2", "t1", "a2", "user", "thanks v2"),
        ("u3", "t1", "a1", "user", "thanks v1"),
        ("b1", "t2", None, "user", "other thread"),
    ]
    async with connect(fresh_database_url) as connection:
        for thread in ("t1", "t2", "t3"):
            await connection.execute(
                text("INSERT INTO thread (id, model) VALUES (:id, 'offline')"),
                {"id": ids[thread]},
            )
        for name, thread, parent, role, content in messages:
            await connection.execute(
                text(
                    "INSERT INTO message (id, thread_id, parent_id, role, content, model)"
                    " VALUES (:id, :thread_id, :parent_id, :role, :content, 'offline')"
                ),
                {
                    "id": ids[name],
                    "thread_id": ids[thread],
                    "parent_id": ids[parent] if parent else None,
                    "role": role,
                    "content": content,
                },
            )
        for thread, head in (("t1", "u2"), ("t2", "b1")):
            await connection.execute(
                text("UPDATE thread SET head_id = :head WHERE id = :id"),
                {"head": ids[head], "id": ids[thread]},
            )

        columns = await rows(
            connection,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'thread_active_branch' ORDER BY ordinal_position",
        )
        assert [name for (name,) in columns] == VIEW_COLUMNS

        branch_sql = (
            "SELECT position, id, parent_id, role, content FROM thread_active_branch "
            "WHERE thread_id = :thread_id ORDER BY position"
        )
        names = {value: key for key, value in ids.items()}

        async def branch(thread: str) -> list[tuple[int, str, str | None, str, str]]:
            found = await rows(connection, branch_sql, thread_id=ids[thread])
            return [
                (position, names[id_], names.get(parent_id), role, content)
                for position, id_, parent_id, role, content in found
            ]

        assert await branch("t1") == [
            (1, "sys", None, "system", "be brief"),
            (2, "u1", "sys", "user", "hi"),
            (3, "a2", "u1", "assistant", "hello v2"),
            (4, "u2", "a2", "user", "thanks v2"),
        ]
        assert await branch("t2") == [(1, "b1", None, "user", "other thread")]
        assert await branch("t3") == []

        # Switching the head to the other leaf switches the branch.
        await connection.execute(
            text("UPDATE thread SET head_id = :head WHERE id = :id"),
            {"head": ids["u3"], "id": ids["t1"]},
        )
        assert [(pos, name) for pos, name, *_ in await branch("t1")] == [
            (1, "sys"),
            (2, "u1"),
            (3, "a1"),
            (4, "u3"),
        ]

        # Without a thread filter, the view lists every thread's branch.
        everything = await rows(
            connection, "SELECT thread_id, count(*) FROM thread_active_branch GROUP BY thread_id"
        )
        assert dict(everything) == {ids["t1"]: 4, ids["t2"]: 1}


async def test_0005_turns_json_null_tool_calls_into_sql_null(fresh_database_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_database_url, "0004")
    thread_id = uuid.uuid4()
    stored = {"json null": "null", "calls": '[{"id": "call_1"}]', "sql null": None}
    ids = {name: uuid.uuid4() for name in stored}
    async with connect(fresh_database_url) as connection:
        await connection.execute(
            text("INSERT INTO thread (id, model) VALUES (:id, 'm')"), {"id": thread_id}
        )
        for name, value in stored.items():
            await connection.execute(
                text(
                    "INSERT INTO message (id, thread_id, role, tool_calls)"
                    " VALUES (:id, :thread_id, 'assistant', CAST(:calls AS jsonb))"
                ),
                {"id": ids[name], "thread_id": thread_id, "calls": value},
            )
        await connection.commit()
    sql = "SELECT id, tool_calls IS NULL, jsonb_typeof(tool_calls) FROM message"
    names = {value: key for key, value in ids.items()}

    async def spellings() -> dict[str, tuple[bool, str | None]]:
        async with connect(fresh_database_url) as connection:
            return {names[id_]: (null, kind) for id_, null, kind in await rows(connection, sql)}

    assert (await spellings())["json null"] == (False, "null")
    await asyncio.to_thread(upgrade, fresh_database_url)
    after = {"json null": (True, None), "calls": (False, "array"), "sql null": (True, None)}
    assert await spellings() == after
    # Down again changes no data.
    await asyncio.to_thread(downgrade, fresh_database_url, "0004")
    assert await spellings() == after
