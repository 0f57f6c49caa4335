"""Alembic environment: runs the migrations over asyncpg, one process at a time.

Loaded by Alembic from ``db.migrate`` (which passes the database URL in
``config.attributes``); there is no ``alembic.ini``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.migrate import AUTOGENERATE_OPTIONS, MIGRATION_LOCK_ID, URL_ATTRIBUTE
from db.models import Base
from db.urls import to_async_url

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get(URL_ATTRIBUTE) or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: call db.migrate.upgrade()/downgrade() with one")
    return str(url)


def run_migrations_offline() -> None:
    """Emit the migrations as SQL (``alembic upgrade --sql``) instead of running them."""
    context.configure(
        url=to_async_url(_database_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **AUTOGENERATE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, **AUTOGENERATE_OPTIONS
    )
    with context.begin_transaction():
        # Processes starting together (serve, a script, a second server) must not all
        # create the schema: the others wait here until the first commits, then read
        # an up-to-date version table and have nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def run_migrations_online() -> None:
    """Run the migrations on one asyncpg connection, in one transaction."""
    engine = create_async_engine(to_async_url(_database_url()), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
