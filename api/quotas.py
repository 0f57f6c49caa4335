"""Quotas checked before the model is called: concurrent replies, requests per minute,
tokens per UTC day (README "Running it for a team").

The counts come from the database (running and recent generations, the day's usage
row), so they hold across processes and restarts. The principal's row is locked while
they are checked, so two sends at once on any processes cannot both take the last slot.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import RateLimitedError
from api.schemas.auth import Principal
from api.stores.usage import UsageStore

MINUTE_S = 60.0
# A running reply may end at any moment; asking again soon is the best advice.
CONCURRENCY_RETRY_S = 1


async def check_quotas(session: AsyncSession, caller: Principal) -> None:
    """429 naming the first limit ``caller`` is at; nothing to check (and no query)
    when no limit applies."""
    limits = caller.limits
    if not limits.any():
        return
    usage = UsageStore(session)
    await usage.lock_principal(caller.id)
    if limits.max_concurrent_replies is not None:
        running = await usage.running(caller.id)
        if running >= limits.max_concurrent_replies:
            raise _limited(
                "max_concurrent_replies",
                limits.max_concurrent_replies,
                running,
                CONCURRENCY_RETRY_S,
                "replies running at once",
            )
    if limits.requests_per_minute is not None:
        recent = await usage.recent_requests(caller.id)
        if recent.count >= limits.requests_per_minute:
            raise _limited(
                "requests_per_minute",
                limits.requests_per_minute,
                recent.count,
                _until_minute_after(recent.oldest),
                "requests in the last minute",
            )
    if limits.tokens_per_day is not None:
        used = await usage.tokens_today(caller.id)
        if used >= limits.tokens_per_day:
            raise _limited(
                "tokens_per_day",
                limits.tokens_per_day,
                used,
                _until_utc_midnight(),
                "tokens today (UTC)",
            )


def _limited(limit: str, value: int, used: int, retry_after_s: int, what: str) -> RateLimitedError:
    return RateLimitedError(
        f"quota {limit} reached: {used} {what}, the limit is {value}; retry in {retry_after_s} s",
        extra={"limit": limit, "value": value, "used": used},
        retry_after_s=retry_after_s,
    )


def _until_minute_after(oldest: datetime | None) -> int:
    """Seconds until the oldest request of the window is a minute old."""
    if oldest is None:
        return 1
    left = (oldest + timedelta(seconds=MINUTE_S) - datetime.now(UTC)).total_seconds()
    return max(1, math.ceil(left))


def _until_utc_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))
