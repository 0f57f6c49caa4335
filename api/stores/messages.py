"""The ``message`` table: the tree of turns, and the replies being written into it.

Every statement that writes a message row is here: sends, tool rounds, edits,
deletes, forks, the batched content flushes of a reply, its final write, and the
reaper's ``interrupted`` marks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import CTE, any_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.errors import NotFoundError
from api.stores.tree import MessageTree
from db import models as m

INTERRUPTED_ERROR = "the process generating this reply stopped before it finished"

# Columns a fork copies from each message on the path; ids and parents are remapped.
_COPIED_COLUMNS = (
    "role",
    "content",
    "status",
    "model",
    "params",
    "request_message_count",
    "prompt_id",
    "prompt_version",
    "prompt_tokens",
    "completion_tokens",
    "finish_reason",
    "time_to_first_token_ms",
    "duration_ms",
    "error",
    "tool_calls",
    "tool_call_id",
    "created_at",
    "completed_at",
)


def new_message(
    thread_id: UUID, parent_id: UUID | None, role: str, content: str, **columns: Any
) -> m.Message:
    """A new message row (a fresh id, ``completed``, unless ``columns`` say otherwise)."""
    columns.setdefault("status", "completed")
    columns.setdefault("id", uuid.uuid4())
    return m.Message(
        thread_id=thread_id, parent_id=parent_id, role=role, content=content, **columns
    )


def reply_placeholder(
    thread_id: UUID,
    parent_id: UUID | None,
    *,
    model: str,
    params: dict[str, Any],
    request_message_count: int,
    prompt: tuple[UUID, int] | None = None,
    variant: int = 0,
) -> m.Message:
    """The assistant row a generation writes into, ``in_progress`` until its final write;
    ``prompt`` is the prompt version its system prompt was rendered from, ``variant`` its
    place in a compare run."""
    return new_message(
        thread_id,
        parent_id,
        "assistant",
        "",
        status="in_progress",
        model=model,
        params=params,
        request_message_count=request_message_count,
        prompt_id=prompt[0] if prompt else None,
        prompt_version=prompt[1] if prompt else None,
        variant=variant,
    )


def message_in(tree: MessageTree, thread_id: UUID, message_id: UUID) -> m.Message:
    """The message ``message_id`` of this thread, or a 404 (also for another thread's)."""
    row = tree.by_id.get(message_id)
    if row is None:
        raise NotFoundError(f"message {message_id} not found in thread {thread_id}")
    return row


class MessageStore:
    """Reads and writes of message rows in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def tree(self, thread_id: UUID) -> MessageTree:
        """Every message of a thread, as a tree (one indexed query)."""
        rows = await self._session.scalars(
            select(m.Message)
            .where(m.Message.thread_id == thread_id)
            .execution_options(populate_existing=True)
        )
        return MessageTree(list(rows))

    async def trees(self, thread_ids: Sequence[UUID]) -> dict[UUID, MessageTree]:
        """The trees of several threads in one query (the GraphQL DataLoader's batch);
        the caller has checked that each thread is visible to it."""
        rows = await self._session.scalars(
            select(m.Message)
            .where(m.Message.thread_id.in_(thread_ids))
            .execution_options(populate_existing=True)
        )
        by_thread: dict[UUID, list[m.Message]] = {thread_id: [] for thread_id in thread_ids}
        for row in rows:
            by_thread[row.thread_id].append(row)
        return {thread_id: MessageTree(found) for thread_id, found in by_thread.items()}

    async def get(self, message_id: UUID) -> m.Message:
        """A message row as stored now."""
        return await self._session.get_one(m.Message, message_id, populate_existing=True)

    async def lock(self, message_id: UUID) -> m.Message:
        """A message row as stored now, locked for the transaction (FOR UPDATE): its
        version cannot change before the transaction ends (a conditional write)."""
        row: m.Message = (
            await self._session.execute(
                select(m.Message)
                .where(m.Message.id == message_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        return row

    async def status(self, message_id: UUID) -> str | None:
        """A message's stored status (None when it was deleted)."""
        return await self._session.scalar(
            select(m.Message.status).where(m.Message.id == message_id)
        )

    async def sibling_ids(self, row: m.Message) -> list[UUID]:
        """Ids of the messages sharing ``row``'s parent (itself included), oldest first."""
        same_parent = (
            m.Message.parent_id.is_(None)
            if row.parent_id is None
            else m.Message.parent_id == row.parent_id
        )
        result = await self._session.scalars(
            select(m.Message.id)
            .where(m.Message.thread_id == row.thread_id, same_parent)
            .order_by(m.Message.created_at, m.Message.id)
        )
        return list(result)

    async def add(self, rows: list[m.Message]) -> None:
        """Insert rows in one multi-row INSERT (a parent in the same statement satisfies
        its child's foreign key); their server defaults come back with it."""
        self._session.add_all(rows)
        await self._session.flush()

    async def add_chain(self, rows: list[m.Message]) -> None:
        """Insert a chain one row at a time, so each parent exists and the timestamps
        increase along it (tool results answered in order)."""
        for row in rows:
            self._session.add(row)
            await self._session.flush()

    async def copy_path(self, path: list[m.Message], thread_id: UUID) -> UUID | None:
        """Copy ``path`` (root first) into ``thread_id`` with new ids; the new leaf's id."""
        parent_id: UUID | None = None
        for original in path:
            copy = m.Message(id=uuid.uuid4(), thread_id=thread_id, parent_id=parent_id)
            for column in _COPIED_COLUMNS:
                setattr(copy, column, getattr(original, column))
            self._session.add(copy)
            parent_id = copy.id
        await self._session.flush()
        return parent_id

    async def record_prompt(self, row: m.Message, prompt_id: UUID, version: int) -> None:
        """Record on a reply stored by a send the prompt version its system prompt was
        rendered from."""
        await self._session.execute(
            update(m.Message)
            .where(m.Message.id == row.id)
            .values(prompt_id=prompt_id, prompt_version=version)
        )
        row.prompt_id, row.prompt_version = prompt_id, version

    async def edit(self, row: m.Message, content: str) -> None:
        """Replace a message's text in place."""
        row.content = content
        row.updated_at = func.clock_timestamp()
        await self._session.flush()

    def mark_answered(self, row: m.Message) -> None:
        """A reply waiting for client tool outputs has them now (written with the unit
        of work that stores the outputs)."""
        row.status = "completed"

    async def delete(self, row: m.Message) -> None:
        """Delete a message and everything below it (ON DELETE CASCADE)."""
        await self._session.delete(row)
        await self._session.flush()

    async def finish_reply(
        self, message_id: UUID, values: dict[str, Any], *, with_cte: CTE | None = None
    ) -> m.Message | None:
        """The final write of a reply's row, while it is still being written; the row as
        stored (None if it was deleted, or finished by someone else). ``with_cte`` rides
        on the same statement (the request log's INSERT, ``api.stores.requests``)."""
        query = (
            update(m.Message)
            .where(m.Message.id == message_id, m.Message.status == "in_progress")
            .values(
                **values, updated_at=func.clock_timestamp(), completed_at=func.clock_timestamp()
            )
            .returning(m.Message)
        )
        if with_cte is not None:
            query = query.add_cte(with_cte)
        result = await self._session.execute(query)
        return result.scalar_one_or_none()

    async def fail_if_running(self, message_id: UUID, error: str) -> None:
        """Mark a reply failed unless something else already finished it."""
        await self._session.execute(
            update(m.Message)
            .where(m.Message.id == message_id, m.Message.status == "in_progress")
            .values(status="failed", error=error)
        )

    async def interrupt(self, message_id: UUID) -> m.Message | None:
        """Mark a reply whose process died ``interrupted`` (keeping its flushed text)."""
        result = await self._session.execute(
            update(m.Message)
            .where(m.Message.id == message_id, m.Message.status == "in_progress")
            .values(
                status="interrupted",
                error=INTERRUPTED_ERROR,
                updated_at=func.clock_timestamp(),
                completed_at=func.clock_timestamp(),
            )
            .returning(m.Message)
        )
        return result.scalar_one_or_none()

    async def interrupt_orphans(self) -> int:
        """Mark ``interrupted`` every reply in progress that no running generation writes."""
        result = await self._session.execute(
            update(m.Message)
            .where(
                m.Message.status == "in_progress",
                ~select(m.Generation.id)
                .where(
                    or_(
                        m.Generation.message_id == m.Message.id,
                        m.Message.id == any_(m.Generation.variant_ids),
                    ),
                    m.Generation.status == "running",
                )
                .exists(),
            )
            .values(
                status="interrupted", error=INTERRUPTED_ERROR, completed_at=func.clock_timestamp()
            )
            .returning(m.Message.id)
        )
        return len(result.all())


async def save_partial_content(engine: AsyncEngine, message_id: UUID, content: str) -> None:
    """Store a reply's text so far: one autocommit statement on a pooled connection, held
    only for that statement (the batched flush of a reply being written)."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(
            update(m.Message)
            .where(m.Message.id == message_id, m.Message.status == "in_progress")
            .values(content=content, updated_at=func.clock_timestamp())
        )
