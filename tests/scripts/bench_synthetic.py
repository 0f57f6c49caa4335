"""A made-up bench result with round numbers, for the statistics, targets and reports.

Direct, the playground (one worker) and LiteLLM at concurrency 1, 50 and 200, and at
5, 10 and 40 arrivals per second (direct does not keep up at 40), plus the SQL runs.
The numbers are chosen so each target has a known verdict; the tests that use them
say which.
"""

from __future__ import annotations

from scripts.bench.records import (
    BenchConfig,
    BenchResult,
    LevelResult,
    MachineInfo,
    Percentiles,
    ProcessUsage,
    RateResult,
    TargetResult,
)
from scripts.bench.stats import sql_run


def _relay(cpu_per_1k: float | None) -> tuple[ProcessUsage | None, float | None]:
    """A relay that used ``cpu_per_1k`` CPU-seconds on 1,000 chunks; its capacity."""
    if cpu_per_1k is None:
        return None, None
    return ProcessUsage(cpu_s=cpu_per_1k, cpu_share=0.5, peak_rss_mb=120.0), 1000 / cpu_per_1k


def level(
    target: str,
    concurrency: int,
    ttft_p50: float,
    chunks_per_s: float,
    relay_cpu_per_1k: float | None = None,
) -> LevelResult:
    """A closed-loop level: 20 replies of 50 chunks, TTFT p95 and p99 twice and thrice p50."""
    return LevelResult(
        target=target,
        concurrency=concurrency,
        requests=20,
        completed=20,
        errors=0,
        wall_s=2.0,
        ttft_ms=Percentiles(p50=ttft_p50, p95=ttft_p50 * 2, p99=ttft_p50 * 3),
        total_ms_p50=1000.0,
        requests_per_s=10.0,
        chunks=1000,
        deltas=1000,
        chunks_per_s=chunks_per_s,
        expected_chunks_per_reply=50,
        client=ProcessUsage(cpu_s=0.2, cpu_share=0.1),
        relay=_relay(relay_cpu_per_1k)[0],
        relay_cpu_s_per_1k_chunks=relay_cpu_per_1k,
        relay_chunks_per_cpu_s=_relay(relay_cpu_per_1k)[1],
    )


def rate(
    target: str,
    offered: float,
    ttft: tuple[float, float],
    total_p99: float = 1000.0,
    relay_cpu_per_1k: float | None = None,
    errors: int = 0,
) -> RateResult:
    """An open-loop rate: ``ttft`` is (p50, p95); 100 replies sent, ``errors`` failed."""
    return RateResult(
        target=target,
        offered_rate=offered,
        requests=100,
        completed=100 - errors,
        errors=errors,
        wall_s=31.0,
        ttft_ms=Percentiles(p50=ttft[0], p95=ttft[1], p99=ttft[1] * 1.5),
        total_ms_p50=990.0,
        total_ms_p99=total_p99,
        requests_per_s=offered * 0.97,
        chunks=5000,
        deltas=5000,
        chunks_per_s=offered * 48.5,
        expected_chunks_per_reply=50,
        peak_in_flight=int(offered * 2),
        start_lag_ms_p99=0.5,
        client=ProcessUsage(cpu_s=0.3, cpu_share=0.01),
        relay=_relay(relay_cpu_per_1k)[0],
        relay_cpu_s_per_1k_chunks=relay_cpu_per_1k,
        relay_chunks_per_cpu_s=_relay(relay_cpu_per_1k)[1],
    )


def _direct() -> TargetResult:
    return TargetResult(
        name="direct",
        status="ok",
        levels=[
            level("direct", 1, 2.0, 50.0),
            level("direct", 50, 4.0, 2500.0),
            level("direct", 200, 20.0, 7000.0),
        ],
        rates=[
            rate("direct", 5, (5.0, 10.0)),
            rate("direct", 10, (6.0, 12.0)),
            rate("direct", 40, (30.0, 300.0), total_p99=2500.0),
        ],
    )


def _playground(errors: int) -> TargetResult:
    return TargetResult(
        name="playground",
        status="ok",
        workers=1,
        idle_rss_mb=140.0,
        levels=[
            level("playground", 1, 7.0, 49.0, relay_cpu_per_1k=0.5),
            level("playground", 50, 24.0, 2000.0, relay_cpu_per_1k=0.2),
            level("playground", 200, 60.0, 6300.0, relay_cpu_per_1k=0.1),
        ],
        rates=[
            rate("playground", 5, (12.0, 40.0), relay_cpu_per_1k=0.3),
            rate("playground", 10, (26.0, 50.0), relay_cpu_per_1k=0.25, errors=errors),
            rate("playground", 40, (900.0, 3000.0), total_p99=4000.0, relay_cpu_per_1k=0.2),
        ],
    )


def _litellm() -> TargetResult:
    return TargetResult(
        name="litellm",
        status="ok",
        workers=1,
        levels=[
            level("litellm", 1, 12.0, 45.0, relay_cpu_per_1k=2.0),
            level("litellm", 50, 604.0, 1000.0, relay_cpu_per_1k=1.6),
            level("litellm", 200, 900.0, 1500.0, relay_cpu_per_1k=0.5),
        ],
        rates=[rate("litellm", 5, (9.0, 20.0), relay_cpu_per_1k=1.0)],
    )


def synthetic_result(*, litellm: bool = True, playground_errors: int = 0) -> BenchResult:
    """The made-up run; ``playground_errors`` failed replies at 10/s."""
    other = _litellm() if litellm else TargetResult(name="litellm", status="not installed")
    return BenchResult(
        config=BenchConfig(levels=[1, 50, 200], rates=[5, 10, 40]),
        machine=MachineInfo(
            cpu_model="Test CPU", cores=2, memory_gb=24, python="3.11.7", platform="Linux"
        ),
        started_at="2026-01-01 00:00 UTC",
        duration_s=60.0,
        command="uv run playground bench",
        targets=[_direct(), _playground(playground_errors), other],
        sql_runs=[
            sql_run(
                chunks=chunks,
                interval_ms=interval,
                replies=5,
                errors=0,
                method="pg_stat_statements",
                count=count,
                background_per_s=0.0,
                duration_s=5.0,
                by_query={"BEGIN": count},
            )
            for chunks, interval, count in ((50, 20.0, 80), (500, 2.0, 88))
        ],
    )
