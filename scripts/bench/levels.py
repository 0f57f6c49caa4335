"""Measuring one target: its closed-loop levels, its open-loop rates, the SQL runs.

A target hands in a :data:`LevelFactory` (how to send requests to it) and the meters
of the processes sharing the machine; everything here is the same for every target,
so their numbers compare. A target is warmed up, then runs each concurrency level for
``level_seconds`` (``loops.run_closed``), then each arrival rate for
``rate_seconds`` (``loops.run_open``, the same seeded arrivals for every target).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from scripts.bench.load import PROMPT, RequestFn
from scripts.bench.loops import LoadRun, poisson_schedule, run_closed, run_open
from scripts.bench.meters import Meters, Window
from scripts.bench.records import (
    BenchConfig,
    LevelResult,
    LoadResult,
    RateResult,
    RequestSample,
    SqlRun,
    SqlUsage,
)
from scripts.bench.stats import (
    Readings,
    per_reply,
    percentile,
    sql_run,
    summarise_level,
    summarise_rate,
)
from scripts.fake_upstream import reply_text

if TYPE_CHECKING:
    from scripts.bench.database import BenchDatabase, SqlCounter

Log = Callable[[str], None]
# (pool size, most requests, prompt, expected reply) -> a client that sends them.
LevelFactory = Callable[[int, int, str, str], contextlib.AbstractAsyncContextManager[RequestFn]]
# After a level, background work it caused (the last event batches, final writes)
# gets this long before the statement counter is read again.
SETTLE_S = 0.5
# A reply is assumed to take at least this long when bounding a level's requests
# (an upstream without pacing), so the bound stays finite.
SHORTEST_REPLY_S = 0.01


def level_bound(config: BenchConfig, concurrency: int) -> int:
    """The most requests a closed-loop level can send: each worker one per paced reply
    (the upstream makes every reply last ``reply_s``), plus the one it is running when
    the time is up. The playground creates this many threads beforehand."""
    per_worker = math.floor(config.level_seconds / max(config.reply_s, SHORTEST_REPLY_S)) + 1
    return concurrency * per_worker


def _progress_line(load: LoadResult, label: str) -> str:
    ttft = load.ttft_ms
    parts = [
        f"{load.target:<13} {label:<7}",
        f"{load.completed}/{load.requests} ok",
        f"TTFT p50/p95/p99 {ttft.p50:.1f}/{ttft.p95:.1f}/{ttft.p99:.1f} ms" if ttft else "TTFT n/a",
        f"{load.requests_per_s:.1f} replies/s",
        f"{load.chunks_per_s:.0f} chunks/s",
    ]
    if load.relay_cpu_s_per_1k_chunks is not None:
        parts.append(f"relay CPU {load.relay_cpu_s_per_1k_chunks:.3f} s/1k chunks")
    if load.relay and load.relay.peak_rss_mb is not None:
        parts.append(f"RSS {load.relay.peak_rss_mb:.0f} MB")
    if load.sql and load.sql.per_reply is not None:
        parts.append(f"SQL/reply {load.sql.per_reply:.1f}")
    if load.errors:
        parts.append(f"errors: {'; '.join(load.error_samples)}")
    return "  ".join(parts)


async def _sql_usage(
    database: BenchDatabase, before: int, samples: list[RequestSample]
) -> SqlUsage:
    """Statements counted since ``before``, once the level's background work settled."""
    await asyncio.sleep(SETTLE_S)
    count = await database.counter.total() - before
    done = sum(1 for s in samples if s.ok)
    return SqlUsage(method=database.counter.method, count=count, per_reply=per_reply(count, done))


# Drives one run of a loop: (the request function, the progress callback) -> its run.
Drive = Callable[[RequestFn, Callable[[], object]], Awaitable[LoadRun]]


async def _metered(
    factory: LevelFactory,
    sizes: tuple[int, int],
    expected: str,
    meters: Meters,
    database: BenchDatabase | None,
    progress: tqdm[Any],
    drive: Drive,
) -> tuple[LoadRun, Readings, SqlUsage | None]:
    """One run of ``drive`` on a client of ``sizes`` (pool, most requests) expecting
    ``expected`` as every reply, with every process's CPU, the relay's peak RSS and
    (with ``database``) the statements run."""
    pool, total = sizes
    async with factory(pool, total, PROMPT, expected) as request:
        sql_before = await database.counter.total() if database else None
        with progress, Window(meters) as window:
            run = await drive(request, progress.update)
    sql = None
    if database is not None and sql_before is not None:
        sql = await _sql_usage(database, sql_before, run.samples)
    return run, window.readings(run.wall_s), sql


async def _run_one_level(
    name: str,
    concurrency: int,
    factory: LevelFactory,
    meters: Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
) -> LevelResult:
    """``concurrency`` workers back to back for ``level_seconds``, every process metered."""
    total = level_bound(config, concurrency)
    run, readings, sql = await _metered(
        factory,
        (concurrency, total),
        reply_text(config.chunks),
        meters,
        database,
        tqdm(desc=f"{name} c={concurrency}", unit=" replies", leave=False, disable=None),
        lambda request, done: run_closed(
            request,
            concurrency,
            total=total,
            duration_s=config.level_seconds,
            timeout_s=config.level_seconds + config.level_timeout_s,
            on_done=done,
        ),
    )
    return summarise_level(
        target=name,
        concurrency=concurrency,
        samples=run.samples,
        wall_s=run.wall_s,
        expected_chunks_per_reply=config.chunks,
        peak_in_flight=run.peak_in_flight,
        readings=readings,
        sql=sql,
    )


