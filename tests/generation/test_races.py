"""The races a soak under faults found: a reaped reply's owner writes nothing more, a
blip does not make a live process look dead, resume reads one snapshot, and cancel
answers with what is stored."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.generation.listener import APPLICATION_PREFIX
from api.generation.supervisor import finish_interrupted
from api.schemas.events import Event
from api.stores.events import append_events, read_progress
from api.stores.generations import GenerationStore
from api.stores.messages import INTERRUPTED_ERROR
from db import models as m
from tests.fixtures.app import send_and_cancel
from tests.fixtures.generations import running_generation
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.threads import create_thread


async def test_a_missing_listen_session_alone_is_not_death(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Neither owner has a LISTEN session; only the one silent past the grace is dead.
    blipped = await running_generation(db_engine, owner="blipped", silent_for=timedelta(0))
    gone = await running_generation(db_engine, owner="gone", silent_for=timedelta(seconds=10))
    async with session_factory() as session:
        dead = await GenerationStore(session).lock_dead(
            "me", lease_s=60, grace_s=5, liveness_prefix=APPLICATION_PREFIX
        )
        found = {generation.id for generation in dead}
        await session.rollback()
    assert gone.generation_id in found
    assert blipped.generation_id not in found


async def test_resume_reads_status_and_events_in_one_snapshot(
    db_engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    generation_id = (
        await running_generation(db_engine, owner="x", silent_for=timedelta(0))
    ).generation_id
    events = [Event(seq=n, name="message.delta", data="{}") for n in range(1, 6)]
    async with session_factory() as session:
        await append_events(session, [(generation_id, events)], owner=None)
        await GenerationStore(session).finish(generation_id)
        await session.commit()
        status, after_two = await read_progress(session, generation_id, 2)
        unknown = await read_progress(session, uuid.uuid4(), 0)
    assert status == "finished"
    assert [event.seq for event in after_two] == [3, 4, 5]
    assert unknown == (None, [])


async def test_a_reaped_reply_is_not_overwritten_by_its_former_owner(
    client: httpx.AsyncClient, db_engine: AsyncEngine, session_factory: Any
) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    seen: list[tuple[str, dict[str, Any]]] = []
    async with aconnect_sse(
        client, "POST", url, json={"content": "long [[chunks:200]] [[slow:10]]"}
    ) as source:
        async for sse in source.aiter_sse():
            seen.append((sse.event, json.loads(sse.data)))
            if sum(name == "message.delta" for name, _ in seen) == 5:
                # Another process takes this live reply for dead and closes it.
                async with session_factory() as session:
                    generation = await session.scalar(
                        select(m.Generation)
                        .where(m.Generation.thread_id == thread["id"])
                        .with_for_update()
                    )
                    await finish_interrupted(session, generation)
                    await session.commit()
    reply_id = next(data["message"]["id"] for name, data in seen if name == "message.created"
                    and data["message"]["role"] == "assistant")  # fmt: skip
    row = await wait_until_settled(db_engine, reply_id)
    assert (row.status, row.error) == ("interrupted", INTERRUPTED_ERROR)
    # The owner's follower ends the way the store says, not with its own "completed".
    completed = [data["message"] for name, data in seen if name == "message.completed"]
    assert [message["status"] for message in completed] == ["interrupted"]
    assert [name for name, _ in seen][-1] == "done"
    # And the owner stored nothing after the reaper: no second "done".
    async with db_engine.connect() as connection:
        dones = await connection.scalar(
            text(
                "SELECT count(*) FROM generation_event e JOIN generation g "
                "ON g.id = e.generation_id WHERE g.thread_id = :t AND e.event = 'done'"
            ),
            {"t": thread["id"]},
        )
    assert dones == 1


async def test_cancel_answers_with_the_stored_status(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    result, cancel, _ = await send_and_cancel(
        client, thread["id"], "go [[chunks:500]] [[slow:10]]", after_deltas=3
    )
    body = cancel.json()
    assert body == {
        "cancelled": True,
        "message_id": result.completed()["id"],
        "status": "cancelled",
    }
    row = await wait_until_settled(db_engine, body["message_id"])
    assert row.status == "cancelled"
    # With nothing running, the 409 names the reply that has ended.
    again = await client.post(f"/api/threads/{thread['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["extra"] == {"message_id": body["message_id"]}
    assert body["message_id"] in again.json()["detail"]
