"""A request's unit of work, run again when the database drops it before its COMMIT.

A deadlock, a serialization failure or a connection lost mid-transaction leaves
nothing written, so the whole unit may run again on a fresh connection: the client
never sees a database blip it did not need to see. A connection lost during COMMIT
itself is different: whether the rows landed is unknown, so that is a 503 and never
a silent second write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DatabaseUnavailableError
from db.transient import is_unavailable, retrying

T = TypeVar("T")


async def run_unit(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` (which ends with ``commit``), rolled back and run again after a
    transient failure; other errors, and a lost COMMIT, propagate."""

    async def once() -> T:
        try:
            return await work()
        except BaseException:
            await session.rollback()
            raise

    return await retrying()(once)


async def commit(
    session: AsyncSession, what: str, advice: str = "read it back before trying again"
) -> None:
    """COMMIT; a connection lost during it is a 503 saying ``what`` may or may not be
    stored, and what to do (``advice``), so ``run_unit`` does not write it twice."""
    try:
        await session.commit()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        raise DatabaseUnavailableError(
            f"the database connection was lost while storing {what}; it may or may not "
            f"be stored: {advice}"
        ) from exc
