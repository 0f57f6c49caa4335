"""Benchmark the playground's relay side by side with a direct client and LiteLLM's proxy.

The command line (``playground bench``, ``python -m scripts.bench``) and the run that
orchestrates the targets; the package docstring describes what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from scripts.bench.stats import (
    DIRECT,
    LITELLM,
    PLAYGROUND,
    TARGETS,
    BenchConfig,
    BenchResult,
    LevelResult,
    MachineInfo,
    ProcessUsage,
    RequestSample,
    SqlRun,
    SqlUsage,
    TargetResult,
    per_reply,
    percentile,
    process_usage,
    sql_run,
    summarise_level,
)

if TYPE_CHECKING:
    from scripts.bench.load import RequestFn
    from scripts.bench.processes import BenchDatabase, TreeMeter

Log = Callable[[str], None]
DEFAULT_OUT = Path("bench-out")
# After a level, background work it caused (the last event batches, final writes)
# gets this long before the statement counter is read again.
SETTLE_S = 0.5


def _levels(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("levels are positive integers, e.g. 1,10,50")
    return levels


def _targets(text: str) -> list[str]:
    targets = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown or not targets:
        raise argparse.ArgumentTypeError(f"targets are among {', '.join(TARGETS)}")
    return targets


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's flags (shared by ``playground bench`` and ``python -m scripts.bench``)."""
    defaults = BenchConfig()
    parser.add_argument("--levels", type=_levels, default=defaults.levels, help="e.g. 1,10,50,200")
    parser.add_argument(
        "--requests", type=int, default=None, help="per level (default: max(20, 2xconcurrency))"
    )
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
    parser.add_argument("--level-timeout-s", type=float, default=defaults.level_timeout_s)
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


class _Meters:
    """Readings of every process that shares the machine during a level."""

    def __init__(
        self,
        relay: TreeMeter | None,
        upstream: TreeMeter,
        database: TreeMeter | None,
        client: TreeMeter,
    ) -> None:
        self.relay, self.upstream, self.database, self.client = relay, upstream, database, client

    def cpu(self) -> tuple[float | None, float, float | None, float]:
        return (
            self.relay.cpu_s() if self.relay else None,
            self.upstream.cpu_s(),
            self.database.cpu_s() if self.database else None,
            self.client.cpu_s(),
        )


def _usage(
    before: float | None, after: float | None, wall: float, peak: int | None = None
) -> ProcessUsage | None:
    if before is None or after is None:
        return None
    return process_usage(after - before, wall, peak)


def _progress_line(level: LevelResult) -> str:
    ttft = level.ttft_ms
    parts = [
        f"{level.target:<10} c={level.concurrency:<4}",
        f"{level.completed}/{level.requests} ok",
        f"TTFT p50/p95/p99 {ttft.p50:.1f}/{ttft.p95:.1f}/{ttft.p99:.1f} ms" if ttft else "TTFT n/a",
        f"{level.requests_per_s:.1f} req/s",
        f"{level.chunks_per_s:.0f} chunks/s",
    ]
    if level.relay_cpu_s_per_1k_chunks is not None:
        parts.append(f"relay CPU {level.relay_cpu_s_per_1k_chunks:.3f} s/1k chunks")
    if level.relay and level.relay.peak_rss_mb is not None:
        parts.append(f"RSS {level.relay.peak_rss_mb:.0f} MB")
    if level.sql and level.sql.per_reply is not None:
        parts.append(f"SQL/reply {level.sql.per_reply:.1f}")
    if level.errors:
        parts.append(f"errors: {'; '.join(level.error_samples)}")
    return "  ".join(parts)


LevelFactory = Callable[[int, int, str, str], contextlib.AbstractAsyncContextManager["RequestFn"]]


async def _run_levels(
    name: str,
    factory: LevelFactory,
    meters: _Meters,
    config: BenchConfig,
    database: BenchDatabase | None,
    log: Log,
) -> list[LevelResult]:
    from tqdm import tqdm

    from scripts.bench.load import PROMPT, run_level
    from scripts.bench.processes import PeakRss
    from scripts.fake_upstream import reply_text

    expected = reply_text(config.chunks)
    async with factory(1, config.warmup_requests, PROMPT, expected) as request:
        warm, _ = await run_level(request, config.warmup_requests, 1, config.level_timeout_s)
    if not any(s.ok for s in warm):
        log(f"{name}: every warm-up request failed: {warm[0].error if warm else '?'}")
    results: list[LevelResult] = []
    for concurrency in config.levels:
        total = config.requests_for(concurrency)
        async with factory(concurrency, total, PROMPT, expected) as request:
            sql_before = await database.counter.total() if database else None
            cpu_before = meters.cpu()
            with (
                tqdm(total=total, desc=f"{name} c={concurrency}", leave=False, disable=None) as bar,
                PeakRss(meters.relay) if meters.relay else contextlib.nullcontext() as rss,
            ):
                samples, wall = await run_level(
                    request, total, concurrency, config.level_timeout_s, bar.update
                )
            cpu_after = meters.cpu()
        sql = None
        if database is not None and sql_before is not None:
            await asyncio.sleep(SETTLE_S)
            count = await database.counter.total() - sql_before
            done = sum(1 for s in samples if s.ok)
            sql = SqlUsage(
                method=database.counter.method, count=count, per_reply=per_reply(count, done)
            )
        level = summarise_level(
            target=name,
            concurrency=concurrency,
            samples=samples,
            wall_s=wall,
            expected_chunks_per_reply=config.chunks,
            relay=_usage(cpu_before[0], cpu_after[0], wall, rss.peak if rss else None),
            upstream=_usage(cpu_before[1], cpu_after[1], wall),
            database=_usage(cpu_before[2], cpu_after[2], wall),
            client=_usage(cpu_before[3], cpu_after[3], wall),
            sql=sql,
        )
        log(_progress_line(level))
        results.append(level)
        # Let the previous level's stragglers (timers, pool cleanup) settle.
        await asyncio.sleep(1.0)
    return results


