"""Who stops the embedded Postgres: ``playground serve`` and ``playground db`` as real processes.

Each test has its own data dir, so its cluster is its own; whatever a test leaves
running is stopped afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from db.embedded import stop_embedded
from tests.fixtures.app import app_settings_env
from tests.fixtures.processes import PROCESS_ENV, serving_url, workers_of
from tests.fixtures.upstream import REPO_ROOT

# Each test starts and stops a cluster or two (initdb included) and serve processes.
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    try:
        yield path
    finally:
        stop_embedded(path)
        shutil.rmtree(tmp_path, ignore_errors=True)


def embedded_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment less DATABASE_URL, plus ``extra``: commands use ``data_dir``'s cluster."""
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    return {**env, **(extra or {}), "PLAYGROUND_DATA_DIR": str(data_dir)}


def playground_db(action: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``playground db <action>`` on ``data_dir``'s embedded Postgres."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "db", action],
        cwd=REPO_ROOT,
        env=embedded_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_running(data_dir: Path) -> None:
    status = playground_db("status", data_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "is running; psql" in status.stdout


def assert_stopped(data_dir: Path) -> None:
    status = playground_db("status", data_dir)
    assert status.returncode == 3, status.stdout + status.stderr
    assert "is not running" in status.stdout


def serve_until(
    sig: int, data_dir: Path, upstream_url: str, args: Sequence[str] = ()
) -> tuple[int, str]:
    """Run serve on ``data_dir`` (with ``args``); once it answers, send ``sig``. Its exit
    code and stderr.

    Not ``start_server``: its reader thread keeps the lines serve prints as it exits out
    of reach, and those lines say what happened to the cluster.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", *args],
        cwd=REPO_ROOT,
        env=embedded_env(data_dir, app_settings_env(upstream_url, PROCESS_ENV)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    output: list[str] = []
    try:
        for line in process.stderr:
            output.append(line)
            if url := serving_url("".join(output), workers_of(args)):
                break
        else:
            raise AssertionError("serve exited before serving:\n" + "".join(output))
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        assert_running(data_dir)
        process.send_signal(sig)
        output.append(process.stderr.read())  # up to its exit, which closes the pipe
        return process.wait(timeout=60), "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    # SIGTERM still ends the process as killed by SIGTERM, as uvicorn meant it to.
    [(signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM)],
    ids=["ctrl-c", "sigterm"],
)
def test_serve_stops_the_embedded_postgres_it_started(
    sig: int, exit_code: int, data_dir: Path, fake_upstream_url: str
) -> None:
    code, output = serve_until(sig, data_dir, fake_upstream_url)
    assert code == exit_code, output
    assert "stopped the embedded Postgres it started" in output
    assert_stopped(data_dir)


def test_serve_with_workers_stops_the_embedded_postgres_after_them(
    data_dir: Path, fake_upstream_url: str
) -> None:
    code, output = serve_until(signal.SIGTERM, data_dir, fake_upstream_url, ["--workers", "2"])
    assert code == -signal.SIGTERM, output
    assert output.count("starting embedded Postgres") == 1
    # Both workers were done with it (their apps shut down) before it stopped.
    stopped = output.index("stopped the embedded Postgres it started")
    assert output.count("Application shutdown complete.", 0, stopped) == 2
    assert_stopped(data_dir)


def test_serve_leaves_a_running_embedded_postgres_to_db_stop(
    data_dir: Path, fake_upstream_url: str
) -> None:
    # db upgrade starts the cluster (and migrates it) and leaves it running.
    assert playground_db("upgrade", data_dir).returncode == 0
    assert_running(data_dir)

    code, output = serve_until(signal.SIGTERM, data_dir, fake_upstream_url)
    assert code == -signal.SIGTERM, output
    assert "left the embedded Postgres running: it was running before" in output
    assert_running(data_dir)

    stop = playground_db("stop", data_dir)
    assert stop.returncode == 0, stop.stderr
    assert "stopped the embedded Postgres" in stop.stderr
    assert_stopped(data_dir)

    again = playground_db("stop", data_dir)
    assert again.returncode == 0
    assert "was not running" in again.stderr


def test_db_status_and_stop_manage_nothing_with_a_database_url(data_dir: Path) -> None:
    url = "postgresql://app@db.invalid/app"
    env = {**os.environ, "DATABASE_URL": url, "PLAYGROUND_DATA_DIR": str(data_dir)}
    for action in ("status", "stop"):
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "db", action],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "DATABASE_URL is set" in done.stdout + done.stderr
    assert not data_dir.exists()
