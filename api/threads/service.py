"""Thread operations: create, list by activity, update, delete, fork and switch branch."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ConflictError, NotFoundError
from api.generation.manager import GenerationManager
from api.llm.router import ModelRouter
from api.messages.queries import load_tree, message_in
from api.schemas import ChatParams
from api.threads.cursor import ThreadCursor, decode_cursor, encode_cursor
from api.threads.schemas import Thread, ThreadCreate, ThreadPage, ThreadUpdate
from api.tools.client import ClientFunction
from api.tools.registry import ToolRegistry
from api.validation import check_model, check_no_nul, check_tools
from db import models as m

# Columns a fork copies from each message on the path; ids and parents are remapped.
_COPIED_MESSAGE_COLUMNS = (
    "role",
    "content",
    "status",
    "model",
    "params",
    "request_message_count",
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


def to_thread(row: m.Thread) -> Thread:
    """Build the client view of a thread row."""
    return Thread(
        id=row.id,
        title=row.title,
        system_prompt=row.system_prompt,
        default_system_prompt=row.default_system_prompt,
        model=row.model,
        params=msgspec.convert(row.params, ChatParams),
        tools=msgspec.convert(row.tools, list[str | ClientFunction]),
        metadata=row.metadata_,
        head_id=row.head_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_activity_at=row.last_activity_at,
    )


async def load_thread(session: AsyncSession, thread_id: UUID, *, lock: bool = False) -> m.Thread:
    """The thread row, or a 404; ``lock`` holds it for the transaction (FOR UPDATE)."""
    query = select(m.Thread).where(m.Thread.id == thread_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query.execution_options(populate_existing=True))).scalar()
    if row is None:
        raise NotFoundError(f"thread {thread_id} not found")
    return row


class ThreadService:
    """Thread use cases over one DB session (one unit of work per request)."""

    def __init__(
        self,
        session: AsyncSession,
        models: ModelRouter,
        tools: ToolRegistry,
        generations: GenerationManager,
    ) -> None:
        self._session = session
        self._models = models
        self._tools = tools
        self._generations = generations

    async def create(self, data: ThreadCreate) -> Thread:
        """Store a new thread; model defaults to the service's default model."""
        check_no_nul(data)
        model = data.model or self._models.default_model
        check_model(self._models, model)
        tools: list[str | ClientFunction] = (
            list(self._tools.default_names()) if data.tools is None else data.tools
        )
        check_tools(self._tools, tools)
        row = m.Thread(
            id=uuid.uuid4(),
            title=data.title,
            system_prompt=data.system_prompt,
            default_system_prompt=data.default_system_prompt,
            model=model,
            params=msgspec.to_builtins(data.params or ChatParams()),
            tools=msgspec.to_builtins(tools),
            metadata_=data.metadata or {},
        )
        self._session.add(row)
        await self._session.commit()
        await self._session.refresh(row)
        return to_thread(row)

    async def list(self, limit: int, cursor: str | None) -> ThreadPage:
        """A page of threads, newest activity first."""
        query = select(m.Thread).order_by(m.Thread.last_activity_at.desc(), m.Thread.id.desc())
        if cursor:
            after = decode_cursor(cursor)
            query = query.where(
                tuple_(m.Thread.last_activity_at, m.Thread.id)
                < tuple_(after.last_activity_at, after.id)
            )
        rows = list(await self._session.scalars(query.limit(limit + 1)))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(ThreadCursor(last.last_activity_at, last.id))
        return ThreadPage(data=[to_thread(row) for row in rows], next_cursor=next_cursor)

    async def get(self, thread_id: UUID) -> Thread:
        """One thread, or a 404."""
        return to_thread(await load_thread(self._session, thread_id))

    async def update(self, thread_id: UUID, data: ThreadUpdate) -> Thread:
        """Change the fields present in ``data``."""
        check_no_nul(data)
        row = await load_thread(self._session, thread_id, lock=True)
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if getattr(data, name) is not msgspec.UNSET
        }
        if "model" in changes:
            check_model(self._models, changes["model"])
        if "tools" in changes:
            check_tools(self._tools, changes["tools"])
            changes["tools"] = msgspec.to_builtins(changes["tools"])
        if "params" in changes:
            changes["params"] = msgspec.to_builtins(changes["params"])
        if "metadata" in changes:
            changes["metadata_"] = changes.pop("metadata")
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = func.clock_timestamp()
        await self._session.commit()
        await self._session.refresh(row)
        return to_thread(row)

    async def delete(self, thread_id: UUID) -> None:
        """Delete a thread and its messages, stopping its generation first."""
        row = await load_thread(self._session, thread_id)
        await self._generations.cancel(thread_id)
        await self._session.delete(row)
        await self._session.commit()

    async def fork(self, thread_id: UUID, message_id: UUID) -> Thread:
        """A new thread holding a copy of the path root→``message_id`` and the same settings."""
        source = await load_thread(self._session, thread_id)
        tree = await load_tree(self._session, thread_id)
        target = message_in(tree, thread_id, message_id)
        path = tree.path_to(target.id)
        if any(row.status == "in_progress" for row in path):
            raise ConflictError(f"message {message_id} is still being generated; fork it later")
        fork = m.Thread(
            id=uuid.uuid4(),
            title=f"{source.title} (fork)" if source.title else None,
            system_prompt=source.system_prompt,
            default_system_prompt=source.default_system_prompt,
            model=source.model,
            params=source.params,
            tools=source.tools,
            metadata_={
                **source.metadata_,
                "forked_from": {"thread_id": str(thread_id), "message_id": str(message_id)},
            },
        )
        self._session.add(fork)
        # No ORM relationships tie the rows together, so the thread is flushed first.
        await self._session.flush()
        parent_id: UUID | None = None
        for original in path:
            copy = m.Message(id=uuid.uuid4(), thread_id=fork.id, parent_id=parent_id)
            for column in _COPIED_MESSAGE_COLUMNS:
                setattr(copy, column, getattr(original, column))
            self._session.add(copy)
            parent_id = copy.id
        await self._session.flush()
        fork.head_id = parent_id
        await self._session.commit()
        await self._session.refresh(fork)
        return to_thread(fork)

    async def set_head(self, thread_id: UUID, message_id: UUID) -> Thread:
        """Make the newest leaf under ``message_id`` the head of the thread."""
        row = await load_thread(self._session, thread_id, lock=True)
        tree = await load_tree(self._session, thread_id)
        target = message_in(tree, thread_id, message_id)
        row.head_id = tree.newest_leaf(target.id).id
        row.updated_at = func.clock_timestamp()
        await self._session.commit()
        await self._session.refresh(row)
        return to_thread(row)
