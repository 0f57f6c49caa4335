"""The soak's command line (``playground soak``, ``python -m scripts.soak``).

Only records and flags here: every ``playground`` command builds these flags, so the
modules that run the soak (httpx, psutil, asyncpg) are imported when a run starts.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.fake_faults import add_fault_arguments, rates_from_args
from scripts.soak.records import REFERENCE_FAULTS, SoakConfig, SoakResult

DEFAULT_OUT = Path("scripts/soak-report")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The soak's flags (shared by ``playground soak`` and ``python -m scripts.soak``)."""
    defaults = SoakConfig()
    parser.add_argument("--duration-s", type=float, default=defaults.duration_s)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--replicas", type=int, default=defaults.replicas)
    parser.add_argument(
        "--kill-every-s",
        type=float,
        default=defaults.kill_every_s,
        help="SIGKILL a replica (in turn) this often and restart it; 0: never",
    )
    parser.add_argument(
        "--db-blip-at-s",
        type=float,
        default=None,
        help="when to terminate every database connection of the replicas"
        " (default: at 40%% of the load, between kills; 0: never)",
    )
    # The fault rates, --stall-ms and --seed (default: a random seed, printed).
    add_fault_arguments(parser, REFERENCE_FAULTS)
    parser.add_argument("--chunks", type=int, default=defaults.chunks, help="chunks per reply")
    parser.add_argument("--interval-ms", type=float, default=defaults.interval_ms)
    parser.add_argument("--warmup-s", type=float, default=defaults.warmup_s)
    parser.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=defaults.max_rss_growth_mb,
        help="most a replica's RSS may grow after its warm-up",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--database-url",
        default=None,
        help="server for the soak database (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument(
        "--embedded", action="store_true", help="use a fresh embedded cluster even if set"
    )


def config_from_args(args: argparse.Namespace) -> SoakConfig:
    """The run the parsed flags describe."""
    if args.users < 1 or args.replicas < 1 or args.duration_s <= 0:
        raise SystemExit("--users and --replicas are at least 1, --duration-s above 0")
    return SoakConfig(
        duration_s=args.duration_s,
        users=args.users,
        replicas=args.replicas,
        kill_every_s=args.kill_every_s,
        db_blip_at_s=args.db_blip_at_s,
        faults=rates_from_args(args),
        seed=args.seed if args.seed is not None else random.randrange(2**31),
        chunks=args.chunks,
        interval_ms=args.interval_ms,
        warmup_s=args.warmup_s,
        max_rss_growth_mb=args.max_rss_growth_mb,
    )


def summary(result: SoakResult) -> list[str]:
    """The invariants, one line each, with the examples of those that failed."""
    lines = []
    for check in result.checks:
        verdict = "PASS" if check.passed else "FAIL"
        lines.append(f"{verdict} {check.name}: {check.checked} checked; {check.detail}")
        lines.extend(f"    {example}" for example in check.examples)
    return lines


def run_from_args(args: argparse.Namespace, *, database_url: str | None, command: str) -> int:
    """Run as the parsed flags say, write the outputs; 0 when every invariant held."""
    from scripts.soak.report import write_reports
    from scripts.soak.run import run_soak

    config = config_from_args(args)
    print(f"soak: seed {config.seed}, {config.duration_s:g} s, {config.users} users")
    server = None if args.embedded else (args.database_url or database_url)
    result = run_soak(config, database_url=server, log_dir=args.out, command=command)
    for line in summary(result):
        print(line)
    for path in write_reports(result, args.out):
        print(f"wrote {path}")
    return 0 if result.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scripts.soak``: parse the flags and run."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.soak", description=(__doc__ or "").splitlines()[0]
    )
    add_arguments(parser)
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    command = "uv run python -m scripts.soak " + shlex.join(arguments)
    return run_from_args(
        args, database_url=os.environ.get("DATABASE_URL") or None, command=command.strip()
    )
