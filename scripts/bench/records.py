"""The benchmark's records: what a run measured, as msgspec structs.

``results.json`` is a :class:`BenchResult`, encoded; the definitions of the measures
are in :mod:`scripts.bench.stats`, which computes them.
"""

from __future__ import annotations

from typing import Literal

import msgspec

DIRECT = "direct"
PLAYGROUND = "playground"
LITELLM = "litellm"
TARGETS = (DIRECT, PLAYGROUND, LITELLM)


def playground_name(workers: int) -> str:
    """The playground's target name: ``playground`` with one worker, ``playground-2w``
    with two, so runs with different worker counts sit side by side in one result."""
    return PLAYGROUND if workers == 1 else f"{PLAYGROUND}-{workers}w"


def is_playground(name: str) -> bool:
    """Whether target ``name`` is the playground, with any number of workers."""
    return name == PLAYGROUND or name.startswith(f"{PLAYGROUND}-")


SqlMethod = Literal["pg_stat_statements", "pg_stat_database"]


class Percentiles(msgspec.Struct, frozen=True, kw_only=True):
    """The 50th, 95th and 99th percentiles of one measure (milliseconds)."""

    p50: float
    p95: float
    p99: float


class RequestSample(msgspec.Struct, frozen=True, kw_only=True):
    """One request as the load generator saw it (seconds from its start)."""

    ok: bool
    total_s: float
    ttft_s: float | None = None
    chunks: int = 0
    deltas: int = 0
    error: str | None = None


class ProcessUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What one process tree (relay, upstream, database, client) used during a level."""

    cpu_s: float
    # CPU seconds per wall second: 1.0 is one core busy the whole level.
    cpu_share: float
    peak_rss_mb: float | None = None


class SqlUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Statements (or transactions) the playground ran against its database in a window."""

    method: SqlMethod
    count: int
    per_reply: float | None


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one target did under one load: a closed-loop level or an open-loop rate."""

    target: str
    requests: int
    completed: int
    errors: int
    wall_s: float
    ttft_ms: Percentiles | None
    total_ms_p50: float | None
    total_ms_p99: float | None = None
    requests_per_s: float
    chunks: int
    deltas: int
    chunks_per_s: float
    expected_chunks_per_reply: int
    # The most requests running at once.
    peak_in_flight: int = 0
    relay: ProcessUsage | None = None
    relay_cpu_s_per_1k_chunks: float | None = None
    relay_chunks_per_cpu_s: float | None = None
    upstream: ProcessUsage | None = None
    database: ProcessUsage | None = None
    client: ProcessUsage | None = None
    # The machine's busy CPU that none of the above used (other processes, the kernel):
    # a large share means something else competed for the cores during the run.
    other: ProcessUsage | None = None
    sql: SqlUsage | None = None
    error_samples: list[str] = msgspec.field(default_factory=list)


class LevelResult(LoadResult, frozen=True, kw_only=True):
    """One target at one concurrency level: ``concurrency`` workers, closed loop."""

    concurrency: int


class RateResult(LoadResult, frozen=True, kw_only=True):
    """One target at one arrival rate: Poisson arrivals, open loop."""

    # Replies per second asked for; the schedule's own count varies around it.
    offered_rate: float
    # How late the load generator started requests against the schedule (p99): a
    # large value means the client, not the relay, fell behind.
    start_lag_ms_p99: float | None = None


class TargetResult(msgspec.Struct, kw_only=True):
    """All levels of one target, or why it did not run."""

    name: str
    # "ok", "not installed", "skipped" or "failed: <why>".
    status: str
    version: str | None = None
    # Worker processes of a relay (None: the direct client, no relay).
    workers: int | None = None
    idle_rss_mb: float | None = None
    levels: list[LevelResult] = msgspec.field(default_factory=list)
    rates: list[RateResult] = msgspec.field(default_factory=list)


class StatementCount(msgspec.Struct, frozen=True, kw_only=True):
    """One normalised statement and how often it ran per reply."""

    query: str
    per_reply: float


class SqlRun(msgspec.Struct, frozen=True, kw_only=True):
    """The playground's statements per reply at one reply length (sequential replies)."""

    chunks: int
    interval_ms: float
    replies: int
    errors: int
    method: SqlMethod
    count: int
    # Statements the idle playground runs per second (heartbeats, pruning), measured
    # just before, and subtracted over the run's duration.
    background_per_s: float
    duration_s: float
    per_reply: float | None
    # How long one reply took (p50): statements that grow with time, not chunks, show here.
    reply_ms_p50: float | None = None
    top: list[StatementCount] = msgspec.field(default_factory=list)


class MachineInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where the benchmark ran."""

    cpu_model: str
    cores: int
    memory_gb: float
    python: str
    platform: str


class BenchConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What to run; most fields have a command-line flag in ``scripts.bench.cli``."""

    # Closed loop: concurrency levels, each run for ``level_seconds``.
    levels: list[int] = msgspec.field(default_factory=lambda: [1, 10, 50, 200])
    level_seconds: float = 20.0
    # Open loop: arrival rates (replies per second), each run for ``rate_seconds``.
    rates: list[float] = msgspec.field(default_factory=lambda: [5.0, 10.0, 20.0])
    rate_seconds: float = 30.0
    # Seeds the Poisson arrivals; every target meets the same schedule at a rate.
    seed: int = 1
    chunks: int = 50
    interval_ms: float = 20.0
    targets: list[str] = msgspec.field(default_factory=lambda: list(TARGETS))
    # The playground runs once per value, as ``playground serve --workers N``.
    workers: list[int] = msgspec.field(default_factory=lambda: [1])
    # The longest one request may run; a level's requests still running this long
    # after it started them are cut off, as errors.
    level_timeout_s: float = 120.0
    warmup_requests: int = 3
    sql_chunks: int = 500
    sql_requests: int = 5
    sql_idle_s: float = 4.0
    database: str = "embedded"
    litellm_spec: str | None = None
    model: str = "gpt-4o-mini"

    @property
    def reply_s(self) -> float:
        """The least time one reply takes: the upstream paces its chunks."""
        return (self.chunks - 1) * self.interval_ms / 1000


class BenchResult(msgspec.Struct, kw_only=True):
    """Everything one run measured; ``results.json`` is this, encoded."""

    config: BenchConfig
    machine: MachineInfo
    started_at: str
    duration_s: float
    command: str
    targets: list[TargetResult] = msgspec.field(default_factory=list)
    sql_runs: list[SqlRun] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)

    def target(self, name: str) -> TargetResult | None:
        """The result of target ``name``, if it was part of the run."""
        return next((t for t in self.targets if t.name == name), None)


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """One relay at one level, against direct (and the playground against LiteLLM)."""

    target: str
    concurrency: int
    ttft_p50_overhead_ms: float | None
    throughput_ratio: float | None
    # Playground chunks per CPU-second ÷ LiteLLM's, at the same level.
    capacity_vs_litellm: float | None = None


class RateComparison(msgspec.Struct, frozen=True, kw_only=True):
    """One relay at one arrival rate, against direct at the same rate."""

    target: str
    offered_rate: float
    ttft_p50_overhead_ms: float | None
    ttft_p95_overhead_ms: float | None


class TargetCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One of the relay's targets: what was wanted, what was measured, met or not."""

    name: str
    wanted: str
    measured: str
    met: bool | None
    # How far from the bound: "with 0.030 s (25%) to spare" when met, "by 0.030 s (25%)"
    # when missed.
    margin: str | None = None
