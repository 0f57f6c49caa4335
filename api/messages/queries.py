"""Queries over message rows shared by the thread, message and generation code."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFoundError
from api.messages.tree import MessageTree
from db import models as m


async def load_tree(session: AsyncSession, thread_id: UUID) -> MessageTree:
    """Every message of a thread, as a tree (one indexed query)."""
    rows = await session.scalars(
        select(m.Message)
        .where(m.Message.thread_id == thread_id)
        .execution_options(populate_existing=True)
    )
    return MessageTree(list(rows))


def message_in(tree: MessageTree, thread_id: UUID, message_id: UUID) -> m.Message:
    """The message ``message_id`` of this thread, or a 404 (also for another thread's)."""
    row = tree.by_id.get(message_id)
    if row is None:
        raise NotFoundError(f"message {message_id} not found in thread {thread_id}")
    return row


async def sibling_ids(session: AsyncSession, row: m.Message) -> list[UUID]:
    """Ids of the messages sharing ``row``'s parent (itself included), oldest first."""
    same_parent = (
        m.Message.parent_id.is_(None)
        if row.parent_id is None
        else m.Message.parent_id == row.parent_id
    )
    result = await session.scalars(
        select(m.Message.id)
        .where(m.Message.thread_id == row.thread_id, same_parent)
        .order_by(m.Message.created_at, m.Message.id)
    )
    return list(result)