async def _sql_runs(
    factory: LevelFactory, database: BenchDatabase, config: BenchConfig, log: Log
) -> list[SqlRun]:
    """Statements per reply at ``chunks`` and ``sql_chunks`` per reply, same duration each."""
    from scripts.bench.load import PROMPT, run_level
    from scripts.fake_upstream import reply_text

    # Pace the long reply to last as long as the default one: a time-based flush then
    # does the same work in both, and only the number of chunks differs.
    slow_ms = round(config.chunks * config.interval_ms / max(config.sql_chunks, 1))
    runs = [
        (config.chunks, config.interval_ms, PROMPT),
        (
            config.sql_chunks,
            float(slow_ms),
            f"{PROMPT} [[chunks:{config.sql_chunks}]] [[slow:{slow_ms}]]",
        ),
    ]
    results: list[SqlRun] = []
    counter = database.counter
    for chunks, interval_ms, content in runs:
        expected = reply_text(chunks)
        total = config.sql_requests
        async with factory(1, total, content, expected) as request:
            idle_start = await counter.total()
            await asyncio.sleep(config.sql_idle_s)
            start_count = await counter.total()
            before = await counter.by_query()
            background = (start_count - idle_start) / config.sql_idle_s
            started = time.perf_counter()
            samples, _ = await run_level(request, total, 1, config.level_timeout_s)
            await asyncio.sleep(SETTLE_S)
            end_count = await counter.total()
            after = await counter.by_query()
            duration = time.perf_counter() - started
        diff = {
            q: calls - before.get(q, 0) for q, calls in after.items() if calls > before.get(q, 0)
        }
        run = sql_run(
            chunks=chunks,
            interval_ms=interval_ms,
            replies=len(samples),
            errors=sum(1 for s in samples if not s.ok),
            method=counter.method,
            count=end_count - start_count,
            background_per_s=background,
            duration_s=duration,
            by_query=diff,
            reply_ms_p50=(
                percentile([s.total_s for s in samples if s.ok], 50) * 1000
                if any(s.ok for s in samples)
                else None
            ),
        )
        value = "n/a" if run.per_reply is None else f"{run.per_reply:.1f}"
        log(
            f"playground SQL at {chunks} chunks/reply: {value} per reply ({run.count} counted"
            f" over {run.replies} replies, background {background:.2f}/s, {run.method})"
        )
        results.append(run)
    return results


def _openai_factory(base_url: str, api_key: str, config: BenchConfig) -> LevelFactory:
    from scripts.bench.load import openai_client, openai_request

    @contextlib.asynccontextmanager
    async def factory(
        concurrency: int, total: int, content: str, expected: str
    ) -> AsyncIterator[RequestFn]:
        async with openai_client(base_url, api_key, concurrency, config.level_timeout_s) as client:

            async def request(_: int) -> RequestSample:
                return await openai_request(client, config.model, content, expected)

            yield request

    return factory


def _playground_factory(base_url: str, config: BenchConfig) -> LevelFactory:
    from scripts.bench.load import create_threads, playground_client, playground_request

    @contextlib.asynccontextmanager
    async def factory(
        concurrency: int, total: int, content: str, expected: str
    ) -> AsyncIterator[RequestFn]:
        async with playground_client(base_url, concurrency, config.level_timeout_s) as http:
            # One fresh thread per request, created before the timed window: a send
            # then measures the relay, not thread creation or a growing history.
            threads = await create_threads(http, config.model, total)

            async def request(index: int) -> RequestSample:
                return await playground_request(http, threads[index], content, expected)

            yield request

    return factory


def _direct(upstream_url: str, upstream: TreeMeter, config: BenchConfig, log: Log) -> TargetResult:
    from scripts.bench.processes import TreeMeter

    meters = _Meters(None, upstream, None, TreeMeter(os.getpid(), children=False))
    factory = _openai_factory(upstream_url, "bench-key", config)
    levels = asyncio.run(_run_levels(DIRECT, factory, meters, config, None, log))
    import openai

    return TargetResult(
        name=DIRECT, status="ok", version=f"openai {openai.__version__}", levels=levels
    )


