"""Following and cancelling the generation in flight in a thread."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.generation.listener import Notifications, liveness_name
from api.generation.supervisor import Supervisor
from api.settings import load_settings
from db.engine import create_session_factory
from scripts.fake_upstream import reply_text
from tests.fixtures.app import RunningApp, send_and_cancel, send_and_disconnect, stream_events
from tests.fixtures.messages import wait_until_settled
from tests.fixtures.threads import create_thread


async def test_cancel_keeps_the_partial_reply(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, model="fake-small")
    result, cancel, _ = await send_and_cancel(
        client, thread["id"], "go [[chunks:500]] [[slow:10]]", after_deltas=3
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["cancelled"] is True
    completed = result.completed()
    assert result.names()[-2:] == ["message.completed", "done"]
    assert completed["status"] == "cancelled"
    assert completed["content"] == result.deltas()
    assert result.names().count("message.delta") < 500
    row = await wait_until_settled(db_engine, completed["id"])
    assert row.status == "cancelled"
    assert row.content == result.deltas()
    # The thread takes a new message right away.
    url = f"/api/threads/{thread['id']}/messages"
    again = await stream_events(client, "POST", url, json={"content": "again [[chunks:3]]"})
    assert again.completed()["status"] == "completed"


async def test_cancel_with_nothing_running_is_a_409(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    response = await client.post(f"/api/threads/{thread['id']}/cancel")
    assert response.status_code == 409
    assert "nothing is being generated" in response.json()["detail"]


@pytest.mark.parametrize(
    ("chunks", "pace"),
    [(40, "[[slow:10]]"), (3000, "[[slow:0]]")],
    ids=["chunk by chunk", "coalesced"],
)
async def test_follow_resumes_after_last_event_id(
    client: httpx.AsyncClient, chunks: int, pace: str
) -> None:
    thread = await create_thread(client, model="fake-small")
    first_part, last_id, _ = await send_and_disconnect(
        client, thread["id"], f"resume [[chunks:{chunks}]] {pace}", stop_after_deltas=5
    )
    resumed = await stream_events(
        client, "GET", f"/api/threads/{thread['id']}/stream", headers={"Last-Event-ID": last_id}
    )
    assert resumed.status_code == 200
    # Ids go on from the last one seen (a frame merging deltas that were waiting
    # carries the id of the last of them), and the text is exactly the rest.
    seqs = [int(event.id.rsplit(":", 1)[1]) for event in resumed.events]
    assert seqs == sorted(set(seqs))
    assert seqs[0] > int(last_id.rsplit(":", 1)[1])
    assert "".join(first_part) + resumed.deltas() == reply_text(chunks)
    assert resumed.names()[-2:] == ["message.completed", "done"]
    if chunks == 3000:
        # Chunks with no pause between them went out several to a delta.
        assert len(first_part) + resumed.names().count("message.delta") < chunks


async def test_coalesced_deltas_resume_exactly_from_any_id(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}"
    sent = await stream_events(
        client, "POST", f"{url}/messages", json={"content": "fast [[chunks:3000]] [[slow:0]]"}
    )
    seqs = [int(event.id.rsplit(":", 1)[1]) for event in sent.events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sent.names().count("message.delta") < 3000
    assert sent.deltas() == sent.completed()["content"] == reply_text(3000)
    # Every fifth id and the last few before ``done`` (after which the closing events
    # come again, so a client reconnecting then still ends): exactly what followed.
    last = len(sent.events) - 1
    for index in sorted({*range(0, last, 5), last - 2, last - 1}):
        resumed = await stream_events(
            client, "GET", f"{url}/stream", headers={"Last-Event-ID": sent.events[index].id}
        )
        rest = sent.events[index + 1 :]
        assert [event.id for event in resumed.events] == [event.id for event in rest]
        assert resumed.deltas() == "".join(
            e.data["content"] for e in rest if e.event == "message.delta"
        )


async def test_a_follower_behind_gets_merged_deltas_with_ids_of_the_log(
    client: httpx.AsyncClient,
) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}"
    body = {"content": "paced [[chunks:300]] [[slow:3]]"}
    async with aconnect_sse(client, "POST", f"{url}/messages", json=body) as source:
        first: list[ServerSentEvent] = []
        async for sse in source.aiter_sse():
            first.append(sse)
            if len(first) == 60:
                break
        # Joining after 58 deltas: they are waiting for it, and go out as one frame.
        late = await stream_events(
            client, "GET", f"{url}/stream", headers={"Last-Event-ID": first[1].id}
        )
    whole = late.deltas()
    assert whole == reply_text(300) == late.completed()["content"]
    deltas = [event for event in late.events if event.event == "message.delta"]
    # All the deltas it had missed came as one frame.
    missed = "".join(event.json()["content"] for event in first[2:])
    assert deltas[0].data["content"].startswith(missed)
    # The merged frame carries the id of its last event; resuming from it is exact.
    merged_id = deltas[0].id
    resumed = await stream_events(
        client, "GET", f"{url}/stream", headers={"Last-Event-ID": merged_id}
    )
    assert deltas[0].data["content"] + resumed.deltas() == reply_text(300)


async def test_follow_with_nothing_running_is_a_204(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    response = await client.get(f"/api/threads/{thread['id']}/stream")
    assert response.status_code == 204
    assert response.content == b""


async def test_second_send_while_generating_is_a_409(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    async with aconnect_sse(
        client, "POST", url, json={"content": "busy [[chunks:100]] [[slow:10]]"}
    ) as source:
        events = source.aiter_sse()
        await anext(events)
        running = (await anext(events)).json()["message"]
        rejected = await client.post(url, json={"content": "me too"})
        assert rejected.status_code == 409
        assert running["id"] in rejected.json()["detail"]
        await client.post(f"/api/threads/{thread['id']}/cancel")
        async for _ in events:
            pass
    branch = (await client.get(url)).json()["data"]
    assert "me too" not in [m["content"] for m in branch]
    assert reply_text(100) != branch[-1]["content"]


async def test_finished_generations_are_pruned_after_the_retention(
    client: httpx.AsyncClient, db_engine: AsyncEngine, migrated_database_url: str
) -> None:
    thread = await create_thread(client, model="fake-small")
    url = f"/api/threads/{thread['id']}/messages"
    result = await stream_events(client, "POST", url, json={"content": "old [[chunks:3]]"})
    generation_id = result.events[0].id.rsplit(":", 1)[0]
    async with db_engine.begin() as conn:
        await conn.execute(
            text("UPDATE generation SET finished_at = now() - interval '2 hours' WHERE id = :g"),
            {"g": generation_id},
        )
    session_factory = create_session_factory(db_engine)
    # Pruning needs no LISTEN connection: the notifications are never connected.
    notifications = Notifications(migrated_database_url, "pruner")
    supervisor = Supervisor(session_factory, "pruner", load_settings({}).generation, notifications)
    await supervisor.prune()
    async with db_engine.connect() as conn:
        left = (
            await conn.execute(
                text("SELECT count(*) FROM generation_event WHERE generation_id = :g"),
                {"g": generation_id},
            )
        ).scalar_one()
    assert left == 0
    # The messages stay; resuming the pruned generation finds nothing to follow.
    branch = (await client.get(url)).json()["data"]
    assert branch[-1]["content"] == result.deltas()
    resumed = await client.get(
        f"/api/threads/{thread['id']}/stream", headers={"Last-Event-ID": result.events[2].id}
    )
    assert resumed.status_code == 204


async def test_lost_listen_connection_is_reopened(
    running_app: RunningApp, db_engine: AsyncEngine
) -> None:
    # Without its LISTEN session a process looks dead to the others' reapers.
    name = liveness_name(running_app.app.state.instance_id)
    query = text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
    async with db_engine.connect() as conn:
        old_pid = (await conn.execute(query, {"name": name})).scalar_one()
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": old_pid})
    async with asyncio.timeout(10):
        while True:
            async with db_engine.connect() as conn:
                pid = (await conn.execute(query, {"name": name})).scalar_one_or_none()
            if pid is not None and pid != old_pid:
                break
            await asyncio.sleep(0.1)
