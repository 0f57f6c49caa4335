"""The ``principal_usage`` table (tokens per principal per UTC day), and the reads the
quotas are checked with.

Each reply adds its tokens in the transaction that stores it, so the count is right
across processes and restarts, and deleting a thread gives nothing back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m

_TODAY_UTC = text("(now() AT TIME ZONE 'UTC')::date")


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """What a principal has used of its quotas: replies running now, generations started
    in the last minute (and when the first of them was), tokens today (UTC)."""

    running: int
    recent: int
    oldest_recent: datetime | None
    tokens_today: int


class UsageStore:
    """Token usage and the counts quotas need, in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, principal_id: UUID, prompt_tokens: int, completion_tokens: int) -> None:
        """Count a reply's tokens for today (UTC)."""
        if not prompt_tokens and not completion_tokens:
            return
        statement = insert(m.PrincipalUsage).values(
            principal_id=principal_id,
            day=_TODAY_UTC,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["principal_id", "day"],
                set_={
                    "prompt_tokens": m.PrincipalUsage.prompt_tokens
                    + statement.excluded.prompt_tokens,
                    "completion_tokens": m.PrincipalUsage.completion_tokens
                    + statement.excluded.completion_tokens,
                },
            )
        )

    async def quota_usage(self, principal_id: UUID) -> QuotaUsage:
        """The principal's usage, counted by ``playground_quota_usage`` (migration 0007,
        also called by ``playground_send``) in one statement. The principal's row stays
        locked for the transaction, so two requests checking its quotas at once (on any
        processes) take turns."""
        row = (
            await self._session.execute(
                text("SELECT * FROM playground_quota_usage(:principal_id)"),
                {"principal_id": principal_id},
            )
        ).one()
        return QuotaUsage(
            running=row.running,
            recent=row.recent,
            oldest_recent=row.oldest_recent,
            tokens_today=row.tokens_today,
        )
