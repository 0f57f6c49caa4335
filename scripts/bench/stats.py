"""The benchmark's statistics: percentiles, rates and ratios to the direct client.

Everything here is pure (no processes, no I/O), so the numbers the report shows can be
checked on fixed inputs. ``scripts.bench.levels`` measures; this module summarises
into the records of ``scripts.bench.records``; and ``scripts.bench.report`` writes
what it summarised.

Definitions (the report repeats them):

- **TTFT**: from the moment the client starts the request that asks for the reply
  (for the playground: the send, ``POST /api/threads/{id}/messages``; the thread was
  created before the timed window) to the first non-empty content delta it receives.
- **total**: from the same start to the end of the stream (the playground's ``done``).
- **chunks**: upstream content chunks whose text reached the client, counted in the
  received text (``chunk-<i>`` words), so a relay that merges deltas is not penalised
  and one that drops text is.
- **replies/s, chunks/s** (throughput): completed replies, and the chunks of every
  reply, over the run's wall time: from its start to the last request's end. A
  closed-loop level stops starting requests when its duration is up and lets the
  running ones finish, so the wall time is the duration plus at most one reply; an
  open-loop run's wall time is its schedule plus the last reply.
- **relay CPU**: user + system CPU seconds of the relay process and its children
  during the run; per 1,000 chunks and its inverse, chunks per CPU-second (the
  relay's capacity).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from scripts.bench.records import (
    DIRECT,
    LITELLM,
    BenchResult,
    Comparison,
    LevelResult,
    LoadResult,
    Percentiles,
    ProcessUsage,
    RateComparison,
    RateResult,
    RequestSample,
    SqlMethod,
    SqlRun,
    SqlUsage,
    StatementCount,
    TargetResult,
    is_playground,
)

# A rate is sustained while the slowest replies (p99) take at most this many times the
# upstream's paced reply time; beyond it, replies wait for each other.
KEEPS_UP_FACTOR = 1.5


class Readings(NamedTuple):
    """What each process tree used during one load (None: not part of this target)."""

    relay: ProcessUsage | None = None
    upstream: ProcessUsage | None = None
    database: ProcessUsage | None = None
    client: ProcessUsage | None = None
    # Busy CPU of the machine that none of the above used: other processes, the kernel.
    other: ProcessUsage | None = None


NO_READINGS = Readings()


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    The same definition as numpy's default (``method="linear"``): the rank is
    ``q/100 x (n - 1)`` into the sorted values.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles_ms(seconds: Sequence[float]) -> Percentiles | None:
    """p50/p95/p99 of durations given in seconds, in milliseconds (None when empty)."""
    if not seconds:
        return None
    millis = [s * 1000 for s in seconds]
    return Percentiles(
        p50=percentile(millis, 50), p95=percentile(millis, 95), p99=percentile(millis, 99)
    )


def rate(count: float, seconds: float) -> float:
    """``count`` per second over ``seconds`` (0 for an empty window)."""
    return count / seconds if seconds > 0 else 0.0


def process_usage(cpu_s: float, wall_s: float, peak_rss_bytes: int | None = None) -> ProcessUsage:
    """A process tree's CPU over a window, as seconds and as a share of one core."""
    return ProcessUsage(
        cpu_s=cpu_s,
        cpu_share=rate(cpu_s, wall_s),
        peak_rss_mb=None if peak_rss_bytes is None else peak_rss_bytes / 2**20,
    )


def _summary(
    samples: Sequence[RequestSample], wall_s: float, relay: ProcessUsage | None
) -> dict[str, Any]:
    """The fields every load result has, from its samples, wall time and relay CPU."""
    ok = [s for s in samples if s.ok]
    chunks = sum(s.chunks for s in samples)
    errors = [s for s in samples if not s.ok]
    totals = [s.total_s for s in ok]
    per_1k = capacity = None
    if relay is not None and chunks:
        per_1k = relay.cpu_s / chunks * 1000
        capacity = chunks / relay.cpu_s if relay.cpu_s > 0 else None
    return {
        "requests": len(samples),
        "completed": len(ok),
        "errors": len(errors),
        "wall_s": wall_s,
        "ttft_ms": percentiles_ms([s.ttft_s for s in ok if s.ttft_s is not None]),
        "total_ms_p50": percentile(totals, 50) * 1000 if ok else None,
        "total_ms_p99": percentile(totals, 99) * 1000 if ok else None,
        "requests_per_s": rate(len(ok), wall_s),
        "chunks": chunks,
        "deltas": sum(s.deltas for s in samples),
        "chunks_per_s": rate(chunks, wall_s),
        "relay": relay,
        "relay_cpu_s_per_1k_chunks": per_1k,
        "relay_chunks_per_cpu_s": capacity,
        # A handful of distinct messages is enough to say what went wrong.
        "error_samples": list(dict.fromkeys(s.error or "unknown error" for s in errors))[:5],
    }


def summarise_level(
    *,
    target: str,
    concurrency: int,
    samples: Sequence[RequestSample],
    wall_s: float,
    expected_chunks_per_reply: int,
    peak_in_flight: int = 0,
    readings: Readings = NO_READINGS,
    sql: SqlUsage | None = None,
) -> LevelResult:
    """Reduce one closed-loop level's samples and resource readings to its result row."""
    return LevelResult(
        target=target,
        concurrency=concurrency,
        expected_chunks_per_reply=expected_chunks_per_reply,
        peak_in_flight=peak_in_flight,
        upstream=readings.upstream,
        database=readings.database,
        client=readings.client,
        other=readings.other,
        sql=sql,
        **_summary(samples, wall_s, readings.relay),
    )


