"""What the soak's users saw, kept for the checks: streams, cancels, retries, refusals.

One journal is shared by every user of a run; they all run on one event loop, so it
needs no lock. The invariants compare it with what Postgres stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scripts.soak.records import Counters

# Statuses the API gives under this load: 409 (busy thread, nothing to cancel), 502/504
# (the upstream failed before any output), 204 (nothing to follow).
EXPECTED_STATUSES = frozenset({200, 201, 204, 409, 502, 504})
ERROR_SAMPLES = 40


@dataclass
class StreamSeen:
    """One reply as a client assembled it, over every connection it took (resumes)."""

    thread_id: str
    kind: str
    replicas: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    # Text per message id, from the ``message.delta`` events.
    texts: dict[str, str] = field(default_factory=dict)
    # Status per message id, from the ``message.completed`` events.
    completed: dict[str, str] = field(default_factory=dict)
    final_message_id: str | None = None
    deltas: int = 0
    done: bool = False
    resumes: int = 0

    @property
    def last_event_id(self) -> str | None:
        """The id to resume after (None before the first event)."""
        return self.event_ids[-1] if self.event_ids else None

    @property
    def generation_id(self) -> str | None:
        """The generation its event ids name."""
        last = self.last_event_id
        return None if last is None else last.rpartition(":")[0]

    @property
    def final_status(self) -> str | None:
        """The status of the last ``message.completed`` seen."""
        if self.final_message_id is None:
            return None
        return self.completed[self.final_message_id]


@dataclass(frozen=True)
class CancelSeen:
    """A cancel's answer (``cancelled``, ``message_id``) for a thread."""

    thread_id: str
    cancelled: bool
    message_id: str | None


@dataclass(frozen=True)
class IdempotentSeen:
    """A send and its retry with one ``Idempotency-Key``: the HTTP status of each (None:
    no answer, a replica down) and the generation each followed."""

    thread_id: str
    key: str
    content: str
    statuses: tuple[int | None, int | None]
    generation_ids: tuple[str | None, str | None]


@dataclass
class Journal:
    """Everything the users saw, and the counters the progress lines print."""

    counters: Counters = field(default_factory=Counters)
    streams: list[StreamSeen] = field(default_factory=list)
    cancels: list[CancelSeen] = field(default_factory=list)
    idempotent: list[IdempotentSeen] = field(default_factory=list)
    # Sends refused with 409 because the thread was busy: thread id and content.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    # 5xx answers other than 502/504: method, path, status and the body's start.
    server_errors: list[str] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def action(self, kind: str) -> None:
        """One action of ``kind`` started."""
        actions = self.counters.actions
        actions[kind] = actions.get(kind, 0) + 1

    def answered(self, method: str, path: str, status: int, body: str = "") -> None:
        """A response arrived; unexpected statuses are errors, 5xx other than 502/504
        violations."""
        counters = self.counters
        counters.requests += 1
        counters.statuses[str(status)] = counters.statuses.get(str(status), 0) + 1
        if status not in EXPECTED_STATUSES:
            self.error(f"{method} {path}: HTTP {status} {body[:160]}")
            if status >= 500:
                self.server_errors.append(f"{method} {path}: HTTP {status} {body[:300]}")

    def unreachable(self) -> None:
        """A request that got no answer: expected while a replica is down, so only counted."""
        self.counters.requests += 1
        self.counters.connection_errors += 1

    def error(self, text: str) -> None:
        """Something unexpected; kept as a sample (the first few)."""
        self.counters.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(text)

    def stream(self, seen: StreamSeen) -> None:
        """A stream ended (seen to ``done`` or given up)."""
        self.streams.append(seen)
        counters = self.counters
        if not seen.done:
            counters.unfinished_streams += 1
            return
        counters.streams += 1
        counters.resumed_streams += seen.resumes > 0
        if seen.final_status is None:
            # Every reply's events end with message.completed, then done.
            self.error(
                f"thread {seen.thread_id}: {seen.kind} stream of generation "
                f"{seen.generation_id} ({len(seen.event_ids)} events, replicas {seen.replicas}) "
                "reached done without a message.completed"
            )
        status = seen.final_status or "none"
        counters.replies[status] = counters.replies.get(status, 0) + 1
