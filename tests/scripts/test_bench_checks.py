"""The relay's targets (``scripts/bench/checks.py``), judged on a made-up run.

``bench_synthetic`` holds the numbers; each test says which verdict they lead to.
"""

from __future__ import annotations

import msgspec

from scripts.bench.checks import bound_check, target_checks
from scripts.bench.records import BenchResult, TargetCheck
from scripts.bench.stats import keeps_up
from tests.scripts.bench_synthetic import rate, synthetic_result


def _checks(result: BenchResult) -> dict[str, TargetCheck]:
    return {check.name: check for check in target_checks(result)}


def _check(result: BenchResult, start: str) -> TargetCheck:
    (check,) = [c for name, c in _checks(result).items() if name.startswith(start)]
    return check


def test_bound_check_gives_the_margin_either_way() -> None:
    met = bound_check("cpu", 0.09, 0.12, at_most=True, unit=" s", spec=".3f")
    assert (met.wanted, met.measured, met.met) == ("≤ 0.12 s", "0.090 s", True)
    assert met.margin == "with 0.030 s (25%) to spare"
    missed = bound_check("ratio", 0.6, 0.75, at_most=False, unit="x")
    assert (missed.wanted, missed.met, missed.margin) == ("≥ 0.75x", False, "by 0.15x (20%)")
    overhead = bound_check("ttft", 21.0, 15.0, at_most=True, unit=" ms", spec="+.1f")
    assert (overhead.measured, overhead.margin) == ("+21.0 ms", "by 6.0 ms (40%)")
    unmeasured = bound_check("idle", None, 150, at_most=True, unit=" MB")
    assert (unmeasured.measured, unmeasured.met, unmeasured.margin) == ("n/a", None, None)


def test_relay_cpu_per_chunk_at_200_and_against_litellm() -> None:
    result = synthetic_result()
    cpu = _check(result, "relay CPU per 1,000 relayed chunks at concurrency 200")
    assert (cpu.measured, cpu.met, cpu.margin) == ("0.100 s", True, "with 0.020 s (17%) to spare")
    # LiteLLM used 0.5 s per 1,000 chunks at 200: 5x, short of 6x.
    lighter = _check(result, "lighter than LiteLLM")
    assert lighter.measured == "5.00x (LiteLLM 0.500 s)"
    assert (lighter.met, lighter.margin) == (False, "by 1.00x (17%)")
    alone = _check(synthetic_result(litellm=False), "lighter than LiteLLM")
    assert alone.met is None


def test_throughput_against_direct_at_50_and_200() -> None:
    result = synthetic_result()
    at50 = _check(result, "throughput vs direct at concurrency 50")
    assert (at50.measured, at50.met, at50.margin) == ("0.80x", False, "by 0.10x (11%)")
    at200 = _check(result, "throughput vs direct at concurrency 200")
    assert (at200.measured, at200.met) == ("0.90x", True)


def test_a_rate_is_sustained_while_replies_do_not_queue() -> None:
    reply_s = 0.98
    assert keeps_up(rate("direct", 5, (5.0, 10.0), total_p99=1400.0), reply_s)
    assert not keeps_up(rate("direct", 5, (5.0, 10.0), total_p99=1500.0), reply_s)
    assert not keeps_up(rate("direct", 5, (5.0, 10.0), errors=1), reply_s)


def test_open_loop_ttft_overheads_count_only_the_rates_direct_sustains() -> None:
    result = synthetic_result()
    # 5/s: +7 ms p50, +30 ms p95; 10/s: +20 and +38; 40/s (direct falls behind): ignored.
    p50 = _check(result, "open loop: TTFT p50")
    assert p50.measured == "+20.0 ms at 10/s (worst of 5, 10/s)"
    assert (p50.met, p50.margin) == (False, "by 5.0 ms (33%)")
    p95 = _check(result, "open loop: TTFT p95")
    assert p95.measured == "+38.0 ms at 10/s (worst of 5, 10/s)"
    assert (p95.met, p95.margin) == (True, "with 12.0 ms (24%) to spare")


def test_open_loop_ttft_is_missed_when_replies_failed() -> None:
    p95 = _check(synthetic_result(playground_errors=2), "open loop: TTFT p95")
    assert (p95.met, p95.margin) == (False, "with 2 failed replies")


def test_open_loop_ttft_is_not_measured_when_direct_sustained_nothing() -> None:
    result = synthetic_result()
    direct = result.targets[0]
    result.targets[0] = msgspec.structs.replace(direct, rates=direct.rates[2:])
    p50 = _check(result, "open loop: TTFT p50")
    assert (p50.measured, p50.met) == ("n/a (direct sustained none of the rates)", None)
    result.targets[0] = msgspec.structs.replace(direct, rates=[])
    p95 = _check(result, "open loop: TTFT p95")
    assert (p95.measured, p95.met) == ("n/a (no open-loop run of direct)", None)


def test_sql_per_reply_flat_in_chunks_and_idle_rss() -> None:
    result = synthetic_result()
    sql = _check(result, "SQL statements per reply")
    assert sql.measured == "1.10x (16.0 → 17.6 per reply, 50 → 500 chunks)"
    assert sql.met is True
    idle = _check(result, "idle RSS")
    assert (idle.measured, idle.met, idle.margin) == ("140 MB", True, "with 10 MB (7%) to spare")
    result.sql_runs = [
        msgspec.structs.replace(run, method="pg_stat_database") for run in result.sql_runs
    ]
    assert _check(result, "SQL statements per reply").measured.endswith(
        "; transactions from pg_stat_database, an approximation"
    )
    result.sql_runs = result.sql_runs[:1]
    assert _check(result, "SQL statements per reply").met is None


def test_checks_judge_the_one_worker_playground_only() -> None:
    result = synthetic_result()
    result.targets[1].name = "playground-2w"
    assert all(
        check.met is None for name, check in _checks(result).items() if not name.startswith("SQL")
    )
