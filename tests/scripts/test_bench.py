"""The benchmark (``scripts/bench/``): its statistics, its reports, its flags, and one
tiny real run of both loops (the loops themselves: ``test_bench_loops``; the targets:
``test_bench_checks``).

No timing assertions: the real run checks structure and that every chunk arrived.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from api.cli import build_parser
from scripts.bench.checks import target_checks
from scripts.bench.cli import run_bench
from scripts.bench.levels import level_bound
from scripts.bench.load import count_chunks
from scripts.bench.loops import poisson_schedule
from scripts.bench.processes import playground_argv
from scripts.bench.records import (
    BenchConfig,
    ProcessUsage,
    RequestSample,
    TargetResult,
    playground_name,
)
from scripts.bench.report import (
    PLOT_PNG,
    REPORT_MD,
    RESULTS_JSON,
    read_json,
    render_markdown,
    write_reports,
)
from scripts.bench.stats import (
    Readings,
    compare,
    compare_rates,
    percentile,
    percentiles_ms,
    process_usage,
    rate,
    sql_run,
    summarise_level,
    summarise_rate,
)
from tests.scripts.bench_synthetic import synthetic_result

# --- statistics -----------------------------------------------------------------------


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10..1, unsorted on purpose
    assert percentile(values, 0) == 1
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile(values, 99) == pytest.approx(9.91)
    assert percentile(values, 100) == 10
    assert percentile([7.0], 99) == 7


def test_percentile_rejects_empty_input_and_bad_ranks() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_percentiles_are_reported_in_milliseconds() -> None:
    assert percentiles_ms([]) is None
    result = percentiles_ms([0.001, 0.002, 0.003])
    assert result is not None
    assert (result.p50, result.p95, result.p99) == pytest.approx((2.0, 2.9, 2.98))


def test_rate_and_process_usage() -> None:
    assert rate(100, 4) == 25
    assert rate(5, 0) == 0
    usage = process_usage(1.5, 3.0, 200 * 2**20)
    assert usage.cpu_share == pytest.approx(0.5)
    assert usage.peak_rss_mb == pytest.approx(200)


def test_summarise_level_counts_errors_chunks_and_relay_cost() -> None:
    samples = [
        RequestSample(ok=True, total_s=1.0, ttft_s=0.010, chunks=50, deltas=50),
        RequestSample(ok=True, total_s=1.2, ttft_s=0.030, chunks=50, deltas=25),
        RequestSample(ok=False, total_s=0.5, ttft_s=0.020, chunks=10, deltas=10, error="boom"),
        RequestSample(ok=False, total_s=0.1, error="boom"),
    ]
    level = summarise_level(
        target="playground",
        concurrency=2,
        samples=samples,
        wall_s=2.0,
        expected_chunks_per_reply=50,
        peak_in_flight=2,
        readings=Readings(relay=ProcessUsage(cpu_s=0.22, cpu_share=0.11)),
    )
    assert (level.requests, level.completed, level.errors) == (4, 2, 2)
    assert level.error_samples == ["boom"]
    # Latency only from completed requests; chunks from every request (partial ones too).
    assert level.ttft_ms is not None
    assert level.ttft_ms.p50 == pytest.approx(20.0)
    assert level.total_ms_p50 == pytest.approx(1100.0)
    assert level.total_ms_p99 == pytest.approx(1198.0)
    assert level.chunks == 110
    assert level.deltas == 85
    assert level.requests_per_s == pytest.approx(1.0)
    assert level.chunks_per_s == pytest.approx(55.0)
    assert level.relay_cpu_s_per_1k_chunks == pytest.approx(2.0)
    assert level.relay_chunks_per_cpu_s == pytest.approx(500.0)
    assert level.peak_in_flight == 2


def test_summarise_rate_keeps_the_offered_rate_and_the_start_lag() -> None:
    samples = [RequestSample(ok=True, total_s=1.0, ttft_s=0.01 * i, chunks=50) for i in range(1, 5)]
    run = summarise_rate(
        target="direct",
        offered_rate=5.0,
        samples=samples,
        wall_s=2.0,
        expected_chunks_per_reply=50,
        start_lags_s=[0.001, 0.002, 0.0005],
        peak_in_flight=3,
    )
    assert (run.offered_rate, run.requests, run.completed, run.peak_in_flight) == (5.0, 4, 4, 3)
    assert run.requests_per_s == pytest.approx(2.0)
    assert run.chunks_per_s == pytest.approx(100.0)
    assert run.start_lag_ms_p99 == pytest.approx(1.98)
    assert run.ttft_ms is not None
    assert run.ttft_ms.p50 == pytest.approx(25.0)
    assert run.relay is None
    assert run.relay_cpu_s_per_1k_chunks is None


def test_sql_run_subtracts_the_idle_background() -> None:
    run = sql_run(
        chunks=500,
        interval_ms=2,
        replies=5,
        errors=0,
        method="pg_stat_statements",
        count=260,
        background_per_s=2.0,
        duration_s=5.0,
        by_query={"BEGIN": 60, "COMMIT": 60, "INSERT x": 100, "SELECT y": 40},
        top=3,
    )
    assert run.per_reply == pytest.approx(50.0)
    assert [(s.query, s.per_reply) for s in run.top] == [
        ("INSERT x", 20.0),
        ("BEGIN", 12.0),
        ("COMMIT", 12.0),
    ]


def test_count_chunks_counts_upstream_words_however_they_were_split() -> None:
    assert count_chunks("chunk-0 chunk-1 chunk-2") == 3
    assert count_chunks("chu") == 0
    assert count_chunks("") == 0


# --- a synthetic result: ratios and reports ------------------------------------------


def test_compare_gives_overhead_and_ratios_against_direct() -> None:
    rows = {(c.target, c.concurrency): c for c in compare(synthetic_result())}
    at50 = rows["playground", 50]
    assert at50.ttft_p50_overhead_ms == pytest.approx(20.0)
    assert at50.throughput_ratio == pytest.approx(0.8)
    assert at50.capacity_vs_litellm == pytest.approx(8.0)  # 5000 vs 625 chunks per CPU-s
    assert rows["litellm", 50].ttft_p50_overhead_ms == pytest.approx(600.0)
    assert rows["litellm", 50].capacity_vs_litellm is None
    assert ("direct", 1) not in rows


def test_compare_rates_gives_p50_and_p95_overheads_at_the_same_rate() -> None:
    rows = {(c.target, c.offered_rate): c for c in compare_rates(synthetic_result())}
    assert rows["playground", 10].ttft_p50_overhead_ms == pytest.approx(20.0)
    assert rows["playground", 10].ttft_p95_overhead_ms == pytest.approx(38.0)
    assert rows["litellm", 5].ttft_p95_overhead_ms == pytest.approx(10.0)
    assert ("direct", 5) not in rows


def test_level_bound_allows_one_request_per_paced_reply_and_worker() -> None:
    config = BenchConfig(chunks=50, interval_ms=20, level_seconds=20)
    # 0.98 s per reply: 20 started in 20 s (at 0, 0.98, ... 19.6 s), plus one.
    assert level_bound(config, 200) == 200 * 21
    assert level_bound(BenchConfig(chunks=1, interval_ms=20, level_seconds=1), 2) == 2 * 101


def _rows(markdown: str, heading: str, target: str) -> list[list[str]]:
    """The cells of ``target``'s rows in the tables under ``## heading``."""
    section = markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith(f"| {target} |")
    ]


