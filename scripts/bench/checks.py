"""The relay's targets, judged on one run: what was wanted, what was measured, met or not.

Every value comes from the run itself (a :class:`~scripts.bench.records.BenchResult`);
nothing here is a result. Each check also gives its margin: how much there was to
spare when met, how far short it fell when missed. The playground is judged on its
one-worker run (target ``playground``); runs with more workers are in the tables for
comparison, not held to these numbers.

The targets (issue "Relay round two"):

- relay CPU per 1,000 relayed chunks at concurrency 200 ≤ 0.12 s, and at least 6x
  lighter than LiteLLM's at the same level of the same run;
- throughput (chunks/s) against direct ≥ 0.9x at concurrency 50, ≥ 0.75x at 200;
- in the open loop, at every rate the direct client sustains
  (:func:`~scripts.bench.stats.keeps_up`), TTFT p50 at most 15 ms over direct's and
  p95 at most 50 ms over, every reply complete;
- SQL statements per reply flat in the chunk count: the SQL run's long replies (10x
  the chunks by default) take at most 1.2x the statements per reply of the short ones;
- idle RSS ≤ 150 MB.
"""

from __future__ import annotations

import msgspec

from scripts.bench.records import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    BenchResult,
    SqlRun,
    TargetCheck,
    TargetResult,
)
from scripts.bench.stats import keeps_up, level_at, overhead_ms, rate_at, ratio

CPU_LEVEL = 200
CPU_PER_1K_MAX_S = 0.12
LIGHTER_THAN_LITELLM = 6.0
THROUGHPUT_VS_DIRECT = ((50, 0.9), (200, 0.75))
TTFT_OVER_DIRECT_MS = (("p50", 15.0), ("p95", 50.0))
SQL_GROWTH_MAX = 1.2
IDLE_RSS_MAX_MB = 150.0


def bound_check(
    name: str,
    value: float | None,
    bound: float,
    *,
    at_most: bool,
    unit: str = "",
    spec: str = ".2f",
    detail: str = "",
) -> TargetCheck:
    """``value`` held to ``bound`` (at most or at least); None: not measured."""
    wanted = f"{'≤' if at_most else '≥'} {bound:g}{unit}"
    if value is None:
        return TargetCheck(name=name, wanted=wanted, measured=f"n/a{detail}", met=None)
    spare = bound - value if at_most else value - bound
    share = f" ({abs(spare) / abs(bound):.0%})" if bound else ""
    return TargetCheck(
        name=name,
        wanted=wanted,
        measured=f"{value:{spec}}{unit}{detail}",
        met=spare >= 0,
        margin=(
            f"{'with' if spare >= 0 else 'by'} {abs(spare):{spec.lstrip('+')}}{unit}{share}"
            f"{' to spare' if spare >= 0 else ''}"
        ),
    )


def _cpu_checks(playground: TargetResult | None, litellm: TargetResult | None) -> list[TargetCheck]:
    level = level_at(playground, CPU_LEVEL)
    other = level_at(litellm, CPU_LEVEL)
    own = level.relay_cpu_s_per_1k_chunks if level else None
    lighter = ratio(other.relay_cpu_s_per_1k_chunks if other else None, own)
    detail = "" if other is None else f" (LiteLLM {other.relay_cpu_s_per_1k_chunks or 0:.3f} s)"
    return [
        bound_check(
            f"relay CPU per 1,000 relayed chunks at concurrency {CPU_LEVEL}",
            own,
            CPU_PER_1K_MAX_S,
            at_most=True,
            unit=" s",
            spec=".3f",
        ),
        bound_check(
            f"lighter than LiteLLM (its CPU per 1,000 chunks ÷ ours) at concurrency {CPU_LEVEL}",
            lighter,
            LIGHTER_THAN_LITELLM,
            at_most=False,
            unit="x",
            detail=detail,
        ),
    ]


def _throughput_checks(
    playground: TargetResult | None, direct: TargetResult | None
) -> list[TargetCheck]:
    checks = []
    for concurrency, wanted in THROUGHPUT_VS_DIRECT:
        level, base = level_at(playground, concurrency), level_at(direct, concurrency)
        value = ratio(level.chunks_per_s, base.chunks_per_s) if level and base else None
        checks.append(
            bound_check(
                f"throughput vs direct at concurrency {concurrency}",
                value,
                wanted,
                at_most=False,
                unit="x",
            )
        )
    return checks


def _ttft_checks(result: BenchResult) -> list[TargetCheck]:
    """TTFT p50 and p95 over direct at the open-loop rates direct sustains: the worst
    rate's; missed too when a reply failed at one of those rates."""
    direct, playground = result.target(DIRECT), result.target(PLAYGROUND)
    sustained = [
        run.offered_rate
        for run in (direct.rates if direct and direct.status == "ok" else [])
        if keeps_up(run, result.config.reply_s)
    ]
    pairs = [
        (offered, run, rate_at(direct, offered))
        for offered in sustained
        if (run := rate_at(playground, offered)) is not None
    ]
    failed = sum(run.requests - run.completed for _, run, _ in pairs)
    checks = []
    for statistic, bound in TTFT_OVER_DIRECT_MS:
        overheads = [
            (value, offered)
            for offered, run, base in pairs
            if (value := overhead_ms(run, base, statistic)) is not None
        ]
        worst = max(overheads, default=None)
        if not (direct and direct.rates):
            detail = " (no open-loop run of direct)"
        elif not sustained:
            detail = " (direct sustained none of the rates)"
        elif worst:
            listed = ", ".join(f"{r:g}" for r in sustained)
            detail = f" at {worst[1]:g}/s (worst of {listed}/s)"
        else:
            detail = ""
        check = bound_check(
            f"open loop: TTFT {statistic} over direct, at the rates direct sustains",
            worst[0] if worst else None,
            bound,
            at_most=True,
            unit=" ms",
            spec="+.1f",
            detail=detail,
        )
        if failed and check.met:
            check = msgspec.structs.replace(
                check, met=False, margin=f"with {failed} failed replies"
            )
        checks.append(check)
    return checks


def _sql_check(runs: list[SqlRun]) -> TargetCheck:
    ordered = sorted(runs, key=lambda run: run.chunks)
    short, long = (ordered[0], ordered[-1]) if len(ordered) >= 2 else (None, None)
    value = ratio(long.per_reply, short.per_reply) if short and long else None
    detail = ""
    if short and long:
        detail = (
            f" ({short.per_reply or 0:.1f} → {long.per_reply or 0:.1f} per reply,"
            f" {short.chunks} → {long.chunks} chunks)"
        )
        if long.method != "pg_stat_statements":
            detail += "; transactions from pg_stat_database, an approximation"
    return bound_check(
        "SQL statements per reply, long replies ÷ short (flat in the chunk count)",
        value,
        SQL_GROWTH_MAX,
        at_most=True,
        unit="x",
        detail=detail,
    )


def target_checks(result: BenchResult) -> list[TargetCheck]:
    """Every target, judged on this run (``met`` None when it was not measured)."""
    playground, direct = result.target(PLAYGROUND), result.target(DIRECT)
    idle = playground.idle_rss_mb if playground and playground.status == "ok" else None
    return [
        *_cpu_checks(playground, result.target(LITELLM)),
        *_throughput_checks(playground, direct),
        *_ttft_checks(result),
        _sql_check(result.sql_runs),
        bound_check(
            "idle RSS of the playground",
            idle,
            IDLE_RSS_MAX_MB,
            at_most=True,
            unit=" MB",
            spec=".0f",
        ),
    ]
