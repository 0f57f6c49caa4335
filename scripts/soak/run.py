"""One soak run: a fresh database, the chaotic upstream and the replicas; then the
users' load with the kills, the connection kill and the readings; then the checks.

Everything runs on 127.0.0.1 and ends by itself: the users stop at the end of the
load (an action still going then has its own time limit), the chaos schedules
nothing past it, and replies get a bounded time to settle before the checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec

from scripts.bench.cli import environment_notes, machine_info
from scripts.bench.database import open_embedded_database, open_server_database
from scripts.bench.processes import playground_env, start_upstream
from scripts.fake_faults import fault_argv
from scripts.soak.chaos import kill_connections, kill_replicas
from scripts.soak.client import Client
from scripts.soak.invariants import database_checks, rss_bounded
from scripts.soak.journal import Journal
from scripts.soak.records import ChaosEvent, Counters, SoakConfig, SoakResult
from scripts.soak.replicas import ReplicaSet
from scripts.soak.sampler import Sampler, rss_growth
from scripts.soak.users import User

Log = Callable[[str], None]
PROGRESS_S = 10.0
# A read may wait through a 3 s stall, a replica's restart and the reaping of a dead
# owner's reply (a lease, 15 s); past this the stream counts as broken and is resumed.
HTTP_TIMEOUT = httpx.Timeout(45.0, connect=5.0)


def _progress_line(journal: Journal, t: float) -> str:
    c = journal.counters
    return (
        f"[{t:5.0f} s] actions {c.total_actions}, requests {c.requests}, "
        f"replies {c.total_replies} ({c.resumed_streams} resumed), errors {c.errors} "
        f"(no answer {c.connection_errors}, 5xx {len(journal.server_errors)}), kills {c.kills}"
    )


async def _progress(journal: Journal, start: float, stop: asyncio.Event, log: Log) -> None:
    """A line every ten seconds until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PROGRESS_S)
        if not stop.is_set():
            log(_progress_line(journal, loop.time() - start))


async def _users(config: SoakConfig, urls: list[str], journal: Journal, end: float) -> None:
    """Every user, each with an HTTP client of its own, until ``end``."""
    async with contextlib.AsyncExitStack() as stack:
        users = []
        for index in range(config.users):
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=HTTP_TIMEOUT, trust_env=False)
            )
            users.append(User(index, Client(http, urls, journal), seed=config.seed * 1000 + index))
        await asyncio.gather(*(user.run(end) for user in users))


async def _soak(result: SoakResult, replicas: ReplicaSet, database_url: str, log: Log) -> None:
    """The load with its chaos and readings, then the checks, into ``result``."""
    config = result.config
    journal = Journal(counters=result.counters)
    loop = asyncio.get_running_loop()
    start = loop.time()

    def record(kind: str, detail: str, replica: int | None) -> None:
        t = loop.time() - start
        result.chaos.append(ChaosEvent(t=t, kind=kind, detail=detail, replica=replica))
        result.counters.kills += kind == "kill"
        where = "" if replica is None else f" replica {replica}"
        log(f"[{t:5.0f} s] {kind}{where}: {detail}")

    stop = asyncio.Event()
    sampler = Sampler(replicas, database_url, start)
    end = start + config.duration_s
    kills = asyncio.create_task(kill_replicas(replicas, config.kill_every_s, start, end, record))
    blip = None
    if config.blip_at_s is not None:
        blip = asyncio.create_task(kill_connections(database_url, start + config.blip_at_s, record))
    background = [
        asyncio.create_task(sampler.run(stop)),
        asyncio.create_task(_progress(journal, start, stop, log)),
    ]
    try:
        await _users(config, replicas.urls, journal, end)
        await kills
        result.counters.blip_terminated = 0 if blip is None else await blip
        log(_progress_line(journal, loop.time() - start) + "; load stopped, settling")
        checks, settled_s = await database_checks(database_url, journal, config.settle_s)
        log(f"replies settled in {settled_s:.1f} s")
    finally:
        # Only after a failure is anything still scheduled; nothing may outlive the run.
        for task in (kills, blip):
            if task is not None:
                task.cancel()
        stop.set()
        await asyncio.gather(*background)
    result.samples = sampler.samples
    result.rss = rss_growth(sampler.samples, config.warmup_s)
    result.checks = [*checks, rss_bounded(result.rss, config.max_rss_growth_mb, config.warmup_s)]
    result.error_samples = journal.error_samples


def run_soak(
    config: SoakConfig,
    *,
    database_url: str | None,
    log_dir: Path,
    command: str = "",
    log: Log = print,
) -> SoakResult:
    """Run the soak ``config`` describes on a fresh database (on the server of
    ``database_url``, else a fresh embedded cluster); the result. Only the replicas'
    output is written here, into ``log_dir`` (created if missing)."""
    started = time.perf_counter()
    result = SoakResult(
        config=config,
        machine=machine_info(),
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        duration_s=0.0,
        command=command,
        counters=Counters(),
        notes=environment_notes(),
    )
    with tempfile.TemporaryDirectory(prefix="playground-soak-") as temp:
        database = (
            open_server_database(database_url)
            if database_url
            else open_embedded_database(Path(temp))
        )
        try:
            result.config = msgspec.structs.replace(config, database=database.description)
            log(f"database: {database.description}")
            faults = fault_argv(config.faults, config.seed)
            upstream = start_upstream(config.chunks, config.interval_ms, faults)
            try:
                env = playground_env(database.url, upstream.url, config.model, Path(temp) / "data")
                log_dir.mkdir(parents=True, exist_ok=True)
                replicas = ReplicaSet(env, config.replicas, log_dir)
                try:
                    log(f"upstream {upstream.url}; replicas {', '.join(replicas.urls)}")
                    asyncio.run(_soak(result, replicas, database.url, log))
                finally:
                    replicas.stop()
            finally:
                upstream.stop()
        finally:
            database.close()
    result.duration_s = time.perf_counter() - started
    return result
