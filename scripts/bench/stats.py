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
- **requests/s, chunks/s**: over the level's wall time, from the first request's start
  to the last one's end.
- **relay CPU**: user + system CPU seconds of the relay process and its children
  during the level; per 1,000 chunks and its inverse, chunks per CPU-second (the
  relay's capacity per worker process).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scripts.bench.records import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    BenchResult,
    Comparison,
    LevelResult,
    Percentiles,
    ProcessUsage,
    RequestSample,
    SqlMethod,
    SqlRun,
    SqlUsage,
    StatementCount,
    TargetCheck,
    TargetResult,
)


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


def summarise_level(
    *,
    target: str,
    concurrency: int,
    samples: Sequence[RequestSample],
    wall_s: float,
    expected_chunks_per_reply: int,
    relay: ProcessUsage | None = None,
    upstream: ProcessUsage | None = None,
    database: ProcessUsage | None = None,
    client: ProcessUsage | None = None,
    sql: SqlUsage | None = None,
) -> LevelResult:
    """Reduce one level's request samples and resource readings to its result row."""
    ok = [s for s in samples if s.ok]
    chunks = sum(s.chunks for s in samples)
    errors = [s for s in samples if not s.ok]
    # A handful of distinct messages is enough to say what went wrong.
    error_samples = list(dict.fromkeys(s.error or "unknown error" for s in errors))[:5]
    per_1k = capacity = None
    if relay is not None and chunks:
        per_1k = relay.cpu_s / chunks * 1000
        capacity = chunks / relay.cpu_s if relay.cpu_s > 0 else None
    return LevelResult(
        target=target,
        concurrency=concurrency,
        requests=len(samples),
        completed=len(ok),
        errors=len(errors),
        wall_s=wall_s,
        ttft_ms=percentiles_ms([s.ttft_s for s in ok if s.ttft_s is not None]),
        total_ms_p50=(percentile([s.total_s for s in ok], 50) * 1000 if ok else None),
        requests_per_s=rate(len(ok), wall_s),
        chunks=chunks,
        deltas=sum(s.deltas for s in samples),
        chunks_per_s=rate(chunks, wall_s),
        expected_chunks_per_reply=expected_chunks_per_reply,
        relay=relay,
        relay_cpu_s_per_1k_chunks=per_1k,
        relay_chunks_per_cpu_s=capacity,
        upstream=upstream,
        database=database,
        client=client,
        sql=sql,
        error_samples=error_samples,
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


def _level(target: TargetResult | None, concurrency: int) -> LevelResult | None:
    if target is None or target.status != "ok":
        return None
    return next((lv for lv in target.levels if lv.concurrency == concurrency), None)


def overhead_ms(level: LevelResult, direct: LevelResult | None) -> float | None:
    """TTFT p50 of ``level`` minus direct's at the same concurrency."""
    if direct is None or level.ttft_ms is None or direct.ttft_ms is None:
        return None
    return level.ttft_ms.p50 - direct.ttft_ms.p50


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def compare(result: BenchResult) -> list[Comparison]:
    """Every relay level against direct at the same concurrency (and vs LiteLLM's capacity)."""
    direct = result.target(DIRECT)
    litellm = result.target(LITELLM)
    rows: list[Comparison] = []
    for target in result.targets:
        if target.name == DIRECT or target.status != "ok":
            continue
        for level in target.levels:
            base = _level(direct, level.concurrency)
            capacity = None
            if target.name == PLAYGROUND:
                other = _level(litellm, level.concurrency)
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


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _ttft_check(playground: TargetResult | None, direct: TargetResult | None) -> TargetCheck:
    at50 = _level(playground, 50)
    over = overhead_ms(at50, _level(direct, 50)) if at50 else None
    return TargetCheck(
        name="TTFT p50 overhead over direct at concurrency 50",
        wanted="≤ 10 ms",
        measured=_fmt(over, " ms", 1),
        met=None if over is None else over <= 10,
    )


def _throughput_check(
    playground: TargetResult | None, direct: TargetResult | None, concurrency: int, wanted: float
) -> TargetCheck:
    level = _level(playground, concurrency)
    base = _level(direct, concurrency)
    value = ratio(level.chunks_per_s, base.chunks_per_s) if level and base else None
    return TargetCheck(
        name=f"throughput vs direct at concurrency {concurrency}",
        wanted=f"≥ {wanted}x",
        measured=_fmt(value, "x"),
        met=None if value is None else value >= wanted,
    )


def _capacity_check(playground: TargetResult | None, litellm: TargetResult | None) -> TargetCheck:
    # Capacity at the highest concurrency both relays ran: where they were busiest, so
    # fixed per-process costs (heartbeats, timers) weigh least.
    common = [
        lv.concurrency
        for lv in (playground.levels if playground and playground.status == "ok" else [])
        if _level(litellm, lv.concurrency) is not None
    ]
    value = None
    if common:
        pl, li = _level(playground, max(common)), _level(litellm, max(common))
        value = ratio(
            pl.relay_chunks_per_cpu_s if pl else None, li.relay_chunks_per_cpu_s if li else None
        )
    return TargetCheck(
        name="relay capacity (chunks per CPU-second) vs LiteLLM, at the highest level",
        wanted="≥ 5x",
        measured=_fmt(value, "x"),
        met=None if value is None else value >= 5,
    )


def _idle_check(playground: TargetResult | None) -> TargetCheck:
    idle = playground.idle_rss_mb if playground and playground.status == "ok" else None
    return TargetCheck(
        name="idle RSS of the playground",
        wanted="≤ 150 MB",
        measured=_fmt(idle, " MB", 0),
        met=None if idle is None else idle <= 150,
    )


def target_checks(result: BenchResult) -> list[TargetCheck]:
    """The relay's four targets, judged on this run (``met`` None when not measured)."""
    playground = result.target(PLAYGROUND)
    direct = result.target(DIRECT)
    return [
        _ttft_check(playground, direct),
        *(
            _throughput_check(playground, direct, concurrency, wanted)
            for concurrency, wanted in ((50, 0.95), (200, 0.9))
        ),
        _capacity_check(playground, result.target(LITELLM)),
        _idle_check(playground),
    ]
