"""``playground_send`` agrees with the Python it replaces: the rows it returns read like
the ORM reads them, and the ``request_message_count`` it stores is the length of the
context ``model_context`` builds, for every kind of history and system prompt.

Below the API, in one transaction per test that is rolled back: nothing is kept.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.generation.context import ThreadTools, model_context
from api.schemas.views import to_message
from api.stores.messages import MessageStore
from api.stores.sends import NewSend, ParentRef, SendStore, Stored
from api.stores.tree import MessageTree
from db import models as m
from db.engine import create_session_factory

# Every character Python's str.strip() removes.
WHITESPACE = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]


@pytest.fixture
async def session(db_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose transaction is never committed."""
    async with create_session_factory(db_engine)() as opened:
        yield opened
        await opened.rollback()


async def thread_with(
    session: AsyncSession, rows: list[dict[str, Any]], **columns: Any
) -> m.Thread:
    """A thread whose messages are ``rows`` (each below the one before), head on the last."""
    thread = m.Thread(id=uuid.uuid4(), model="offline", title="t", **columns)
    session.add(thread)
    await session.flush()
    parent_id = None
    for values in rows:
        row = m.Message(id=uuid.uuid4(), thread_id=thread.id, parent_id=parent_id, **values)
        session.add(row)
        await session.flush()
        parent_id = row.id
    thread.head_id = parent_id
    await session.flush()
    return thread


async def send(session: AsyncSession, thread: m.Thread, parent: ParentRef = "head") -> Stored:
    found = await SendStore(session).send(
        NewSend(
            thread_id=thread.id,
            scope=None,
            principal_id=m.LOCAL_PRINCIPAL_ID,
            process="test",
            content="next",
            parent=parent,
            model=None,
            params={},
            key=None,
            digest=None,
            limited=False,
            generation_id=uuid.uuid4(),
        )
    )
    assert isinstance(found, Stored), found
    return found


async def read_tree(session: AsyncSession, thread_id: uuid.UUID) -> MessageTree:
    """The thread's messages as the ORM reads them, in this transaction."""
    return await MessageStore(session).tree(thread_id)


def sent(stored: Stored) -> int:
    """How many messages Python builds for the model from what the statement returned."""
    thread = stored.thread
    return len(model_context(thread, [*stored.path, stored.user], ThreadTools.of(thread)))


CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "f", "arguments": "{}"},
}
OTHER_CALL = {**CALL, "id": "call_2"}
HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "", "tool_calls": [CALL, OTHER_CALL]},
    {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    {"role": "tool", "content": "no call named"},
    {"role": "assistant", "content": ""},
    {"role": "assistant", "content": "", "tool_calls": [{**CALL, "id": "call_9"}]},
    {
        "role": "assistant",
        "content": "done",
        "prompt_tokens": 7,
        "time_to_first_token_ms": 12.0,
        "duration_ms": 30.5,
        "model": "offline",
        "params": {"temperature": 1.0},
    },
]


@pytest.mark.parametrize(
    "history",
    [[], HISTORY[:2], HISTORY],
    ids=["empty", "one-turn", "tool-rounds"],
)
@pytest.mark.parametrize(
    "prompt",
    [
        {},
        {"default_system_prompt": False},
        {"default_system_prompt": False, "system_prompt": "own"},
        {"default_system_prompt": False, "system_prompt": " \u3000\n"},
        {"default_system_prompt": False, "system_prompt": "\u200b"},
        {"system_prompt": " "},
    ],
    ids=["default", "none", "own", "blank", "zero-width-space", "default-and-blank"],
)
async def test_the_stored_count_is_what_the_model_is_sent(
    session: AsyncSession, history: list[dict[str, Any]], prompt: dict[str, Any]
) -> None:
    stored = await send(session, await thread_with(session, history, **prompt))
    assert stored.reply.request_message_count == sent(stored)


async def test_a_prompt_of_any_whitespace_is_no_prompt(session: AsyncSession) -> None:
    for char in WHITESPACE:
        thread = await thread_with(session, [], default_system_prompt=False, system_prompt=char)
        stored = await send(session, thread)
        assert (stored.reply.request_message_count, sent(stored)) == (1, 1), hex(ord(char))


async def test_returned_rows_read_like_the_orm_reads_them(session: AsyncSession) -> None:
    thread = await thread_with(session, HISTORY, params={"temperature": 0.5, "seed": None})
    stored = await send(session, thread)
    tree = await read_tree(session, thread.id)
    for row in [*stored.path, stored.user, stored.reply]:
        orm = tree.by_id[row.id]
        assert to_message(row, []) == to_message(orm, []), row.role
    assert [row.id for row in stored.path] == [row.id for row in tree.path_to(thread.head_id)]
    assert stored.sibling_ids == tree.sibling_ids(stored.user)
    # The thread's params under the request's, without the nulls Python would drop.
    assert stored.reply.params == {"temperature": 0.5}
    assert stored.reply.model == "offline"


async def test_siblings_of_a_new_root_and_of_a_branch(session: AsyncSession) -> None:
    thread = await thread_with(session, HISTORY[:3])
    root = await send(session, thread, "root")
    tree = await read_tree(session, thread.id)
    assert root.path == []
    assert root.user.parent_id is None
    assert root.sibling_ids == tree.sibling_ids(root.user)
    assert len(root.sibling_ids) == 2