def _idle_rss_mb(meter: TreeMeter) -> float:
    time.sleep(1.0)
    return meter.rss_bytes() / 2**20


def _playground(
    upstream_url: str,
    upstream: TreeMeter,
    config: BenchConfig,
    database_url: str | None,
    work_dir: Path,
    log: Log,
) -> tuple[TargetResult, list[SqlRun], str]:
    from scripts.bench.processes import (
        TreeMeter,
        open_embedded_database,
        open_server_database,
        playground_env,
        start_playground,
    )

    log("playground: preparing a fresh database…")
    database = (
        open_server_database(database_url) if database_url else open_embedded_database(work_dir)
    )
    try:
        log(f"playground: {database.description}; counting with {database.counter.method}")
        env = playground_env(database.url, upstream_url, config.model, work_dir / "data")
        service = start_playground(env)
        try:
            meter = TreeMeter(service.pid)
            idle = _idle_rss_mb(meter)
            log(f"playground: serving on {service.url}, idle RSS {idle:.0f} MB")
            meters = _Meters(
                meter,
                upstream,
                TreeMeter(database.server_pid) if database.server_pid else None,
                TreeMeter(os.getpid(), children=False),
            )
            factory = _playground_factory(service.url, config)

            async def measure() -> tuple[list[LevelResult], list[SqlRun]]:
                levels = await _run_levels(PLAYGROUND, factory, meters, config, database, log)
                return levels, await _sql_runs(factory, database, config, log)

            levels, sql = asyncio.run(measure())
        except Exception:
            log("playground output (tail):\n" + service.tail())
            raise
        finally:
            service.stop()
        target = TargetResult(name=PLAYGROUND, status="ok", idle_rss_mb=idle, levels=levels)
        return target, sql, database.description
    finally:
        database.close()


def _litellm(
    upstream_url: str,
    upstream: TreeMeter,
    config: BenchConfig,
    work_dir: Path,
    install: str,
    log: Log,
) -> TargetResult:
    from scripts.bench.processes import (
        LITELLM_SPEC,
        TreeMeter,
        install_litellm,
        litellm_version,
        start_litellm,
    )

    version = litellm_version()
    wanted = install == "always" or (version is None and install == "auto")
    if wanted and install_litellm(config.litellm_spec or LITELLM_SPEC, log=log):
        version = litellm_version()
    if version is None:
        return TargetResult(name=LITELLM, status="not installed")
    log(f"litellm {version}: starting the proxy…")
    service, key = start_litellm(upstream_url, config.model, work_dir)
    try:
        meter = TreeMeter(service.pid)
        idle = _idle_rss_mb(meter)
        log(f"litellm: serving on {service.url}, idle RSS {idle:.0f} MB")
        meters = _Meters(meter, upstream, None, TreeMeter(os.getpid(), children=False))
        factory = _openai_factory(service.url, key, config)
        levels = asyncio.run(_run_levels(LITELLM, factory, meters, config, None, log))
    except Exception:
        log("litellm output (tail):\n" + service.tail())
        raise
    finally:
        service.stop()
    return TargetResult(
        name=LITELLM, status="ok", version=f"litellm {version}", idle_rss_mb=idle, levels=levels
    )


def _failed(name: str, exc: Exception) -> TargetResult:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return TargetResult(name=name, status=f"failed: {first[:120]}")


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
    from scripts.bench.processes import TreeMeter, start_upstream

    started = time.perf_counter()
    result = BenchResult(
        config=config,
        machine=machine_info(),
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        duration_s=0.0,
        command=command,
    )
    overrides = sorted(k for k in os.environ if k.startswith("PLAYGROUND_"))
    if overrides:
        result.notes.append(
            "playground settings from the environment: "
            + ", ".join(f"{k}={os.environ[k]}" for k in overrides)
        )
    with tempfile.TemporaryDirectory(prefix="playground-bench-") as temp:
        work_dir = Path(temp)
        upstream = start_upstream(config.chunks, config.interval_ms)
        log(f"upstream: {upstream.url} ({config.chunks} chunks x {config.interval_ms:g} ms)")
        try:
            meter = TreeMeter(upstream.pid)
            for name in config.targets:
                try:
                    if name == DIRECT:
                        result.targets.append(_direct(upstream.url, meter, config, log))
                    elif name == PLAYGROUND:
                        target, sql, description = _playground(
                            upstream.url, meter, config, database_url, work_dir, log
                        )
                        result.targets.append(target)
                        result.sql_runs.extend(sql)
                        config = msgspec.structs.replace(config, database=description)
                        result.config = config
                    elif name == LITELLM:
                        result.targets.append(
                            _litellm(upstream.url, meter, config, work_dir, install_litellm, log)
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
            requests=args.requests,
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
