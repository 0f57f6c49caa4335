"""A unit of work whose connection dies before its COMMIT runs again on a fresh one;
what it wrote the first time is gone with the rollback, so it is written once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.unit_of_work import commit, run_unit
from db.engine import create_engine, create_session_factory


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_database_url, pool_size=2, echo=False)
    yield engine
    await engine.dispose()


async def test_a_unit_whose_connection_dies_runs_again(engine: AsyncEngine) -> None:
    factory: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    attempts: list[int] = []
    async with factory() as session:

        async def work() -> str:
            attempts.append(len(attempts) + 1)
            title = f"unit {id(attempts)}"
            await session.execute(
                text("INSERT INTO thread (id, model, title) VALUES (gen_random_uuid(), 'x', :t)"),
                {"t": title},
            )
            if len(attempts) == 1:
                # The server ends this very connection mid-transaction, as a restart would.
                await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            await commit(session, "the thread")
            return title

        title = await run_unit(session, work)
    assert attempts == [1, 2]
    async with factory() as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM thread WHERE title = :t"), {"t": title}
        )
    assert stored == 1


async def test_other_errors_are_not_retried(engine: AsyncEngine) -> None:
    factory: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    attempts: list[int] = []
    async with factory() as session:

        async def work() -> None:
            attempts.append(1)
            await session.execute(text("SELECT 1 / 0"))

        with pytest.raises(Exception, match="division by zero"):
            await run_unit(session, work)
    assert attempts == [1]
