"""The request log is kept forever by default, or pruned after its own retention."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.generation.listener import Notifications
from api.generation.supervisor import Supervisor
from api.settings import load_settings
from db.engine import create_session_factory
from tests.fixtures.threads import create_thread
from tests.requests.test_request_log import send


async def logged_ids(db_engine: AsyncEngine, thread_id: str) -> list[str]:
    async with db_engine.connect() as conn:
        found = await conn.execute(
            text("SELECT message_id::text FROM model_request WHERE thread_id = :t ORDER BY id"),
            {"t": thread_id},
        )
        return [message_id for (message_id,) in found]


async def prune(db_engine: AsyncEngine, database_url: str, env: dict[str, str]) -> None:
    # Pruning needs no LISTEN connection: the notifications are never connected.
    notifications = Notifications(database_url, "pruner")
    settings = load_settings(env).generation
    await Supervisor(create_session_factory(db_engine), "pruner", settings, notifications).prune()


async def test_calls_older_than_the_retention_are_pruned_and_their_replies_stay(
    api: httpx.AsyncClient, db_engine: AsyncEngine, migrated_database_url: str
) -> None:
    thread = await create_thread(api, model="fake-small")
    old = await send(api, thread, "old [[chunks:2]]")
    new = await send(api, thread, "new [[chunks:2]]")
    async with db_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE model_request SET created_at = now() - interval '3 days'"
                " WHERE message_id = :m"
            ),
            {"m": old["id"]},
        )

    # Unset: kept forever.
    await prune(db_engine, migrated_database_url, {})
    assert await logged_ids(db_engine, thread["id"]) == [old["id"], new["id"]]

    await prune(db_engine, migrated_database_url, {"PLAYGROUND_REQUEST_LOG_RETENTION_DAYS": "2"})

    assert await logged_ids(db_engine, thread["id"]) == [new["id"]]
    gone = await api.get(f"/api/threads/{thread['id']}/messages/{old['id']}/request")
    assert gone.status_code == 404
    assert "pruned after PLAYGROUND_REQUEST_LOG_RETENTION_DAYS" in gone.json()["detail"]
    reply = await api.get(f"/api/threads/{thread['id']}/messages/{old['id']}")
    assert reply.json()["content"] == old["content"]
