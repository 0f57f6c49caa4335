"""The benchmark's processes: the fake upstream and the playground, as services of ours.

Each one runs as a separate process on loopback, started here and stopped by the
caller, and is measured from the outside (``scripts.bench.meters``), so the numbers
include everything the process does, not what it reports about itself. LiteLLM's
proxy is started the same way, from ``scripts.bench.litellm_proxy``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

# The checkout, two levels up: its children run ``-m api.cli`` and ``-m scripts...`` from there.
REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
# Children of ours must never send loopback traffic through a proxy from the environment.
NO_PROXY_ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

_UVICORN_READY = re.compile(r"Uvicorn running on (http://\S+)")
_UPSTREAM_READY = re.compile(r"listening on (http://\S+)")


@dataclass
class Service:
    """A process of ours, its base URL, and the tail of what it printed (for errors)."""

    name: str
    process: subprocess.Popen[str]
    url: str = ""
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        """The last lines it printed."""
        return "".join(list(self.output)[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL when it lingers; then any children it left behind."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            children = []
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()


def start_service(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    ready: re.Pattern[str],
    *,
    timeout: float = 60.0,
    cwd: Path = REPO_ROOT,
    log_path: Path | None = None,
) -> Service:
    """Start ``argv`` and wait for a line matching ``ready`` (group 1 is the base URL).

    stdout and stderr are merged and drained by a thread for the process's whole life,
    so a chatty process (access logs) can never block on a full pipe. With
    ``log_path`` every line is also appended to that file (the tail kept in memory is
    too short to find a traceback after a long run).
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = Service(name=name, process=process)
    found = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(log_path.open("a")) if log_path else None
            for line in process.stdout:
                service.output.append(line)
                if log is not None:
                    log.write(line)
                if not found.is_set():
                    match = ready.search(line)
                    if match:
                        service.url = match.group(1)
                        found.set()
        found.set()

    threading.Thread(target=drain, name=f"drain-{name}", daemon=True).start()
    if not found.wait(timeout) or not service.url:
        service.stop()
        raise RuntimeError(f"{name} did not start:\n{service.tail()}")
    return service


def start_upstream(chunks: int, interval_ms: float, extra_args: Sequence[str] = ()) -> Service:
    """The fake OpenAI-compatible upstream (``scripts.fake_upstream``) on a free port;
    ``extra_args`` are more of its flags (the soak's fault rates)."""
    argv = [
        sys.executable,
        "-m",
        "scripts.fake_upstream",
        "--host",
        LOOPBACK,
        "--port",
        "0",
        "--chunks",
        str(chunks),
        "--interval-ms",
        str(interval_ms),
        *extra_args,
    ]
    service = start_service("upstream", argv, {**os.environ, **NO_PROXY_ENV}, _UPSTREAM_READY)
    service.url += "/v1"
    return service


def playground_env(
    database_url: str, upstream_url: str, model: str, data_dir: Path
) -> dict[str, str]:
    """The playground's environment: the upstream as its only model, no SDK retries.

    Other ``PLAYGROUND_*`` variables of the caller pass through, so a tuning experiment
    (``PLAYGROUND_DB_POOL_SIZE=30 playground bench``) is one command; the run records them.
    """
    return {
        **os.environ,
        **NO_PROXY_ENV,
        "DATABASE_URL": database_url,
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": upstream_url,
        "PLAYGROUND_MODELS": model,
        "PLAYGROUND_DEFAULT_MODEL": model,
        # Retries would hide errors; the direct and LiteLLM clients do not retry either.
        "PLAYGROUND_UPSTREAM_MAX_RETRIES": "0",
        "PLAYGROUND_DATA_DIR": str(data_dir),
    }


def playground_argv(port: int = 0, workers: int = 1) -> list[str]:
    """``playground serve`` on loopback ``port``; ``--workers N`` only when N > 1, so the
    one-worker command stays the one every version of ``serve`` accepts."""
    argv = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        # The default level; it also prints the "Uvicorn running on" line read here.
        "--log-level",
        "info",
    ]
    if workers > 1:
        argv += ["--workers", str(workers)]
    return argv


def start_playground(
    env: Mapping[str, str], port: int = 0, log_path: Path | None = None, *, workers: int = 1
) -> Service:
    """``playground serve`` with ``workers`` worker processes, on loopback ``port`` (0: a
    free one; a replica restarted by the soak comes back on the port it had), its output
    also appended to ``log_path`` when given."""
    argv = playground_argv(port, workers)
    return start_service("playground", argv, env, _UVICORN_READY, timeout=120, log_path=log_path)


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