async def _run_one_rate(
    name: str,
    offered: float,
    factory: LevelFactory,
    meters: Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
) -> RateResult:
    """Poisson arrivals at ``offered`` per second for ``rate_seconds``, every process metered."""
    schedule = poisson_schedule(offered, config.rate_seconds, config.seed)
    total = len(schedule)
    run, readings, sql = await _metered(
        factory,
        # Pool size: every request of the schedule, so none ever waits for a connection.
        (total, total),
        reply_text(config.chunks),
        meters,
        database,
        tqdm(total=total, desc=f"{name} {offered:g}/s", leave=False, disable=None),
        lambda request, done: run_open(
            request,
            schedule,
            timeout_s=config.rate_seconds + config.level_timeout_s,
            on_done=done,
        ),
    )
    return summarise_rate(
        target=name,
        offered_rate=offered,
        samples=run.samples,
        wall_s=run.wall_s,
        expected_chunks_per_reply=config.chunks,
        start_lags_s=run.start_lags_s,
        peak_in_flight=run.peak_in_flight,
        readings=readings,
        sql=sql,
    )


async def run_loads(
    name: str,
    factory: LevelFactory,
    meters: Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
    log: Log,
) -> tuple[list[LevelResult], list[RateResult]]:
    """Warm ``name`` up, then run every level and every rate of ``config``; one progress
    line each."""
    expected = reply_text(config.chunks)
    total = config.warmup_requests
    async with factory(1, total, PROMPT, expected) as request:
        warm = await run_closed(request, 1, total=total, timeout_s=config.level_timeout_s)
    if not any(s.ok for s in warm.samples):
        first = warm.samples[0].error if warm.samples else "?"
        log(f"{name}: every warm-up request failed: {first}")
    levels: list[LevelResult] = []
    for concurrency in config.levels:
        level = await _run_one_level(name, concurrency, factory, meters, config, database)
        log(_progress_line(level, f"c={concurrency}"))
        levels.append(level)
        # Let the previous level's stragglers (timers, pool cleanup) settle.
        await asyncio.sleep(1.0)
    rates: list[RateResult] = []
    for offered in config.rates:
        run = await _run_one_rate(name, offered, factory, meters, config, database)
        lag = f"  start lag p99 {run.start_lag_ms_p99:.1f} ms" if run.start_lag_ms_p99 else ""
        log(_progress_line(run, f"{offered:g}/s") + lag)
        rates.append(run)
        await asyncio.sleep(1.0)
    return levels, rates


async def _sql_run(
    factory: LevelFactory,
    counter: SqlCounter,
    config: BenchConfig,
    chunks: int,
    interval_ms: float,
    content: str,
) -> SqlRun:
    """``sql_requests`` sequential replies of ``chunks`` chunks, statements counted around."""
    total = config.sql_requests
    async with factory(1, total, content, reply_text(chunks)) as request:
        idle_start = await counter.total()
        await asyncio.sleep(config.sql_idle_s)
        start_count = await counter.total()
        before = await counter.by_query()
        background = (start_count - idle_start) / config.sql_idle_s
        started = time.perf_counter()
        samples = (
            await run_closed(request, 1, total=total, timeout_s=config.level_timeout_s)
        ).samples
        await asyncio.sleep(SETTLE_S)
        end_count = await counter.total()
        after = await counter.by_query()
        duration = time.perf_counter() - started
    diff = {q: calls - before.get(q, 0) for q, calls in after.items() if calls > before.get(q, 0)}
    ok = [s.total_s for s in samples if s.ok]
    return sql_run(
        chunks=chunks,
        interval_ms=interval_ms,
        replies=len(samples),
        errors=len(samples) - len(ok),
        method=counter.method,
        count=end_count - start_count,
        background_per_s=background,
        duration_s=duration,
        by_query=diff,
        reply_ms_p50=percentile(ok, 50) * 1000 if ok else None,
    )


async def sql_runs(
    factory: LevelFactory, database: BenchDatabase, config: BenchConfig, log: Log
) -> list[SqlRun]:
    """Statements per reply at ``chunks`` and ``sql_chunks`` per reply, same duration each."""
    # Pace the long reply to last as long as the default one: a time-based flush then
    # does the same work in both, and only the number of chunks differs.
    slow_ms = round(config.chunks * config.interval_ms / max(config.sql_chunks, 1))
    runs = [
        (config.chunks, config.interval_ms, PROMPT),
        (
            config.sql_chunks,
            float(slow_ms),
            f"{PROMPT} [[chunks:{config.sql_chunks}]] [[slow:{slow_ms}]]",
        ),
    ]
    results: list[SqlRun] = []
    for chunks, interval_ms, content in runs:
        run = await _sql_run(factory, database.counter, config, chunks, interval_ms, content)
        value = "n/a" if run.per_reply is None else f"{run.per_reply:.1f}"
        log(
            f"playground SQL at {chunks} chunks/reply: {value} per reply ({run.count} counted"
            f" over {run.replies} replies, background {run.background_per_s:.2f}/s,"
            f" {run.method})"
        )
        results.append(run)
    return results
