"""The async engine and session factory, built the same way for the app, scripts and tests.

Also the two server-level operations the embedded server and the test fixtures need,
creating and dropping a database, which must run outside a transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from db.urls import to_async_url

APPLICATION_NAME = "playground"


def create_engine(url: str, *, pool_size: int, echo: bool) -> AsyncEngine:
    """Create the asyncpg engine for a ``postgresql://`` (or ``postgres://``) URL.

    A quarter more than ``pool_size`` may be opened for bursts (those are closed again on
    return, so the steady state should fit in ``pool_size``). No pre-ping and no reset
    on return: every unit of work ends its own transaction, so neither round trip buys
    anything on the hot path. Instead a checkout looks, without a round trip, whether
    the server closed the connection while it sat in the pool (a restart, a
    ``pg_terminate_backend``), and the pool then hands out a fresh one. The
    connection's ``application_name`` lets a person find our sessions in
    ``pg_stat_activity``.
    """
    engine = create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=max(1, pool_size // 4),
        pool_reset_on_return=None,
        echo=echo,
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    # DisconnectionError makes the pool drop this connection and check out another.
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Create the session factory bound to ``engine``.

    ``expire_on_commit=False`` because rows are serialized after the commit that stored
    them (responses, SSE events); expiring them would trigger lazy loads, which async
    sessions cannot do implicitly.
    """
    return async_sessionmaker(engine, expire_on_commit=False)


async def _database_exists(connection: AsyncConnection, name: str) -> bool:
    result = await connection.execute(
        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    )
    return result.scalar() is not None


async def create_database(server_url: str, name: str, *, exist_ok: bool = False) -> bool:
    """Create database ``name`` on the server of ``server_url``; True if it was created.

    ``server_url`` names any database the user may connect to (e.g. ``postgres``). With
    ``exist_ok``, a database that exists already (or that a concurrent process creates
    at the same moment) is accepted.
    """
    # CREATE DATABASE cannot run inside a transaction block, hence AUTOCOMMIT.
    engine = create_async_engine(
        to_async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            if exist_ok and await _database_exists(connection, name):
                return False
            quoted = engine.dialect.identifier_preparer.quote(name)
            try:
                await connection.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError:
                if exist_ok and await _database_exists(connection, name):
                    return False
                raise
            return True
    finally:
        await engine.dispose()


async def drop_database(server_url: str, name: str, *, force: bool = True) -> None:
    """Drop database ``name`` if it exists, ending any sessions still connected to it.

    ``server_url`` must name another database on the same server. ``WITH (FORCE)``
    (PostgreSQL 13+) ends leftover sessions, such as a pool a failed test did not close.
    Without ``force`` the drop fails while a session is connected (the server waits a
    few seconds for closing ones first).
    """
    engine = create_async_engine(
        to_async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            quoted = engine.dialect.identifier_preparer.quote(name)
            forced = " WITH (FORCE)" if force else ""
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}{forced}"))
    finally:
        await engine.dispose()
