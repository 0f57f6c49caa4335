"""``playground serve --workers N``: N uvicorn worker processes on one port.

serve resolves and migrates the database once (starting the embedded Postgres if that
is the one), then uvicorn's supervisor binds the port and spawns the workers. Each is
a fresh interpreter that builds its own app by import string
(``api.app.app_from_environment``) from what serve put in the environment, and accepts
connections on the shared socket. Workers share nothing but the database, as replicas
do: a reply started on one is followed and cancelled from any other (README "Durable
replies").

Each worker counts metrics for itself, so ``/metrics`` adds them up only in
prometheus-client's multiprocess mode: serve turns it on for its workers (``api.metrics``).

On SIGTERM (or SIGINT) the supervisor sends SIGTERM to each worker, which stops as a
single ``serve`` does (its replies get their grace period), and waits for them all.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from socket import socket

from uvicorn import Config
from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess

from api import metrics
from api.app import APP_FACTORY, WORKER_DATABASE_URL, WORKER_HOST
from api.settings import DatabaseSettings


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of the workers, which also remembers the signal that stopped
    it, forgets the gauges of workers that died, and gives back the signal handlers it
    took over."""

    def __init__(self, config: Config, sockets: list[socket]) -> None:
        self._handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
        super().__init__(config, sockets)
        # None until a signal stops it: it also stops when a worker fails to start.
        self.stopped_by: int | None = None

    def run(self) -> None:
        """Start the workers, keep them up until a signal, then stop them and wait."""
        try:
            super().run()
        finally:
            for sig, handler in self._handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)

    def handle_int(self) -> None:
        """SIGINT: stop the workers, and say so to ``run``'s caller."""
        self.stopped_by = signal.SIGINT
        super().handle_int()

    def handle_term(self) -> None:
        """SIGTERM: stop the workers, and say so to ``run``'s caller."""
        self.stopped_by = signal.SIGTERM
        super().handle_term()

    def keep_subprocess_alive(self) -> None:
        """Replace dead workers, as uvicorn does; what the dead ones had running (gauges)
        no longer counts."""
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                metrics.forget_dead_process(pid)
                print(f"forgot the gauges of worker [{pid}], which died", file=sys.stderr)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, for the processes spawned meanwhile; as it
    was afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


@contextmanager
def _shared_metrics() -> Iterator[None]:
    """Multiprocess metrics for the workers: in ``PROMETHEUS_MULTIPROC_DIR`` when it is
    set, else in a fresh directory removed at the end (stale files from an earlier run
    would count). Set before the workers start, as they read it when they import."""
    if metrics.MULTIPROC_DIR in os.environ:
        yield
        return
    with (
        tempfile.TemporaryDirectory(prefix="playground-metrics-") as path,
        _environment({metrics.MULTIPROC_DIR: path}),
    ):
        print(f"the workers keep their metrics in {path} until serve exits", file=sys.stderr)
        yield


POOL_SIZE = "PLAYGROUND_DB_POOL_SIZE"
# Each worker's pool when none is set: the one-process default shared among them, so N
# workers open about as many connections as one process would.
MIN_WORKER_POOL = 4


def worker_pool(workers: int) -> dict[str, str]:
    """The pool size each worker gets when ``PLAYGROUND_DB_POOL_SIZE`` is unset."""
    if os.environ.get(POOL_SIZE):
        return {}
    default = DatabaseSettings().playground_db_pool_size
    return {POOL_SIZE: str(max(MIN_WORKER_POOL, default // workers))}


def serve_workers(database_url: str, args: argparse.Namespace) -> int | None:
    """Serve the migrated database at ``database_url`` with ``args.workers`` processes, as
    ``playground serve`` ``args`` say, until a signal stops them.

    Returns that signal (SIGINT or SIGTERM), or None when a worker failed to start
    (uvicorn logged why) and the others were stopped.
    """
    config = Config(
        APP_FACTORY,
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=args.graceful_shutdown_s,
    )
    with (
        _environment(
            {
                WORKER_DATABASE_URL: database_url,
                WORKER_HOST: args.host,
                **worker_pool(args.workers),
            }
        ),
        _shared_metrics(),
    ):
        listener = config.bind_socket()
        try:
            supervisor = _Supervisor(config, [listener])
            supervisor.run()
        finally:
            listener.close()
    return supervisor.stopped_by
