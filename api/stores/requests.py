"""The ``model_request`` table: the request behind every model call, and what came back.

Every statement that writes it is here. A call's row is written by the final UPDATE of
the reply row the call produced (``log_call`` is a data-modifying CTE of that statement,
so logging costs no round trip of its own), and pruned after
``PLAYGROUND_REQUEST_LOG_RETENTION_DAYS`` when that is set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import CTE, Uuid, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m


def log_call(
    *,
    generation_id: UUID,
    message_id: UUID,
    thread_id: UUID,
    request: dict[str, Any],
    response: dict[str, Any],
) -> CTE:
    """The INSERT of one call's row, for the final UPDATE of ``message_id``: it writes a
    row only when that UPDATE does (the reply is still in progress)."""
    source = select(
        literal(generation_id, Uuid),
        literal(message_id, Uuid),
        literal(thread_id, Uuid),
        literal(request, JSONB),
        literal(response, JSONB),
    ).where(
        select(m.Message.id)
        .where(m.Message.id == message_id, m.Message.status == "in_progress")
        .exists()
    )
    columns = ["generation_id", "message_id", "thread_id", "request", "response"]
    return insert(m.ModelRequest).from_select(columns, source).cte("logged_call")


class RequestLogStore:
    """Reads and pruning of ``model_request`` rows in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_message(self, message_id: UUID) -> m.ModelRequest | None:
        """The call that wrote the reply row ``message_id`` (None: none is stored)."""
        return await self._session.scalar(
            select(m.ModelRequest).where(m.ModelRequest.message_id == message_id).limit(1)
        )

    async def of_run(
        self, generation_id: UUID, thread_id: UUID, variant: int
    ) -> list[m.ModelRequest]:
        """Every call of one run in a thread that wrote a reply at place ``variant``,
        oldest first: all of them but for a compare run, whose other variants' calls
        belong to their own replies."""
        return list(
            await self._session.scalars(
                select(m.ModelRequest)
                .join(m.Message, m.Message.id == m.ModelRequest.message_id)
                .where(
                    m.ModelRequest.generation_id == generation_id,
                    m.ModelRequest.thread_id == thread_id,
                    m.Message.variant == variant,
                )
                .order_by(m.ModelRequest.created_at, m.ModelRequest.id)
            )
        )

    async def prune(self, retention_days: float) -> None:
        """Delete the calls older than the retention (their replies stay)."""
        await self._session.execute(
            delete(m.ModelRequest).where(
                m.ModelRequest.created_at < func.clock_timestamp() - timedelta(days=retention_days)
            )
        )
