"""The benchmark (``scripts/bench/``): its statistics, its reports, and one tiny real run.

No timing assertions: the real run checks structure and that every chunk arrived.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import build_parser
from scripts.bench.cli import run_bench
from scripts.bench.load import count_chunks
from scripts.bench.records import (
    BenchConfig,
    BenchResult,
    LevelResult,
    MachineInfo,
    Percentiles,
    ProcessUsage,
    RequestSample,
    TargetResult,
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
    compare,
    percentile,
    percentiles_ms,
    process_usage,
    rate,
    sql_run,
    summarise_level,
    target_checks,
)

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
        relay=ProcessUsage(cpu_s=0.22, cpu_share=0.11),
    )
    assert (level.requests, level.completed, level.errors) == (4, 2, 2)
    assert level.error_samples == ["boom"]
    # Latency only from completed requests; chunks from every request (partial ones too).
    assert level.ttft_ms is not None
    assert level.ttft_ms.p50 == pytest.approx(20.0)
    assert level.total_ms_p50 == pytest.approx(1100.0)
    assert level.chunks == 110
    assert level.deltas == 85
    assert level.requests_per_s == pytest.approx(1.0)
    assert level.chunks_per_s == pytest.approx(55.0)
    assert level.relay_cpu_s_per_1k_chunks == pytest.approx(2.0)
    assert level.relay_chunks_per_cpu_s == pytest.approx(500.0)


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


def _level(
    target: str,
    concurrency: int,
    ttft_p50: float,
    chunks_per_s: float,
    relay_cpu_per_1k: float | None = None,
) -> LevelResult:
    relay = capacity = None
    if relay_cpu_per_1k is not None:
        relay = ProcessUsage(cpu_s=1.0, cpu_share=0.5, peak_rss_mb=120.0)
        capacity = 1000 / relay_cpu_per_1k
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
        relay=relay,
        relay_cpu_s_per_1k_chunks=relay_cpu_per_1k,
        relay_chunks_per_cpu_s=capacity,
        client=ProcessUsage(cpu_s=0.2, cpu_share=0.1),
    )


def synthetic_result(*, litellm: bool = True) -> BenchResult:
    direct = TargetResult(
        name="direct",
        status="ok",
        levels=[_level("direct", 1, 2.0, 50.0), _level("direct", 50, 4.0, 2500.0)],
    )
    playground = TargetResult(
        name="playground",
        status="ok",
        idle_rss_mb=140.0,
        levels=[
            _level("playground", 1, 7.0, 49.0, relay_cpu_per_1k=0.5),
            _level("playground", 50, 24.0, 2000.0, relay_cpu_per_1k=0.2),
        ],
    )
    other = (
        TargetResult(
            name="litellm",
            status="ok",
            levels=[
                _level("litellm", 1, 12.0, 45.0, relay_cpu_per_1k=2.0),
                _level("litellm", 50, 604.0, 1000.0, relay_cpu_per_1k=1.6),
            ],
        )
        if litellm
        else TargetResult(name="litellm", status="not installed")
    )
    return BenchResult(
        config=BenchConfig(levels=[1, 50]),
        machine=MachineInfo(
            cpu_model="Test CPU", cores=2, memory_gb=24, python="3.11.7", platform="Linux"
        ),
        started_at="2026-01-01 00:00 UTC",
        duration_s=60.0,
        command="uv run playground bench",
        targets=[direct, playground, other],
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
            for chunks, interval, count in ((50, 20.0, 150), (500, 2.0, 155))
        ],
    )


def test_compare_gives_overhead_and_ratios_against_direct() -> None:
    rows = {(c.target, c.concurrency): c for c in compare(synthetic_result())}
    at50 = rows["playground", 50]
    assert at50.ttft_p50_overhead_ms == pytest.approx(20.0)
    assert at50.throughput_ratio == pytest.approx(0.8)
    assert at50.capacity_vs_litellm == pytest.approx(8.0)  # 5000 vs 625 chunks per CPU-s
    assert rows["litellm", 50].ttft_p50_overhead_ms == pytest.approx(600.0)
    assert rows["litellm", 50].capacity_vs_litellm is None
    assert ("direct", 1) not in rows


def test_target_checks_judge_the_relay_targets() -> None:
    checks = {c.name: c for c in target_checks(synthetic_result())}
    ttft = checks["TTFT p50 overhead over direct at concurrency 50"]
    assert ttft.met is False
    assert ttft.measured == "20.0 ms"
    assert checks["throughput vs direct at concurrency 50"].met is False  # 0.8x
    capacity = next(c for c in target_checks(synthetic_result()) if "capacity" in c.name)
    assert capacity.met is True
    assert capacity.measured == "8.00x"
    idle = next(c for c in target_checks(synthetic_result()) if "idle RSS" in c.name)
    assert idle.met is True
    # Not measured at all: no verdict.
    at200 = next(c for c in target_checks(synthetic_result()) if c.name.endswith("200"))
    assert at200.met is None


def _rows(markdown: str, target: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith(f"| {target} |")
    ]


def test_markdown_table_rows_carry_the_ratios() -> None:
    markdown = render_markdown(synthetic_result())
    playground = _rows(markdown, "playground")
    assert [row[1] for row in playground[:2]] == ["1", "50"]
    row50 = playground[1]
    assert row50[2] == "20/20"
    assert row50[3] == "24.0"  # TTFT p50
    assert row50[6] == "+20.0"  # over direct
    assert row50[9] == "2,000"  # chunks/s
    assert row50[10] == "0.80x"  # vs direct
    assert row50[11] == "0.200"  # relay CPU s per 1k chunks
    direct = _rows(markdown, "direct")
    assert direct[0][6] == "—"
    assert direct[0][10] == "1.00x"
    assert "| 50 | 5,000 | 625 | 8.00x |" in markdown  # capacity table
    assert "| 500 | 2 | — | 5/5 | 155 |" in markdown  # SQL per reply at 500 chunks
    assert "**missed**" in markdown


def test_markdown_says_not_installed_for_a_missing_litellm() -> None:
    markdown = render_markdown(synthetic_result(litellm=False))
    (row,) = _rows(markdown, "litellm")
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
        ["bench", "--levels", "1,10", "--requests", "4", "--targets", "direct,playground"]
    )
    assert args.levels == [1, 10]
    assert args.requests == 4
    assert args.targets == ["direct", "playground"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--targets", "nginx"])


# --- one tiny real run ---------------------------------------------------------------


@pytest.mark.timeout(120)
def test_tiny_real_run(postgres_server_url: str, tmp_path: Path) -> None:
    """Direct and playground at concurrency 1 and 2: structure and every chunk, no timing."""
    config = BenchConfig(
        levels=[1, 2],
        requests=4,
        chunks=5,
        interval_ms=2,
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
        assert [lv.concurrency for lv in target.levels] == [1, 2]
        for level in target.levels:
            assert (level.requests, level.completed, level.errors) == (4, 4, 0), level
            assert level.chunks == 4 * 5
            assert level.ttft_ms is not None
            assert level.ttft_ms.p50 <= level.ttft_ms.p95 <= level.ttft_ms.p99
            assert level.client is not None
            assert level.upstream is not None
    playground = result.targets[1]
    assert playground.idle_rss_mb is not None
    for level in playground.levels:
        assert level.relay is not None
        assert level.relay.peak_rss_mb
        assert level.relay_cpu_s_per_1k_chunks is not None
        # pg_stat_database (the fallback) flushes lazily, so a count may still be 0 here.
        assert level.sql is not None
        assert level.sql.count >= 0
    assert [run.chunks for run in result.sql_runs] == [5, 20]
    assert all(run.replies == 2 and run.errors == 0 for run in result.sql_runs)
    # One progress line per target and level.
    assert sum(" c=" in line for line in lines) == 4

    paths = write_reports(result, tmp_path)
    assert {p.name for p in paths} >= {RESULTS_JSON, REPORT_MD}
    saved = json.loads((tmp_path / RESULTS_JSON).read_text())
    assert saved["targets"][1]["levels"][0]["chunks"] == 20
