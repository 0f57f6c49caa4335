"""Benchmark the playground's relay side by side with a direct client and LiteLLM's proxy.

The command line (``playground bench``, ``python -m scripts.bench``) and the run that
orchestrates the targets; the package docstring describes what is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

# Only records here: every ``playground`` command builds this module's flags, so the
# measuring modules (psutil, httpx-sse, tqdm) are imported when a run starts.
from scripts.bench.records import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    TARGETS,
    BenchConfig,
    BenchResult,
    MachineInfo,
    TargetResult,
    playground_name,
)

if TYPE_CHECKING:
    from scripts.bench.levels import Log
    from scripts.bench.meters import TreeMeter

DEFAULT_OUT = Path("bench-out")


def _positive_list(text: str, kind: type[int] | type[float], example: str) -> list[Any]:
    """Comma-separated positive numbers, or ``none`` for an empty list (that mode is skipped)."""
    if text.strip().lower() == "none":
        return []
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"positive numbers, e.g. {example}, or none")
    return values


def _levels(text: str) -> list[int]:
    return _positive_list(text, int, "1,10,50")


def _rates(text: str) -> list[float]:
    return _positive_list(text, float, "5,10,20")


def _workers(text: str) -> list[int]:
    workers = _positive_list(text, int, "1,2")
    if not workers:
        raise argparse.ArgumentTypeError("at least one worker count, e.g. 1 or 1,2")
    return list(dict.fromkeys(workers))


def _targets(text: str) -> list[str]:
    targets = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown or not targets:
        raise argparse.ArgumentTypeError(f"targets are among {', '.join(TARGETS)}")
    return targets


def _add_load_arguments(parser: argparse.ArgumentParser, defaults: BenchConfig) -> None:
    """The flags of the two loops and of the playground's worker processes."""
    parser.add_argument(
        "--levels",
        type=_levels,
        default=defaults.levels,
        help="closed loop: concurrency levels, e.g. 1,10,50,200 (none: skip)",
    )
    parser.add_argument(
        "--level-seconds",
        type=float,
        default=defaults.level_seconds,
        help="closed loop: how long each level sends requests",
    )
    parser.add_argument(
        "--rates",
        type=_rates,
        default=defaults.rates,
        help="open loop: Poisson arrival rates in replies/s, e.g. 5,10,20 (none: skip)",
    )
    parser.add_argument(
        "--rate-seconds",
        type=float,
        default=defaults.rate_seconds,
        help="open loop: how long arrivals come at each rate",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the open loop's arrivals"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=defaults.workers,
        help="playground serve --workers N; a list (1,2) runs the playground once per value",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's flags (shared by ``playground bench`` and ``python -m scripts.bench``)."""
    defaults = BenchConfig()
    _add_load_arguments(parser, defaults)
    parser.add_argument("--chunks", type=int, default=defaults.chunks, help="chunks per reply")
    parser.add_argument("--interval-ms", type=float, default=defaults.interval_ms)
    parser.add_argument(
        "--targets", type=_targets, default=defaults.targets, help="direct,playground,litellm"
    )
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument(
        "--install-litellm", action="store_true", help="(re)install LiteLLM's venv first"
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never install LiteLLM (its rows: not installed)"
    )
    parser.add_argument("--litellm-spec", default=None, help="pip requirement for LiteLLM")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--level-timeout-s",
        type=float,
        default=defaults.level_timeout_s,
        help="longest one request may run; still running then, it is cut off as an error",
    )
    parser.add_argument("--sql-chunks", type=int, default=defaults.sql_chunks)
    parser.add_argument("--sql-requests", type=int, default=defaults.sql_requests)
    parser.add_argument("--sql-idle-s", type=float, default=defaults.sql_idle_s)
    parser.add_argument(
        "--database-url",
        default=None,
        help="server for the bench database (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument(
        "--embedded", action="store_true", help="use a fresh embedded cluster even if set"
    )
    parser.add_argument(
        "--from-json", type=Path, default=None, help="only rewrite the reports from results.json"
    )


def machine_info() -> MachineInfo:
    """CPU model (as ``lscpu`` names it), cores, memory, Python and OS."""
    import psutil

    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return MachineInfo(
        cpu_model=model,
        cores=os.cpu_count() or 1,
        memory_gb=psutil.virtual_memory().total / 2**30,
        python=platform.python_version(),
        platform=platform.platform(terse=True),
    )


def _failed(name: str, exc: Exception) -> TargetResult:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return TargetResult(name=name, status=f"failed: {first[:120]}")


