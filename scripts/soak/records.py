"""The soak's records: what it was asked to do and what it found, as msgspec structs.

``results.json`` is a :class:`SoakResult`, encoded. Light on imports: every
``playground`` command builds the soak's flags from :class:`SoakConfig`'s defaults.
"""

from __future__ import annotations

import msgspec

from scripts.bench.records import MachineInfo
from scripts.fake_faults import FaultRates

# The reference soak's upstream: 3 % truncated, 3 % cut, 2 % malformed, 2 % stalled
# for 3 s, 3 % answered 500 and 3 % answered 429.
REFERENCE_FAULTS = FaultRates(
    truncate=0.03, drop=0.03, malformed=0.02, stall=0.02, stall_ms=3000, fail500=0.03, fail429=0.03
)


class SoakConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What to run; each field has a command-line flag in ``scripts.soak.cli``."""

    duration_s: float = 600.0
    users: int = 16
    replicas: int = 2
    # 0: never kill.
    kill_every_s: float = 150.0
    # None: at 40 % of the load (between two kills of the default schedule); 0: never.
    db_blip_at_s: float | None = None
    faults: FaultRates = REFERENCE_FAULTS
    seed: int = 0
    chunks: int = 40
    interval_ms: float = 25.0
    # RSS growth is measured from this long after each replica's start to its end.
    warmup_s: float = 30.0
    max_rss_growth_mb: float = 10.0
    # After the load: how long replies may take to settle before the checks.
    settle_s: float = 60.0
    model: str = "fake-small"
    database: str = ""

    @property
    def blip_at_s(self) -> float | None:
        """When every database connection of the replicas is terminated (None: never)."""
        if self.db_blip_at_s is None:
            # Not at a kill: both replicas must be up to have their connections cut.
            return self.duration_s * 0.4
        return self.db_blip_at_s or None


class Counters(msgspec.Struct, kw_only=True):
    """What the users did and saw, in totals."""

    actions: dict[str, int] = msgspec.field(default_factory=dict)
    requests: int = 0
    statuses: dict[str, int] = msgspec.field(default_factory=dict)
    # Streams seen to ``done``, and how many of them were resumed at least once.
    streams: int = 0
    resumed_streams: int = 0
    # Streams given up on (``done`` never seen after every resume attempt).
    unfinished_streams: int = 0
    replies: dict[str, int] = msgspec.field(default_factory=dict)
    cancels: int = 0
    busy_rejections: int = 0
    idempotent_retries: int = 0
    connection_errors: int = 0
    errors: int = 0
    kills: int = 0
    blip_terminated: int = 0

    @property
    def total_actions(self) -> int:
        """Actions of every kind."""
        return sum(self.actions.values())

    @property
    def total_replies(self) -> int:
        """Replies seen completed, cancelled, failed or interrupted."""
        return sum(self.replies.values())


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One invariant: whether it held, over how many cases, and examples when not."""

    name: str
    passed: bool
    checked: int
    detail: str
    examples: list[str] = msgspec.field(default_factory=list)


class ChaosEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A kill, a restart or the connection kill, seconds from the start of the load."""

    t: float
    kind: str
    detail: str
    replica: int | None = None


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    """One reading a second: per replica its pid, RSS and database connections."""

    t: float
    pids: list[int | None]
    rss_mb: list[float | None]
    # None where the server is reached over a Unix socket (no port to match).
    connections: list[int | None]
    database_total: int


class RssGrowth(msgspec.Struct, frozen=True, kw_only=True):
    """How one replica process's RSS moved between the end of its warm-up and its end."""

    replica: int
    pid: int
    from_s: float
    to_s: float
    start_mb: float
    end_mb: float

    @property
    def growth_mb(self) -> float:
        """End minus start."""
        return self.end_mb - self.start_mb


class SoakResult(msgspec.Struct, kw_only=True):
    """A whole soak run; ``results.json`` holds one."""

    config: SoakConfig
    machine: MachineInfo
    started_at: str
    duration_s: float
    command: str
    counters: Counters
    checks: list[Check] = msgspec.field(default_factory=list)
    chaos: list[ChaosEvent] = msgspec.field(default_factory=list)
    samples: list[Sample] = msgspec.field(default_factory=list)
    rss: list[RssGrowth] = msgspec.field(default_factory=list)
    error_samples: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every invariant held."""
        return bool(self.checks) and all(check.passed for check in self.checks)
