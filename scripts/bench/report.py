"""The benchmark's outputs: ``results.json``, ``report.md`` and ``bench.png``.

All three are written from a :class:`~scripts.bench.records.BenchResult` alone, so a
saved ``results.json`` can be turned into the report again (``--from-json``).
The Markdown's text and layout live in the Jinja2 template ``report.md.j2`` beside
this module; here are the rows it shows that need lookups across targets, and the
filters it formats numbers with. matplotlib is imported only to draw the plot (Agg
backend, no display); without it the JSON and Markdown are still written.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
import msgspec

from scripts import reporting
from scripts.bench.checks import target_checks
from scripts.bench.records import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    BenchResult,
    Comparison,
    LoadResult,
    ProcessUsage,
    RateComparison,
    TargetCheck,
)
from scripts.bench.stats import KEEPS_UP_FACTOR, compare, compare_rates, keeps_up
from scripts.reporting import NA, num

RESULTS_JSON = "results.json"
REPORT_MD = "report.md"
PLOT_PNG = "bench.png"
REPORT_TEMPLATE = "report.md.j2"
# Shares of one core above which a helper process limits what a level can show.
SATURATED = 0.85
# Cores' worth of CPU used by processes outside the bench above which a run was disturbed.
BUSY_ELSEWHERE = 0.25
# An open loop whose requests started this much later than scheduled (p99) measured
# the load generator as much as the relay.
LATE_START_MS = 10.0


def _signed(value: float | None, digits: int = 1) -> str:
    return NA if value is None else f"{value:+,.{digits}f}"


def _ratio(value: float | None) -> str:
    return NA if value is None else f"{value:.2f}x"


def _share(usage: ProcessUsage | None) -> str:
    return NA if usage is None else f"{usage.cpu_share * 100:.0f}%"


def _ok_cell(load: LoadResult) -> str:
    """Completed of sent, with the errors when there were any."""
    return f"{load.completed}/{load.requests}" + (f" ({load.errors} err)" if load.errors else "")


def write_json(result: BenchResult, out: Path) -> Path:
    """``results.json``: the whole result, indented."""
    path = out / RESULTS_JSON
    path.write_bytes(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
    return path


def read_json(path: Path) -> BenchResult:
    """A result written by :func:`write_json`."""
    return msgspec.json.decode(path.read_bytes(), type=BenchResult)


def _main_rows(result: BenchResult, comparisons: list[Comparison]) -> list[list[str]]:
    by_key = {(c.target, c.concurrency): c for c in comparisons}
    rows: list[list[str]] = []
    for target in result.targets:
        if target.status != "ok":
            rows.append([target.name, NA, target.status, *[NA] * 11])
            continue
        for lv in target.levels:
            comparison = by_key.get((target.name, lv.concurrency))
            ttft = lv.ttft_ms
            rows.append(
                [
                    target.name,
                    str(lv.concurrency),
                    _ok_cell(lv),
                    num(ttft.p50 if ttft else None),
                    num(ttft.p95 if ttft else None),
                    num(ttft.p99 if ttft else None),
                    NA
                    if target.name == DIRECT or comparison is None
                    else _signed(comparison.ttft_p50_overhead_ms),
                    num(lv.total_ms_p50, 0),
                    num(lv.requests_per_s),
                    num(lv.chunks_per_s, 0),
                    "1.00x"
                    if target.name == DIRECT
                    else _ratio(comparison.throughput_ratio if comparison else None),
                    num(lv.relay_cpu_s_per_1k_chunks, 3),
                    num(lv.relay.peak_rss_mb, 0) if lv.relay else NA,
                    num(lv.sql.per_reply) if lv.sql else NA,
                ]
            )
    return rows


def _capacity_rows(result: BenchResult, comparisons: list[Comparison]) -> list[list[str]]:
    playground, litellm = result.target(PLAYGROUND), result.target(LITELLM)
    if playground is None or playground.status != "ok":
        return []
    other = {lv.concurrency: lv for lv in litellm.levels} if litellm else {}
    ratios = {c.concurrency: c.capacity_vs_litellm for c in comparisons if c.target == PLAYGROUND}
    rows = []
    for lv in playground.levels:
        li = other.get(lv.concurrency)
        rows.append(
            [
                str(lv.concurrency),
                num(lv.relay_chunks_per_cpu_s, 0),
                num(li.relay_chunks_per_cpu_s, 0) if li else (litellm.status if litellm else NA),
                _ratio(ratios.get(lv.concurrency)),
            ]
        )
    return rows


def _rate_rows(result: BenchResult, comparisons: list[RateComparison]) -> list[list[str]]:
    by_key = {(c.target, c.offered_rate): c for c in comparisons}
    rows: list[list[str]] = []
    for target in result.targets:
        for run in target.rates if target.status == "ok" else []:
            comparison = by_key.get((target.name, run.offered_rate))
            ttft = run.ttft_ms
            rows.append(
                [
                    target.name,
                    f"{run.offered_rate:g}",
                    f"{run.completed}/{run.requests}"
                    + (f" ({run.errors} err)" if run.errors else ""),
                    num(run.requests_per_s, 2),
                    num(run.chunks_per_s, 0),
                    num(ttft.p50 if ttft else None),
                    num(ttft.p95 if ttft else None),
                    num(ttft.p99 if ttft else None),
                    _signed(comparison.ttft_p50_overhead_ms) if comparison else NA,
                    _signed(comparison.ttft_p95_overhead_ms) if comparison else NA,
                    num(run.total_ms_p99, 0),
                    "yes" if keeps_up(run, result.config.reply_s) else "**no**",
                    num(run.relay_cpu_s_per_1k_chunks, 3),
                    str(run.peak_in_flight),
                    num(run.start_lag_ms_p99),
                ]
            )
    return rows


def _loads(result: BenchResult) -> list[tuple[str, str, LoadResult]]:
    """Every run of every target, labelled: ``c=50`` (closed loop) or ``10/s`` (open)."""
    return [
        *(
            (target.name, f"c={lv.concurrency}", lv)
            for target in result.targets
            for lv in target.levels
        ),
        *(
            (target.name, f"{run.offered_rate:g}/s", run)
            for target in result.targets
            for run in target.rates
        ),
    ]


def _warnings(result: BenchResult) -> list[str]:
    notes: list[str] = []
    for name, label, load in _loads(result):
        where = f"{name} at {label}"
        if load.client and load.client.cpu_share >= SATURATED:
            notes.append(
                f"{where}: the load generator used {load.client.cpu_share:.0%} of a core; "
                "the client may be the bottleneck there (numbers are a lower bound)."
            )
        if load.other and load.other.cpu_share >= BUSY_ELSEWHERE:
            notes.append(
                f"{where}: other processes on the machine used {load.other.cpu_share:.0%} of a"
                " core; they competed with the measured ones."
            )
        if load.upstream and load.upstream.cpu_share >= SATURATED:
            notes.append(
                f"{where}: the fake upstream used {load.upstream.cpu_share:.0%} of a core; "
                "its pacing may have slipped."
            )
        lag = getattr(load, "start_lag_ms_p99", None)
        if lag is not None and lag >= LATE_START_MS:
            notes.append(
                f"{where}: requests started up to {lag:.0f} ms late (p99); the load "
                "generator fell behind its schedule."
            )
        if load.errors:
            notes.append(f"{where}: {load.errors} errors, e.g. {'; '.join(load.error_samples)}")
        expected = load.completed * load.expected_chunks_per_reply
        if load.completed and load.chunks < expected:
            notes.append(f"{where}: {load.chunks} chunks arrived of {expected} expected.")
    return notes


def _statement(query: str) -> str:
    """A normalised statement on one line, cut to fit a table cell."""
    return " ".join(query.split())[:110]


def _verdict(check: TargetCheck) -> str:
    verdict = {True: "met", False: "**missed**", None: "not measured"}[check.met]
    return f"{verdict} {check.margin}" if check.margin else verdict


@functools.cache
def _template() -> jinja2.Template:
    """``report.md.j2`` beside this module, with the filters it formats numbers with."""
    return reporting.markdown_template(
        Path(__file__).parent,
        REPORT_TEMPLATE,
        share=_share,
        statement=_statement,
        verdict=_verdict,
    )


def render_markdown(result: BenchResult) -> str:
    """``report.md``: the side-by-side tables (closed and open loop), ratios, SQL per
    reply, targets and notes."""
    comparisons = compare(result)
    return _template().render(
        result=result,
        config=result.config,
        machine=result.machine,
        main_rows=_main_rows(result, comparisons),
        idle=[
            f"{t.name} {t.idle_rss_mb:.0f} MB"
            for t in result.targets
            if t.status == "ok" and t.idle_rss_mb is not None
        ],
        workers=[f"{t.name} {t.workers}" for t in result.targets if t.status == "ok" and t.workers],
        capacity_rows=_capacity_rows(result, comparisons),
        rate_rows=_rate_rows(result, compare_rates(result)),
        load_rows=[
            [name, label, num(load.wall_s, 2)]
            + [
                _share(u)
                for u in (load.client, load.upstream, load.relay, load.database, load.other)
            ]
            for name, label, load in _loads(result)
        ],
        checks=target_checks(result),
        keeps_up_factor=KEEPS_UP_FACTOR,
        notes=[*result.notes, *_warnings(result)],
    )


def write_markdown(result: BenchResult, out: Path) -> Path:
    """``report.md``."""
    path = out / REPORT_MD
    path.write_text(render_markdown(result))
    return path


def _plot_closed(ttft_axes: Any, rate_axes: Any, result: BenchResult) -> None:
    """TTFT p50 and chunks/s against concurrency, one line per target."""
    for target in result.targets:
        if target.status != "ok" or not target.levels:
            continue
        ttft = [(lv.concurrency, lv.ttft_ms.p50) for lv in target.levels if lv.ttft_ms]
        if ttft:
            ttft_axes.plot(*zip(*ttft, strict=True), marker="o", label=target.name)
        rates = [(lv.concurrency, lv.chunks_per_s) for lv in target.levels]
        rate_axes.plot(*zip(*rates, strict=True), marker="o", label=target.name)
    for axes, title, unit in (
        (ttft_axes, "Closed loop: time to first token, p50", "ms"),
        (rate_axes, "Closed loop: throughput", "chunks/s"),
    ):
        axes.set_xscale("log")
        axes.set_xlabel("concurrent requests")
        axes.set_ylabel(unit)
        axes.set_title(title, fontsize=10)


def _plot_open(axes: Any, result: BenchResult) -> None:
    """TTFT p50 (solid) and p95 (dashed) against the arrival rate, one colour per target."""
    for target in result.targets:
        points = [(r.offered_rate, r.ttft_ms) for r in target.rates if r.ttft_ms]
        if target.status != "ok" or not points:
            continue
        (line,) = axes.plot(
            [rate for rate, _ in points], [t.p50 for _, t in points], marker="o", label=target.name
        )
        axes.plot(
            [rate for rate, _ in points],
            [t.p95 for _, t in points],
            marker="x",
            linestyle="--",
            color=line.get_color(),
        )
    axes.set_xlabel("arrivals per second (Poisson)")
    axes.set_ylabel("ms")
    axes.set_title("Open loop: TTFT p50 (solid), p95 (dashed)", fontsize=10)


def write_png(result: BenchResult, out: Path) -> Path | None:
    """``bench.png``: the closed loop's TTFT p50 and throughput against concurrency, and
    the open loop's TTFT against the arrival rate; one line per target.

    None (nothing written) when matplotlib is not installed.
    """
    plt = reporting.pyplot()
    if plt is None:
        return None
    figure, panels = plt.subplots(1, 3, figsize=(15, 4.2))
    _plot_closed(panels[0], panels[1], result)
    _plot_open(panels[2], result)
    for axes in panels:
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend()
    config = result.config
    figure.suptitle(
        f"{config.chunks} chunks x {config.interval_ms:g} ms per reply, "
        f"{result.machine.cores} cores ({result.machine.cpu_model})",
        fontsize=10,
    )
    figure.tight_layout()
    path = out / PLOT_PNG
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_reports(result: BenchResult, out: Path) -> list[Path]:
    """Write all three outputs into ``out`` (created if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_json(result, out), write_markdown(result, out)]
    png = write_png(result, out)
    if png is not None:
        paths.append(png)
    return paths