def environment_notes() -> list[str]:
    """``PLAYGROUND_*`` variables passed on to the playground, so the report says so."""
    overrides = sorted(k for k in os.environ if k.startswith("PLAYGROUND_"))
    if not overrides:
        return []
    return [
        "playground settings from the environment: "
        + ", ".join(f"{k}={os.environ[k]}" for k in overrides)
    ]


def _run_target(
    name: str,
    result: BenchResult,
    upstream_url: str,
    upstream: TreeMeter,
    database_url: str | None,
    work_dir: Path,
    install_litellm: str,
    log: Log,
) -> None:
    """Run target ``name`` and add what it measured to ``result``."""
    from scripts.bench.targets import run_direct, run_litellm, run_playground

    config = result.config
    if name == DIRECT:
        result.targets.append(run_direct(upstream_url, upstream, config, log))
    elif name == PLAYGROUND:
        for index, workers in enumerate(config.workers):
            try:
                target, sql, description = run_playground(
                    upstream_url,
                    upstream,
                    config,
                    database_url,
                    work_dir,
                    log,
                    workers=workers,
                    # The statements per reply do not depend on the worker count.
                    with_sql=index == 0,
                )
            except Exception as exc:
                log(f"{playground_name(workers)}: failed: {exc}")
                result.targets.append(_failed(playground_name(workers), exc))
                continue
            result.targets.append(target)
            result.sql_runs.extend(sql)
            if index == 0:
                result.config = msgspec.structs.replace(result.config, database=description)
    elif name == LITELLM:
        result.targets.append(
            run_litellm(upstream_url, upstream, config, work_dir, install_litellm, log)
        )


def run_bench(
    config: BenchConfig,
    *,
    database_url: str | None = None,
    install_litellm: str = "auto",
    command: str = "",
    log: Log = print,
) -> BenchResult:
    """Run every target and level of ``config``; the result (nothing written here).

    ``database_url`` names the server for the playground's fresh database (None: a
    fresh embedded cluster). ``install_litellm`` is ``auto`` (when missing),
    ``always`` or ``never``.
    """
    from scripts.bench.meters import TreeMeter
    from scripts.bench.processes import start_upstream

    started = time.perf_counter()
    result = BenchResult(
        config=config,
        machine=machine_info(),
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        duration_s=0.0,
        command=command,
        notes=environment_notes(),
    )
    with tempfile.TemporaryDirectory(prefix="playground-bench-") as temp:
        upstream = start_upstream(config.chunks, config.interval_ms)
        log(f"upstream: {upstream.url} ({config.chunks} chunks x {config.interval_ms:g} ms)")
        try:
            meter = TreeMeter(upstream.pid)
            for name in config.targets:
                try:
                    _run_target(
                        name,
                        result,
                        upstream.url,
                        meter,
                        database_url,
                        Path(temp),
                        install_litellm,
                        log,
                    )
                except Exception as exc:
                    log(f"{name}: failed: {exc}")
                    result.targets.append(_failed(name, exc))
        finally:
            upstream.stop()
    result.duration_s = time.perf_counter() - started
    return result


def run_from_args(args: argparse.Namespace, *, database_url: str | None, command: str) -> int:
    """Run (or re-report) as the parsed flags say; write the outputs; exit status."""
    from scripts.bench.report import read_json, write_reports

    if args.from_json is not None:
        result = read_json(args.from_json)
    else:
        targets = [t for t in args.targets if not (args.no_litellm and t == LITELLM)]
        config = BenchConfig(
            levels=args.levels,
            level_seconds=args.level_seconds,
            rates=args.rates,
            rate_seconds=args.rate_seconds,
            seed=args.seed,
            workers=args.workers,
            chunks=args.chunks,
            interval_ms=args.interval_ms,
            targets=targets,
            level_timeout_s=args.level_timeout_s,
            sql_chunks=args.sql_chunks,
            sql_requests=args.sql_requests,
            sql_idle_s=args.sql_idle_s,
            litellm_spec=args.litellm_spec,
        )
        server = None if args.embedded else (args.database_url or database_url)
        install = "always" if args.install_litellm else "never" if args.no_install else "auto"
        result = run_bench(config, database_url=server, install_litellm=install, command=command)
    for path in write_reports(result, args.out):
        print(f"wrote {path}")
    failed = [t.name for t in result.targets if t.status.startswith("failed")]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scripts.bench``: parse the flags and run."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench", description=(__doc__ or "").splitlines()[0]
    )
    add_arguments(parser)
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    command = "uv run python -m scripts.bench " + shlex.join(arguments)
    return run_from_args(
        args, database_url=os.environ.get("DATABASE_URL") or None, command=command.strip()
    )
