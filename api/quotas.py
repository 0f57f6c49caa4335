"""Quotas checked before the model is called: concurrent replies, requests per minute,
tokens per UTC day (README "Running it for a team").

The counts come from the database (running and recent generations, the day's usage
row; ``playground_quota_usage``), so they hold across processes and restarts. The
principal's row is locked while they are checked, so two sends at once on any
processes cannot both take the last slot. A send gets the counts from the statement
that stores it (``api.stores.sends``) and checks them with ``check_limits``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import RateLimitedError
from api.schemas.auth import Limits, Principal
from api.stores.usage import QuotaUsage, UsageStore

MINUTE_S = 60.0
# A running reply may end at any moment; asking again soon is the best advice.
CONCURRENCY_RETRY_S = 1


async def check_quotas(session: AsyncSession, caller: Principal, replies: int = 1) -> None:
    """429 naming the first limit ``caller`` is at; nothing to check (and no query)
    when no limit applies. ``replies``: how many the request starts (a compare run's
    variants each count as a reply running and a request)."""
    if caller.limits.any():
        check_limits(caller.limits, await UsageStore(session).quota_usage(caller.id), replies)


def check_limits(limits: Limits, usage: QuotaUsage, replies: int = 1) -> None:
    """429 naming the first of ``limits`` that ``usage`` plus ``replies`` more would
    pass."""
    if limits.max_concurrent_replies is not None and (
        usage.running + replies > limits.max_concurrent_replies
    ):
        raise _limited(
            "max_concurrent_replies",
            limits.max_concurrent_replies,
            usage.running,
            CONCURRENCY_RETRY_S,
            "replies running at once",
        )
    if (
        limits.requests_per_minute is not None
        and usage.recent + replies > limits.requests_per_minute
    ):
        raise _limited(
            "requests_per_minute",
            limits.requests_per_minute,
            usage.recent,
            _until_minute_after(usage.oldest_recent),
            "requests in the last minute",
        )
    if limits.tokens_per_day is not None and usage.tokens_today >= limits.tokens_per_day:
        raise _limited(
            "tokens_per_day",
            limits.tokens_per_day,
            usage.tokens_today,
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
