"""Measuring one target: its concurrency levels, and the playground's SQL runs.

A target hands in a :data:`LevelFactory` (how to send requests to it) and the meters
of the processes sharing the machine; everything here is the same for every target,
so their numbers compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tqdm import tqdm

from scripts.bench.load import PROMPT, RequestFn, run_level
from scripts.bench.meters import PeakRss, TreeMeter
from scripts.bench.records import (
    BenchConfig,
    LevelResult,
    ProcessUsage,
    RequestSample,
    SqlRun,
    SqlUsage,
)
from scripts.bench.stats import per_reply, percentile, process_usage, sql_run, summarise_level
from scripts.fake_upstream import reply_text

if TYPE_CHECKING:
    from scripts.bench.database import BenchDatabase, SqlCounter

Log = Callable[[str], None]
# (concurrency, total requests, prompt, expected reply) -> a client that sends them.
LevelFactory = Callable[[int, int, str, str], contextlib.AbstractAsyncContextManager[RequestFn]]
# After a level, background work it caused (the last event batches, final writes)
# gets this long before the statement counter is read again.
SETTLE_S = 0.5


class Meters:
    """Readings of every process that shares the machine during a level."""

    def __init__(
        self,
        relay: TreeMeter | None,
        upstream: TreeMeter,
        database: TreeMeter | None,
        client: TreeMeter,
    ) -> None:
        self.relay, self.upstream, self.database, self.client = relay, upstream, database, client

    def cpu(self) -> tuple[float | None, float, float | None, float]:
        """CPU seconds so far of the relay, upstream, database and client (None: not run)."""
        return (
            self.relay.cpu_s() if self.relay else None,
            self.upstream.cpu_s(),
            self.database.cpu_s() if self.database else None,
            self.client.cpu_s(),
        )


def _usage(
    before: float | None, after: float | None, wall: float, peak: int | None = None
) -> ProcessUsage | None:
    if before is None or after is None:
        return None
    return process_usage(after - before, wall, peak)


def _progress_line(level: LevelResult) -> str:
    ttft = level.ttft_ms
    parts = [
        f"{level.target:<10} c={level.concurrency:<4}",
        f"{level.completed}/{level.requests} ok",
        f"TTFT p50/p95/p99 {ttft.p50:.1f}/{ttft.p95:.1f}/{ttft.p99:.1f} ms" if ttft else "TTFT n/a",
        f"{level.requests_per_s:.1f} req/s",
        f"{level.chunks_per_s:.0f} chunks/s",
    ]
    if level.relay_cpu_s_per_1k_chunks is not None:
        parts.append(f"relay CPU {level.relay_cpu_s_per_1k_chunks:.3f} s/1k chunks")
    if level.relay and level.relay.peak_rss_mb is not None:
        parts.append(f"RSS {level.relay.peak_rss_mb:.0f} MB")
    if level.sql and level.sql.per_reply is not None:
        parts.append(f"SQL/reply {level.sql.per_reply:.1f}")
    if level.errors:
        parts.append(f"errors: {'; '.join(level.error_samples)}")
    return "  ".join(parts)


async def _sql_usage(
    database: BenchDatabase, before: int, samples: list[RequestSample]
) -> SqlUsage:
    """Statements counted since ``before``, once the level's background work settled."""
    await asyncio.sleep(SETTLE_S)
    count = await database.counter.total() - before
    done = sum(1 for s in samples if s.ok)
    return SqlUsage(method=database.counter.method, count=count, per_reply=per_reply(count, done))


async def _run_one_level(
    name: str,
    concurrency: int,
    factory: LevelFactory,
    meters: Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
) -> LevelResult:
    total = config.requests_for(concurrency)
    async with factory(concurrency, total, PROMPT, reply_text(config.chunks)) as request:
        sql_before = await database.counter.total() if database else None
        cpu_before = meters.cpu()
        with (
            tqdm(total=total, desc=f"{name} c={concurrency}", leave=False, disable=None) as bar,
            PeakRss(meters.relay) if meters.relay else contextlib.nullcontext() as rss,
        ):
            samples, wall = await run_level(
                request, total, concurrency, config.level_timeout_s, bar.update
            )
        cpu_after = meters.cpu()
    sql = None
    if database is not None and sql_before is not None:
        sql = await _sql_usage(database, sql_before, samples)
    return summarise_level(
        target=name,
        concurrency=concurrency,
        samples=samples,
        wall_s=wall,
        expected_chunks_per_reply=config.chunks,
        relay=_usage(cpu_before[0], cpu_after[0], wall, rss.peak if rss else None),
        upstream=_usage(cpu_before[1], cpu_after[1], wall),
        database=_usage(cpu_before[2], cpu_after[2], wall),
        client=_usage(cpu_before[3], cpu_after[3], wall),
        sql=sql,
    )


async def run_levels(
    name: str,
    factory: LevelFactory,
    meters: Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
    log: Log,
) -> list[LevelResult]:
    """Warm ``name`` up, then run every level of ``config``; one progress line per level."""
    expected = reply_text(config.chunks)
    async with factory(1, config.warmup_requests, PROMPT, expected) as request:
        warm, _ = await run_level(request, config.warmup_requests, 1, config.level_timeout_s)
    if not any(s.ok for s in warm):
        log(f"{name}: every warm-up request failed: {warm[0].error if warm else '?'}")
    results: list[LevelResult] = []
    for concurrency in config.levels:
        level = await _run_one_level(name, concurrency, factory, meters, config, database)
        log(_progress_line(level))
        results.append(level)
        # Let the previous level's stragglers (timers, pool cleanup) settle.
        await asyncio.sleep(1.0)
    return results


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
        samples, _ = await run_level(request, total, 1, config.level_timeout_s)
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
