"""The replicas: ``playground serve`` processes on one database, killed and restarted.

Each keeps its loopback port for the whole run, so a restarted replica answers where
the killed one did (as behind a load balancer) and the users' URLs stay valid. Started
and measured with the benchmark's helpers (``scripts.bench.processes``).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Mapping
from pathlib import Path

from scripts.bench.processes import Service, free_port, start_playground


class ReplicaSet:
    """``count`` replicas of the playground, started one after the other; replica ``i``
    appends its output to ``replica-<i>.log`` in ``log_dir`` (restarts included)."""

    def __init__(self, env: Mapping[str, str], count: int, log_dir: Path) -> None:
        self.env = dict(env)
        self.ports = [free_port() for _ in range(count)]
        self.logs = [log_dir / f"replica-{index}.log" for index in range(count)]
        self.services: list[Service] = []
        try:
            # One at a time: the first one's start-up migrates the fresh database.
            for port, log in zip(self.ports, self.logs, strict=True):
                self.services.append(start_playground(self.env, port, log))
        except BaseException:
            self.stop()
            raise
        # The URLs the users read; a restart keeps them.
        self.urls = [service.url for service in self.services]

    def pid(self, index: int) -> int | None:
        """Replica ``index``'s process id, None while it is down."""
        service = self.services[index]
        return service.pid if service.process.poll() is None else None

    def kill(self, index: int) -> int:
        """SIGKILL replica ``index`` (no graceful shutdown: a crash); its pid."""
        process = self.services[index].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return process.pid

    def restart(self, index: int) -> int:
        """Start replica ``index`` again on its port; the new pid."""
        self.services[index] = start_playground(self.env, self.ports[index], self.logs[index])
        return self.services[index].pid

    def stop(self) -> None:
        """SIGTERM every replica (SIGKILL when one lingers)."""
        for service in self.services:
            with contextlib.suppress(Exception):
                service.stop()