def test_markdown_closed_loop_rows_carry_the_ratios() -> None:
    markdown = render_markdown(synthetic_result())
    playground = _rows(markdown, "Closed loop", "playground")
    assert [row[1] for row in playground] == ["1", "50", "200"]
    row50 = playground[1]
    assert row50[2] == "20/20"
    assert row50[3] == "24.0"  # TTFT p50
    assert row50[6] == "+20.0"  # over direct
    assert row50[9] == "2,000"  # chunks/s
    assert row50[10] == "0.80x"  # vs direct
    assert row50[11] == "0.200"  # relay CPU s per 1k chunks
    direct = _rows(markdown, "Closed loop", "direct")
    assert direct[0][6] == "—"
    assert direct[0][10] == "1.00x"
    assert "| 50 | 5,000 | 625 | 8.00x |" in markdown  # capacity table
    assert "| 500 | 2 | — | 5/5 | 88 |" in markdown  # SQL per reply at 500 chunks
    assert "Relay worker processes: playground 1, litellm 1." in markdown


def test_markdown_open_loop_rows_carry_overheads_and_whether_direct_keeps_up() -> None:
    markdown = render_markdown(synthetic_result())
    (at10,) = [row for row in _rows(markdown, "Open loop", "playground") if row[1] == "10"]
    assert at10[2:8] == ["100/100", "9.70", "485", "26.0", "50.0", "75.0"]
    assert at10[8:] == ["+20.0", "+38.0", "1,000", "yes", "0.250", "20", "0.5"]
    direct = {row[1]: row for row in _rows(markdown, "Open loop", "direct")}
    assert direct["10"][11] == "yes"
    assert direct["40"][11] == "**no**"  # its p99 reply took 2.5 s of 0.98
    assert direct["40"][8] == "—"
    load = _rows(markdown, "Load on the machine", "playground")
    assert ["10/s", "31.00", "1%", "—", "50%", "—", "—"] in [row[1:] for row in load]


