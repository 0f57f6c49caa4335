"""A reply is ``completed`` only when the model server says it is finished.

Each fault is played by the fake upstream (a separate process): a stream that ends
cleanly but early (no finish reason, no ``[DONE]``), one that ends without ``[DONE]``,
one that stalls, and the finish reasons ``length`` and ``content_filter``; a 429 with
``Retry-After`` is retried after at least that long. What is checked is what a client
sees and what is stored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.generation.pipeline import EARLY_END
from api.settings import load_settings
from scripts.fake_upstream import reply_text, reply_words
from tests.fixtures.app import SSEResult, app_settings_env, serve, stream_events
from tests.fixtures.threads import create_thread
from tests.fixtures.upstream import DEFAULT_CHUNKS

IDLE_S = 0.5


@pytest.fixture(scope="module")
async def impatient(migrated_database_url: str, fake_upstream_url: str) -> AsyncIterator[str]:
    """An app that gives the model server half a second of silence, and one retry."""
    env = {
        "PLAYGROUND_UPSTREAM_IDLE_TIMEOUT_S": str(IDLE_S),
        "PLAYGROUND_UPSTREAM_MAX_RETRIES": "1",
    }
    app = create_app(migrated_database_url, load_settings(app_settings_env(fake_upstream_url, env)))
    async for base_url in serve(app):
        yield base_url


async def send(base_url: str, content: str) -> SSEResult:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        thread = await create_thread(http, model="fake-small")
        return await stream_events(
            http, "POST", f"/api/threads/{thread['id']}/messages", json={"content": content}
        )


async def stored(db_engine: AsyncEngine, message_id: str) -> dict[str, Any]:
    async with db_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, content, error, finish_reason FROM message WHERE id = :id"),
                {"id": message_id},
            )
        ).one()
    return dict(row._mapping)


@pytest.mark.parametrize(
    ("directive", "kept"),
    [
        ("[[truncate:3]]", "".join(reply_words(DEFAULT_CHUNKS)[:3])),
        ("[[no-done]] [[chunks:4]]", reply_text(4)),
    ],
    ids=["no finish reason and no DONE", "no DONE"],
)
async def test_an_early_end_is_a_failure_with_the_partial_text(
    impatient: str, db_engine: AsyncEngine, directive: str, kept: str
) -> None:
    result = await send(impatient, f"x {directive}")
    assert result.names()[-3:] == ["error", "message.completed", "done"]
    assert result.events[-3].data == {"code": "generation_failed", "detail": EARLY_END}
    reply = result.completed()
    assert (reply["status"], reply["error"]) == ("failed", EARLY_END)
    row = await stored(db_engine, reply["id"])
    assert (row["status"], row["error"]) == ("failed", EARLY_END)
    assert row["content"] == result.deltas() == kept


async def test_a_stall_fails_after_the_idle_timeout(impatient: str, db_engine: AsyncEngine) -> None:
    started = time.monotonic()
    result = await send(impatient, "x [[stall:2]] [[slow:1]]")
    assert time.monotonic() - started >= IDLE_S
    assert result.names()[-3:] == ["error", "message.completed", "done"]
    row = await stored(db_engine, result.completed()["id"])
    assert row["status"] == "failed"
    assert row["error"] == f"the model server sent nothing for {IDLE_S:g} s"
    assert row["content"] == "".join(reply_words(DEFAULT_CHUNKS)[:2])


async def test_silence_before_the_first_byte_is_a_504(impatient: str) -> None:
    async with httpx.AsyncClient(base_url=impatient, timeout=30) as http:
        thread = await create_thread(http, model="fake-small")
        response = await http.post(
            f"/api/threads/{thread['id']}/messages", json={"content": "x [[delay:3000]]"}
        )
    assert response.status_code == 504
    assert response.json()["detail"] == f"model server timed out after {IDLE_S:g}s"


@pytest.mark.parametrize("reason", ["length", "content_filter"])
async def test_length_and_content_filter_are_completed_with_their_reason(
    impatient: str, db_engine: AsyncEngine, reason: str
) -> None:
    result = await send(impatient, f"x [[finish:{reason}]] [[chunks:3]]")
    assert result.names()[-2:] == ["message.completed", "done"]
    row = await stored(db_engine, result.completed()["id"])
    assert (row["status"], row["finish_reason"], row["error"]) == ("completed", reason, None)
    assert row["content"] == reply_text(3)


async def test_a_429_is_retried_after_its_retry_after(impatient: str) -> None:
    started = time.monotonic()
    result = await send(impatient, "x [[throttle:1]] [[chunks:3]]")
    assert time.monotonic() - started >= 1
    assert result.status_code == 200
    assert result.completed()["status"] == "completed"
    assert result.deltas() == reply_text(3)
