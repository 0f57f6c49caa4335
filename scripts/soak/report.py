"""The soak's outputs: ``results.json``, ``report.md`` and ``soak.png``.

The Markdown's text lives in the Jinja2 template ``report.md.j2`` beside this module;
the plot shows each replica's RSS and database connections over the run, with the
kills and the connection kill marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts import reporting
from scripts.fake_faults import FAULTS
from scripts.soak.records import SoakResult

RESULTS_JSON = "results.json"
REPORT_MD = "report.md"
PLOT_PNG = "soak.png"
REPORT_TEMPLATE = "report.md.j2"


def _faults(result: SoakResult) -> str:
    rates = result.config.faults
    parts = [f"{name} {getattr(rates, name):.0%}" for name in FAULTS if getattr(rates, name)]
    if rates.stall:
        parts.append(f"stalls of {rates.stall_ms / 1000:g} s")
    return ", ".join(parts) or "none"


def _peaks(result: SoakResult) -> list[str]:
    """The most database connections each replica (and all of them) held at once."""
    peaks = []
    for replica in range(result.config.replicas):
        counts = [s.connections[replica] for s in result.samples]
        known = [c for c in counts if c is not None]
        if known:
            peaks.append(f"replica {replica} {max(known)}")
    total = max((s.database_total for s in result.samples), default=0)
    return [*peaks, f"all replicas {total}"]


def render_markdown(result: SoakResult) -> str:
    """``report.md``: the verdict, the invariants, the load, the chaos, memory."""
    template = reporting.markdown_template(Path(__file__).parent, REPORT_TEMPLATE)
    return template.render(
        result=result,
        config=result.config,
        counters=result.counters,
        faults=_faults(result),
        peaks=_peaks(result),
        per_replica=any(c is not None for s in result.samples for c in s.connections),
        plot=PLOT_PNG,
    )


def _mark_chaos(axes: Any, result: SoakResult) -> None:
    for event in result.chaos:
        if event.kind in ("kill", "connection kill"):
            style = "--" if event.kind == "kill" else ":"
            axes.axvline(event.t, color="grey", linestyle=style, linewidth=1)


def write_png(result: SoakResult, out: Path) -> Path | None:
    """``soak.png``: RSS and database connections per replica against time (None when
    matplotlib is missing)."""
    plt = reporting.pyplot()
    if plt is None or not result.samples:
        return None
    figure, (rss_axes, db_axes) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    times = [s.t for s in result.samples]
    nan = float("nan")
    for replica in range(result.config.replicas):
        rss = [s.rss_mb[replica] for s in result.samples]
        rss_axes.plot(times, [nan if v is None else v for v in rss], label=f"replica {replica}")
        connections = [s.connections[replica] for s in result.samples]
        if any(c is not None for c in connections):
            db_axes.plot(
                times, [nan if c is None else c for c in connections], label=f"replica {replica}"
            )
    db_axes.plot(
        times,
        [s.database_total for s in result.samples],
        label="all replicas",
        color="black",
        linewidth=0.8,
    )
    rss_axes.set_ylabel("RSS MB")
    db_axes.set_ylabel("database connections")
    db_axes.set_xlabel("seconds (dashed: a replica killed; dotted: every connection killed)")
    for axes in (rss_axes, db_axes):
        _mark_chaos(axes, result)
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
    config = result.config
    figure.suptitle(
        f"Soak: {config.users} users, {config.replicas} replicas, {result.duration_s:.0f} s",
        fontsize=10,
    )
    figure.tight_layout()
    path = out / PLOT_PNG
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_reports(result: SoakResult, out: Path) -> list[Path]:
    """Write the three outputs into ``out`` (created if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    markdown = out / REPORT_MD
    markdown.write_text(render_markdown(result))
    paths = [reporting.write_json(out / RESULTS_JSON, result), markdown]
    png = write_png(result, out)
    if png is not None:
        paths.append(png)
    return paths