def test_markdown_notes_what_disturbed_a_run() -> None:
    result = synthetic_result()
    direct = result.targets[0]
    busy = msgspec.structs.replace(
        direct.rates[0],
        other=ProcessUsage(cpu_s=9.3, cpu_share=0.3),
        start_lag_ms_p99=25.0,
        client=ProcessUsage(cpu_s=28.0, cpu_share=0.9),
    )
    result.targets[0] = msgspec.structs.replace(direct, rates=[busy, *direct.rates[1:]])
    notes = render_markdown(result).split("## Notes", 1)[1]
    assert "direct at 5/s: other processes on the machine used 30% of a core" in notes
    assert "direct at 5/s: requests started up to 25 ms late (p99)" in notes
    assert "direct at 5/s: the load generator used 90% of a core" in notes
    assert "direct at 10/s" not in notes


def test_markdown_targets_say_met_or_missed_and_by_how_much() -> None:
    markdown = render_markdown(synthetic_result())
    assert (
        "| relay CPU per 1,000 relayed chunks at concurrency 200 | ≤ 0.12 s | 0.100 s"
        " | met with 0.020 s (17%) to spare |"
    ) in markdown
    assert (
        "| throughput vs direct at concurrency 50 | ≥ 0.9x | 0.80x | **missed** by 0.10x (11%) |"
        in (markdown)
    )


def test_markdown_says_not_installed_for_a_missing_litellm() -> None:
    markdown = render_markdown(synthetic_result(litellm=False))
    (row,) = _rows(markdown, "Closed loop", "litellm")
    assert row[2] == "not installed"
    assert "not measured" in markdown


