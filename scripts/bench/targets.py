"""The three targets: how each is started, sent requests, measured and stopped.

- **direct**: the OpenAI SDK straight to the fake upstream, the physical limit.
- **playground**: ``playground serve`` (``--workers N``) on a fresh database, one fresh
  thread per send.
- **litellm**: LiteLLM's proxy from its own venv (``scripts.bench.litellm_proxy``).

Each ``run_*`` function starts what it needs and stops it again before returning, so
targets never share the machine with each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai

from scripts.bench.database import open_embedded_database, open_server_database
from scripts.bench.levels import LevelFactory, Log, run_loads, sql_runs
from scripts.bench.litellm_proxy import (
    LITELLM_SPEC,
    install_litellm,
    litellm_version,
    start_litellm,
)
from scripts.bench.load import (
    RequestFn,
    create_threads,
    openai_client,
    openai_request,
    playground_client,
    playground_request,
)
from scripts.bench.meters import Meters, TreeMeter
from scripts.bench.processes import playground_env, start_playground
from scripts.bench.records import (
    DIRECT,
    LITELLM,
    BenchConfig,
    LevelResult,
    RateResult,
    RequestSample,
    SqlRun,
    TargetResult,
    playground_name,
)


def _openai_factory(base_url: str, api_key: str, config: BenchConfig) -> LevelFactory:
    @contextlib.asynccontextmanager
    async def factory(
        pool: int, total: int, content: str, expected: str
    ) -> AsyncIterator[RequestFn]:
        async with openai_client(base_url, api_key, pool, config.level_timeout_s) as client:

            async def request(_: int) -> RequestSample:
                return await openai_request(client, config.model, content, expected)

            yield request

    return factory


def _playground_factory(base_url: str, config: BenchConfig) -> LevelFactory:
    @contextlib.asynccontextmanager
    async def factory(
        pool: int, total: int, content: str, expected: str
    ) -> AsyncIterator[RequestFn]:
        async with playground_client(base_url, pool, config.level_timeout_s) as http:
            # One fresh thread per request, created before the timed window: a send
            # then measures the relay, not thread creation or a growing history.
            threads = await create_threads(http, config.model, total)

            async def request(index: int) -> RequestSample:
                return await playground_request(http, threads[index], content, expected)

            yield request

    return factory


def _client_meter() -> TreeMeter:
    """The benchmark's own process; its children are the measured servers, not the client."""
    return TreeMeter(os.getpid(), children=False)


def _wait_healthy(url: str, timeout: float = 60.0) -> None:
    """Poll the playground's ``/healthz`` until it answers 200 (with several workers the
    supervisor says it is running before they are)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, trust_env=False, timeout=2) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/healthz").status_code == 200:
                    return
            time.sleep(0.2)
    raise RuntimeError(f"{url}/healthz did not answer 200 within {timeout:g} s")


def _idle_rss_mb(meter: TreeMeter) -> float:
    """Resident memory of the idle tree once start-up is over: after a second, as soon as
    two readings half a second apart differ by less than 1 MB (at most 10 s)."""
    time.sleep(1.0)
    last = meter.rss_bytes()
    for _ in range(18):
        time.sleep(0.5)
        now = meter.rss_bytes()
        if abs(now - last) < 2**20:
            break
        last = now
    return now / 2**20


def run_direct(
    upstream_url: str, upstream: TreeMeter, config: BenchConfig, log: Log
) -> TargetResult:
    """The SDK straight to the upstream at every level: the baseline the relays are held to."""
    meters = Meters(None, upstream, None, _client_meter())
    factory = _openai_factory(upstream_url, "bench-key", config)
    levels, rates = asyncio.run(run_loads(DIRECT, factory, meters, config, None, log))
    return TargetResult(
        name=DIRECT,
        status="ok",
        version=f"openai {openai.__version__}",
        levels=levels,
        rates=rates,
    )


def run_playground(
    upstream_url: str,
    upstream: TreeMeter,
    config: BenchConfig,
    database_url: str | None,
    work_dir: Path,
    log: Log,
    *,
    workers: int = 1,
    with_sql: bool = True,
) -> tuple[TargetResult, list[SqlRun], str]:
    """The playground with ``workers`` worker processes on a fresh database: its levels
    and rates, its SQL runs (when ``with_sql``), and that database's description."""
    name = playground_name(workers)
    log(f"{name}: preparing a fresh database…")
    database = (
        open_server_database(database_url) if database_url else open_embedded_database(work_dir)
    )
    try:
        log(f"{name}: {database.description}; counting with {database.counter.method}")
        env = playground_env(database.url, upstream_url, config.model, work_dir / "data")
        service = start_playground(env, workers=workers)
        try:
            _wait_healthy(service.url)
            meter = TreeMeter(service.pid)
            idle = _idle_rss_mb(meter)
            log(f"{name}: {workers} worker(s) on {service.url}, idle RSS {idle:.0f} MB")
            meters = Meters(
                meter,
                upstream,
                TreeMeter(database.server_pid) if database.server_pid else None,
                _client_meter(),
            )
            factory = _playground_factory(service.url, config)

            async def measure() -> tuple[list[LevelResult], list[RateResult], list[SqlRun]]:
                levels, rates = await run_loads(name, factory, meters, config, database, log)
                sql = await sql_runs(factory, database, config, log) if with_sql else []
                return levels, rates, sql

            levels, rates, sql = asyncio.run(measure())
        except Exception:
            log(f"{name} output (tail):\n" + service.tail())
            raise
        finally:
            service.stop()
        target = TargetResult(
            name=name,
            status="ok",
            workers=workers,
            idle_rss_mb=idle,
            levels=levels,
            rates=rates,
        )
        return target, sql, database.description
    finally:
        database.close()


def run_litellm(
    upstream_url: str,
    upstream: TreeMeter,
    config: BenchConfig,
    work_dir: Path,
    install: str,
    log: Log,
) -> TargetResult:
    """LiteLLM's proxy at every level (installed first when ``install`` says so)."""
    version = litellm_version()
    wanted = install == "always" or (version is None and install == "auto")
    if wanted and install_litellm(config.litellm_spec or LITELLM_SPEC, log=log):
        version = litellm_version()
    if version is None:
        return TargetResult(name=LITELLM, status="not installed")
    log(f"litellm {version}: starting the proxy…")
    service, key = start_litellm(upstream_url, config.model, work_dir)
    try:
        meter = TreeMeter(service.pid)
        idle = _idle_rss_mb(meter)
        log(f"litellm: serving on {service.url}, idle RSS {idle:.0f} MB")
        meters = Meters(meter, upstream, None, _client_meter())
        factory = _openai_factory(service.url, key, config)
        levels, rates = asyncio.run(run_loads(LITELLM, factory, meters, config, None, log))
    except Exception:
        log("litellm output (tail):\n" + service.tail())
        raise
    finally:
        service.stop()
    return TargetResult(
        name=LITELLM,
        status="ok",
        version=f"litellm {version}",
        # Started with --num_workers 1, as the playground's one-worker run.
        workers=1,
        idle_rss_mb=idle,
        levels=levels,
        rates=rates,
    )
