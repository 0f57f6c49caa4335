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

import jinja2
import msgspec

from scripts import reporting
from scripts.bench.records import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    BenchResult,
    Comparison,
    LevelResult,
    ProcessUsage,
)
from scripts.bench.stats import compare, target_checks
from scripts.reporting import NA, num

RESULTS_JSON = "results.json"
REPORT_MD = "report.md"
PLOT_PNG = "bench.png"
REPORT_TEMPLATE = "report.md.j2"
# Shares of one core above which a helper process limits what a level can show.
SATURATED = 0.85


def _signed(value: float | None, digits: int = 1) -> str:
    return NA if value is None else f"{value:+,.{digits}f}"


def _ratio(value: float | None) -> str:
    return NA if value is None else f"{value:.2f}x"


def _share(usage: ProcessUsage | None) -> str:
    return NA if usage is None else f"{usage.cpu_share * 100:.0f}%"


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
                    f"{lv.completed}/{lv.requests}" + (f" ({lv.errors} err)" if lv.errors else ""),
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


def _warnings(result: BenchResult) -> list[str]:
    notes: list[str] = []
    for target in result.targets:
        for lv in target.levels:
            where = f"{target.name} at concurrency {lv.concurrency}"
            if lv.client and lv.client.cpu_share >= SATURATED:
                notes.append(
                    f"{where}: the load generator used {lv.client.cpu_share:.0%} of a core; "
                    "the client may be the bottleneck there (numbers are a lower bound)."
                )
            if lv.upstream and lv.upstream.cpu_share >= SATURATED:
                notes.append(
                    f"{where}: the fake upstream used {lv.upstream.cpu_share:.0%} of a core; "
                    "its pacing may have slipped."
                )
            if lv.errors:
                notes.append(f"{where}: {lv.errors} errors, e.g. {'; '.join(lv.error_samples)}")
            expected = lv.completed * lv.expected_chunks_per_reply
            if lv.completed and lv.chunks < expected:
                notes.append(f"{where}: {lv.chunks} chunks arrived of {expected} expected.")
    return notes


def _statement(query: str) -> str:
    """A normalised statement on one line, cut to fit a table cell."""
    return " ".join(query.split())[:110]


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


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
    """``report.md``: the side-by-side table, ratios, SQL per reply, targets and notes."""
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
        capacity_rows=_capacity_rows(result, comparisons),
        checks=target_checks(result),
        notes=[*result.notes, *_warnings(result)],
    )


def write_markdown(result: BenchResult, out: Path) -> Path:
    """``report.md``."""
    path = out / REPORT_MD
    path.write_text(render_markdown(result))
    return path


def _series(levels: list[LevelResult]) -> tuple[list[int], list[float | None], list[float]]:
    return (
        [lv.concurrency for lv in levels],
        [lv.ttft_ms.p50 if lv.ttft_ms else None for lv in levels],
        [lv.chunks_per_s for lv in levels],
    )


def write_png(result: BenchResult, out: Path) -> Path | None:
    """``bench.png``: TTFT p50 and throughput against concurrency, one line per target.

    None (nothing written) when matplotlib is not installed.
    """
    plt = reporting.pyplot()
    if plt is None:
        return None
    figure, (ttft_axes, rate_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target in result.targets:
        if target.status != "ok" or not target.levels:
            continue
        levels, ttft, rates = _series(target.levels)
        ttft_points = [(c, t) for c, t in zip(levels, ttft, strict=True) if t is not None]
        if ttft_points:
            ttft_axes.plot(*zip(*ttft_points, strict=True), marker="o", label=target.name)
        rate_axes.plot(levels, rates, marker="o", label=target.name)
    for axes, title, unit in (
        (ttft_axes, "Time to first token, p50", "ms"),
        (rate_axes, "Throughput", "chunks/s"),
    ):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("concurrent requests")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
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