def summarise_rate(
    *,
    target: str,
    offered_rate: float,
    samples: Sequence[RequestSample],
    wall_s: float,
    expected_chunks_per_reply: int,
    start_lags_s: Sequence[float],
    peak_in_flight: int = 0,
    readings: Readings = NO_READINGS,
    sql: SqlUsage | None = None,
) -> RateResult:
    """Reduce one open-loop rate's samples and resource readings to its result row."""
    return RateResult(
        target=target,
        offered_rate=offered_rate,
        start_lag_ms_p99=percentile(start_lags_s, 99) * 1000 if start_lags_s else None,
        expected_chunks_per_reply=expected_chunks_per_reply,
        peak_in_flight=peak_in_flight,
        upstream=readings.upstream,
        database=readings.database,
        client=readings.client,
        other=readings.other,
        sql=sql,
        **_summary(samples, wall_s, readings.relay),
    )


def per_reply(count: float, replies: int) -> float | None:
    """``count`` divided over ``replies`` (None without a reply)."""
    return count / replies if replies else None


def sql_run(
    *,
    chunks: int,
    interval_ms: float,
    replies: int,
    errors: int,
    method: SqlMethod,
    count: int,
    background_per_s: float,
    duration_s: float,
    by_query: dict[str, int] | None = None,
    reply_ms_p50: float | None = None,
    top: int = 12,
) -> SqlRun:
    """Statements per reply with the idle background rate taken out (never below zero)."""
    net = max(count - background_per_s * duration_s, 0.0)
    ranked = sorted((by_query or {}).items(), key=lambda item: (-item[1], item[0]))[:top]
    return SqlRun(
        chunks=chunks,
        interval_ms=interval_ms,
        replies=replies,
        errors=errors,
        method=method,
        count=count,
        background_per_s=background_per_s,
        duration_s=duration_s,
        per_reply=per_reply(net, replies),
        reply_ms_p50=reply_ms_p50,
        top=[
            StatementCount(query=query, per_reply=calls / replies)
            for query, calls in ranked
            if replies
        ],
    )


def level_at(target: TargetResult | None, concurrency: int) -> LevelResult | None:
    """The closed-loop level of ``target`` at ``concurrency``, if it ran and is there."""
    if target is None or target.status != "ok":
        return None
    return next((lv for lv in target.levels if lv.concurrency == concurrency), None)


def rate_at(target: TargetResult | None, offered_rate: float) -> RateResult | None:
    """The open-loop run of ``target`` at ``offered_rate``, if it ran and is there."""
    if target is None or target.status != "ok":
        return None
    return next((r for r in target.rates if r.offered_rate == offered_rate), None)


def overhead_ms(
    load: LoadResult, direct: LoadResult | None, statistic: str = "p50"
) -> float | None:
    """TTFT ``statistic`` (p50, p95, p99) of ``load`` minus direct's under the same load."""
    if direct is None or load.ttft_ms is None or direct.ttft_ms is None:
        return None
    value: float = getattr(load.ttft_ms, statistic) - getattr(direct.ttft_ms, statistic)
    return value


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def compare(result: BenchResult) -> list[Comparison]:
    """Every relay level against direct at the same concurrency (and, for the playground,
    its capacity against LiteLLM's)."""
    direct = result.target(DIRECT)
    litellm = result.target(LITELLM)
    rows: list[Comparison] = []
    for target in result.targets:
        if target.name == DIRECT or target.status != "ok":
            continue
        for level in target.levels:
            base = level_at(direct, level.concurrency)
            capacity = None
            if is_playground(target.name):
                other = level_at(litellm, level.concurrency)
                capacity = ratio(
                    level.relay_chunks_per_cpu_s,
                    other.relay_chunks_per_cpu_s if other else None,
                )
            rows.append(
                Comparison(
                    target=target.name,
                    concurrency=level.concurrency,
                    ttft_p50_overhead_ms=overhead_ms(level, base),
                    throughput_ratio=ratio(level.chunks_per_s, base.chunks_per_s if base else None),
                    capacity_vs_litellm=capacity,
                )
            )
    return rows


def compare_rates(result: BenchResult) -> list[RateComparison]:
    """Every relay's open-loop rate against direct at the same rate (same arrivals)."""
    direct = result.target(DIRECT)
    rows: list[RateComparison] = []
    for target in result.targets:
        if target.name == DIRECT or target.status != "ok":
            continue
        for run in target.rates:
            base = rate_at(direct, run.offered_rate)
            rows.append(
                RateComparison(
                    target=target.name,
                    offered_rate=run.offered_rate,
                    ttft_p50_overhead_ms=overhead_ms(run, base, "p50"),
                    ttft_p95_overhead_ms=overhead_ms(run, base, "p95"),
                )
            )
    return rows


def keeps_up(run: RateResult, reply_s: float) -> bool:
    """Whether a target sustained an arrival rate: every reply arrived whole, and even
    the slowest (p99) took at most :data:`KEEPS_UP_FACTOR` times the upstream's paced
    reply time ``reply_s``, so replies did not queue behind each other."""
    return (
        run.requests > 0
        and run.errors == 0
        and run.completed == run.requests
        and run.total_ms_p99 is not None
        and run.total_ms_p99 <= KEEPS_UP_FACTOR * reply_s * 1000
    )
