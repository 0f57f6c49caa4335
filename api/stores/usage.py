"""The ``principal_usage`` table (tokens per principal per UTC day), and the reads the
quotas are checked with.

Each reply adds its tokens in the transaction that stores it, so the count is right
across processes and restarts, and deleting a thread gives nothing back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models as m

_TODAY_UTC = text("(now() AT TIME ZONE 'UTC')::date")


@dataclass(frozen=True, slots=True)
class RecentRequests:
    """Generations a principal started in the last minute, and when the first was."""

    count: int
    oldest: datetime | None


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

    async def tokens_today(self, principal_id: UUID) -> int:
        """Prompt plus completion tokens of the principal's replies today (UTC)."""
        used = await self._session.scalar(
            select(
                func.coalesce(
                    m.PrincipalUsage.prompt_tokens + m.PrincipalUsage.completion_tokens, 0
                )
            ).where(
                m.PrincipalUsage.principal_id == principal_id, m.PrincipalUsage.day == _TODAY_UTC
            )
        )
        return int(used or 0)

    async def recent_requests(self, principal_id: UUID) -> RecentRequests:
        """Generations the principal started within the last 60 seconds."""
        row = (
            await self._session.execute(
                select(func.count(), func.min(m.Generation.created_at)).where(
                    m.Generation.principal_id == principal_id,
                    m.Generation.created_at > func.clock_timestamp() - text("interval '60 s'"),
                )
            )
        ).one()
        return RecentRequests(count=row[0], oldest=row[1])

    async def running(self, principal_id: UUID) -> int:
        """Generations of the principal running now, on any process."""
        count = await self._session.scalar(
            select(func.count()).where(
                m.Generation.principal_id == principal_id, m.Generation.status == "running"
            )
        )
        return int(count or 0)

    async def lock_principal(self, principal_id: UUID) -> None:
        """Hold the principal's row for the transaction, so two sends checking its
        quotas at once (on any processes) take turns."""
        await self._session.execute(
            select(m.Principal.id).where(m.Principal.id == principal_id).with_for_update()
        )
