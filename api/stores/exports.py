"""Reads of whole threads for export: one thread with its tree, or every thread in
scope streamed through a server-side cursor, one thread's rows in memory at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m

# Rows fetched from the cursor at a time: enough to keep round trips few, small
# enough to keep memory flat.
_FETCH_ROWS = 500


async def count_threads(session: AsyncSession, scope: UUID | None) -> int:
    """How many threads ``scope`` (an owner; None for all) holds."""
    query = select(func.count()).select_from(m.Thread)
    if scope is not None:
        query = query.where(m.Thread.owner_id == scope)
    return int(await session.scalar(query) or 0)


async def stream_threads(
    session: AsyncSession, scope: UUID | None, thread_id: UUID | None = None
) -> AsyncIterator[tuple[m.Thread, list[m.Message]]]:
    """Each thread in scope (or only ``thread_id``) with all its messages, in id order.

    One query over threads joined with their messages, read through a server-side
    cursor (``session.stream``) in batches: only the current thread's rows are held.
    Run it inside a transaction (a cursor lives in one).
    """
    query = (
        select(m.Thread, m.Message)
        .outerjoin(m.Message, m.Message.thread_id == m.Thread.id)
        .order_by(m.Thread.id, m.Message.created_at, m.Message.id)
        .execution_options(yield_per=_FETCH_ROWS)
    )
    if scope is not None:
        query = query.where(m.Thread.owner_id == scope)
    if thread_id is not None:
        query = query.where(m.Thread.id == thread_id)
    current: m.Thread | None = None
    messages: list[m.Message] = []
    result = await session.stream(query)
    async for thread, message in result:
        if current is not None and thread.id != current.id:
            # The session's identity map holds rows weakly: once written out and
            # dropped here, a thread's rows are freed.
            yield current, messages
            messages = []
        current = thread
        if message is not None:
            messages.append(message)
    if current is not None:
        yield current, messages
