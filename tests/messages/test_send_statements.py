"""What one send costs the database: a single statement (``playground_send``) and its
COMMIT, whatever the thread's length, the caller's scope, quotas or Idempotency-Key.

Statements are counted on the served app's own engine, per asyncio task: the request's
task runs the send, while the reply is generated (and the server's bookkeeping runs)
in other tasks.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import RunningApp, stream_events
from tests.fixtures.auth import Caller, caller
from tests.fixtures.threads import create_thread


@dataclass(frozen=True)
class Executed:
    """A statement, or the start or end of a transaction, as the engine saw it."""

    task: asyncio.Task[Any] | None
    kind: str
    text: str = ""
    parameters: str = ""


class StatementLog:
    """Everything an engine executes while it is attached, in order."""

    def __init__(self) -> None:
        self.executed: list[Executed] = []

    def statement(
        self, _conn: Connection, _cursor: Any, text: str, parameters: Any, *_: Any
    ) -> None:
        self.executed.append(Executed(asyncio.current_task(), "statement", text, repr(parameters)))

    def mark(self, kind: str) -> Any:
        def listener(_conn: Connection) -> None:
            self.executed.append(Executed(asyncio.current_task(), kind))

        return listener

    def transaction_of(self, marker: str) -> list[str]:
        """The statements (then ``COMMIT`` or ``ROLLBACK``) of the transaction that
        passed ``marker`` as a parameter, in the task that ran it."""
        found = next(e for e in self.executed if e.kind == "statement" and marker in e.parameters)
        mine = [e for e in self.executed if e.task is found.task]
        at = mine.index(found)
        start = max(i for i, e in enumerate(mine[: at + 1]) if e.kind == "begin")
        end = next(i for i, e in enumerate(mine) if i > at and e.kind in ("commit", "rollback"))
        return [
            e.text if e.kind == "statement" else e.kind.upper() for e in mine[start + 1 : end + 1]
        ]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[StatementLog]:
    """Log what ``engine`` executes inside the block."""
    log = StatementLog()
    listeners = [
        ("before_cursor_execute", log.statement),
        ("begin", log.mark("begin")),
        ("commit", log.mark("commit")),
        ("rollback", log.mark("rollback")),
    ]
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)
    try:
        yield log
    finally:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)


async def thread_of(http: httpx.AsyncClient, length: int) -> str:
    """A thread holding ``length`` messages (user and assistant turns, stored by hand),
    with a title: the model has no reason to call a tool before it answers."""
    thread_id: str = (await create_thread(http, title="counted"))["id"]
    for index in range(length):
        role = "user" if index % 2 == 0 else "assistant"
        body = {"content": f"turn {index}", "role": role, "generate": False}
        stored = await http.post(f"/api/threads/{thread_id}/messages", json=body)
        assert stored.status_code == 201, stored.text
    return thread_id


async def send(
    http: httpx.AsyncClient, thread_id: str, content: str, **headers: str
) -> dict[str, Any]:
    """Send ``content`` and read the reply to its end; the placeholder it announced."""
    result = await stream_events(
        http,
        "POST",
        f"/api/threads/{thread_id}/messages",
        json={"content": content},
        headers=headers,
    )
    assert result.status_code == 200, result.body
    assert result.names()[-2:] == ["message.completed", "done"]
    reply: dict[str, Any] = result.events[1].data["message"]
    return reply


def assert_one_statement(transaction: list[str], end: str = "COMMIT") -> None:
    assert len(transaction) == 2, "\n---\n".join(transaction)
    assert "playground_send(" in transaction[0]
    assert transaction[1] == end


@pytest.mark.parametrize("length", [2, 20])
async def test_a_send_is_one_statement_whatever_the_thread_length(
    running_app: RunningApp, client: httpx.AsyncClient, length: int
) -> None:
    thread_id = await thread_of(client, length)
    marker = f"count me {uuid.uuid4()}"
    with statements(running_app.app.state.engine) as log:
        reply = await send(client, thread_id, marker)
    # The model is sent the system prompt, the thread's turns and the new one.
    assert reply["request_message_count"] == 1 + length + 1
    assert_one_statement(log.transaction_of(marker))


async def test_a_keyed_send_and_its_retry_are_one_statement_each(
    running_app: RunningApp, client: httpx.AsyncClient
) -> None:
    thread_id = await thread_of(client, 2)
    marker = f"keyed {uuid.uuid4()}"
    key = f"key-{uuid.uuid4()}"
    with statements(running_app.app.state.engine) as log:
        first = await send(client, thread_id, marker, **{"Idempotency-Key": key})
    assert_one_statement(log.transaction_of(key))
    with statements(running_app.app.state.engine) as log:
        again = await send(client, thread_id, marker, **{"Idempotency-Key": key})
    assert again["id"] == first["id"]
    # Nothing to store: the transaction ends at once, releasing the thread's lock.
    assert_one_statement(log.transaction_of(key), end="ROLLBACK")


@pytest.fixture
async def limited(auth_app: RunningApp, migrated_database_url: str) -> AsyncIterator[Caller]:
    """A member with every quota set (none of them reached by this test)."""
    limits = {"tokens_per_day": 10**6, "requests_per_minute": 1000, "max_concurrent_replies": 5}
    async for made in caller(auth_app, migrated_database_url, "counted", **limits):
        yield made


async def test_a_members_send_with_quotas_is_one_statement(
    auth_app: RunningApp, limited: Caller
) -> None:
    # The scope (another owner's thread is a 404) and the quotas are checked by the
    # same statement.
    thread_id = await thread_of(limited.http, 2)
    marker = f"limited {uuid.uuid4()}"
    with statements(auth_app.app.state.engine) as log:
        await send(limited.http, thread_id, marker)
    assert_one_statement(log.transaction_of(marker))