def test_write_reports_creates_json_markdown_and_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = synthetic_result()
    paths = write_reports(result, tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted([RESULTS_JSON, REPORT_MD, PLOT_PNG])
    assert read_json(tmp_path / "out" / RESULTS_JSON) == result
    assert (tmp_path / "out" / PLOT_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / REPORT_MD).read_text().startswith("# Relay benchmark")


def test_bench_flags_parse_through_the_playground_command() -> None:
    args = build_parser().parse_args(
        [
            *("bench", "--levels", "1,10", "--level-seconds", "2", "--rates", "2.5,5"),
            *("--rate-seconds", "3", "--workers", "1,2", "--targets", "direct,playground"),
        ]
    )
    assert (args.levels, args.level_seconds) == ([1, 10], 2.0)
    assert (args.rates, args.rate_seconds) == ([2.5, 5.0], 3.0)
    assert args.workers == [1, 2]
    assert args.targets == ["direct", "playground"]
    defaults = build_parser().parse_args(["bench"])
    assert (defaults.level_seconds, defaults.rate_seconds, defaults.workers) == (20.0, 30.0, [1])
    assert build_parser().parse_args(["bench", "--rates", "none"]).rates == []
    for bad in (["--targets", "nginx"], ["--rates", "0"], ["--workers", "none"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["bench", *bad])


def test_the_workers_flag_reaches_serve_only_above_one() -> None:
    assert "--workers" not in playground_argv(0, workers=1)
    argv = playground_argv(8123, workers=2)
    assert argv[argv.index("--workers") + 1] == "2"
    assert argv[argv.index("--port") + 1] == "8123"
    assert (playground_name(1), playground_name(2)) == ("playground", "playground-2w")


# --- one tiny real run ---------------------------------------------------------------

# A progress line: the target, then its level (c=2) or rate (10/s).
PROGRESS = re.compile(r"\S+ +(c=\d+|[\d.]+/s) ")


def _check_loads(target: TargetResult) -> None:
    """Every level and rate of a tiny real run: all replies whole, in the right shape."""
    assert [lv.concurrency for lv in target.levels] == [1, 2]
    for level in target.levels:
        # 1 s of back-to-back replies of about 0.1 s: at least one per worker (how many
        # more depends on how busy the machine is), none cut off.
        assert level.errors == 0, level
        assert level.completed >= level.concurrency
        assert level.chunks == level.completed * 5
        assert level.peak_in_flight == level.concurrency
        assert 1.0 <= level.wall_s < 5.0
        assert level.ttft_ms is not None
        assert level.ttft_ms.p50 <= level.ttft_ms.p95 <= level.ttft_ms.p99
        assert level.client is not None
        assert level.upstream is not None
        assert level.other is not None
    assert [run.offered_rate for run in target.rates] == [5.0, 10.0]
    for run in target.rates:
        # The seeded schedule, whole: every arrival sent once and answered in full.
        assert run.requests == len(poisson_schedule(run.offered_rate, 1.5, 3)), run
        assert (run.completed, run.errors) == (run.requests, 0), run
        assert run.chunks == run.requests * 5
        assert run.start_lag_ms_p99 is not None
        assert run.client is not None
        assert run.upstream is not None


@pytest.mark.timeout(120)
def test_tiny_real_run(postgres_server_url: str, tmp_path: Path) -> None:
    """Direct and playground, closed loop at 1 and 2 for 1 s each and open loop at 5 and
    10 replies/s for 1.5 s each: structure and every chunk, no timing."""
    config = BenchConfig(
        levels=[1, 2],
        level_seconds=1.0,
        rates=[5.0, 10.0],
        rate_seconds=1.5,
        seed=3,
        chunks=5,
        interval_ms=20,
        targets=["direct", "playground"],
        warmup_requests=1,
        sql_chunks=20,
        sql_requests=2,
        sql_idle_s=0.3,
        level_timeout_s=30,
    )
    lines: list[str] = []
    result = run_bench(config, database_url=postgres_server_url, log=lines.append)

    assert [t.name for t in result.targets] == ["direct", "playground"]
    for target in result.targets:
        assert target.status == "ok", target.status
        _check_loads(target)
    playground = result.targets[1]
    assert (playground.workers, playground.idle_rss_mb is not None) == (1, True)
    for load in [*playground.levels, *playground.rates]:
        assert load.relay is not None
        assert load.relay.peak_rss_mb
        assert load.relay_cpu_s_per_1k_chunks is not None
        # pg_stat_database (the fallback) flushes lazily, so a count may still be 0 here.
        assert load.sql is not None
        assert load.sql.count >= 0
    assert [run.chunks for run in result.sql_runs] == [5, 20]
    assert all(run.replies == 2 and run.errors == 0 for run in result.sql_runs)
    # One progress line per target and level, and per target and rate.
    labels = [match.group(1) for line in lines if (match := PROGRESS.match(line))]
    assert labels == ["c=1", "c=2", "5/s", "10/s"] * 2

    paths = write_reports(result, tmp_path)
    assert {p.name for p in paths} >= {RESULTS_JSON, REPORT_MD}
    saved = json.loads((tmp_path / RESULTS_JSON).read_text())
    assert saved["targets"][1]["levels"][0]["chunks"] == playground.levels[0].chunks
    assert saved["targets"][1]["rates"][1]["offered_rate"] == 10.0
    checks = {c.name: c for c in target_checks(result)}
    assert checks["idle RSS of the playground"].met is not None
