"""The service's Prometheus metrics, and the one-line helpers that record them.

Defined once, at import: a registry refuses a second metric of the same name, and
tests build several apps in one process. Labels hold only bounded, non-secret values
(an offered model's name, a status, a kind of failure), never an API key or any
text a user sent.

Each process counts for itself. With ``PROMETHEUS_MULTIPROC_DIR`` set before the
process starts, prometheus-client keeps the values in files there instead, and
``/metrics`` (``api.http.metrics``) adds up every worker's; the gauges say how
(``livesum``: the sum over live processes, whose gauge files are there). A process
that stops cleanly removes its gauge files; a killed one's stay until its supervisor
calls ``forget_dead_process`` (``playground serve --workers N`` does, see ``api.workers``).
"""

from __future__ import annotations

import os
import time
import weakref
from contextlib import AbstractContextManager
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram, multiprocess
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

PREFIX = "playground"
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Read when prometheus-client reads it, at import: it picks its storage then, for good.
MULTIPROCESS = MULTIPROC_DIR in os.environ

GENERATIONS_STARTED = Counter(
    f"{PREFIX}_generations_started", "Generations started by this service", ["model"]
)
GENERATIONS_FINISHED = Counter(
    f"{PREFIX}_generations_finished",
    "Generations ended, by the status of their last reply (completed, failed, cancelled,"
    " interrupted, requires_action)",
    ["model", "status"],
)
GENERATIONS_RUNNING = Gauge(
    f"{PREFIX}_generations_running",
    "Generations running now",
    ["model"],
    multiprocess_mode="livesum",
)
TIME_TO_FIRST_TOKEN = Histogram(
    f"{PREFIX}_reply_time_to_first_token_seconds",
    "From a model call to its first text, per reply that got text",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
REPLY_DURATION = Histogram(
    f"{PREFIX}_reply_duration_seconds",
    "From a model call to the end of its reply, per reply (a tool round is one more)",
    ["model"],
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300),
)
PROMPT_TOKENS = Counter(
    f"{PREFIX}_prompt_tokens", "Prompt tokens the model server reported", ["model"]
)
COMPLETION_TOKENS = Counter(
    f"{PREFIX}_completion_tokens", "Completion tokens the model server reported", ["model"]
)
UPSTREAM_ERRORS = Counter(
    f"{PREFIX}_upstream_errors",
    "Failed model calls (after the SDK's retries), by kind of failure",
    ["kind"],
)
DB_POOL_IN_USE = Gauge(
    f"{PREFIX}_db_pool_connections_in_use",
    "Database connections lent out by the pool",
    multiprocess_mode="livesum",
)


class EndedReply(Protocol):
    """What a reply knows when it ends (``api.generation.reply.Reply``)."""

    started: float  # time.perf_counter() at the model call
    first_token_at: float | None
    prompt_tokens: int | None
    completion_tokens: int | None


def generation_started(model: str) -> None:
    """A generation was handed to this process's task group."""
    GENERATIONS_STARTED.labels(model).inc()


def generation_running(model: str) -> AbstractContextManager[Any]:
    """Counts the generation as running for the duration of the ``with`` block."""
    return GENERATIONS_RUNNING.labels(model).track_inprogress()


def generation_finished(model: str, status: str) -> None:
    """A generation ended with its last reply in ``status``."""
    GENERATIONS_FINISHED.labels(model, status).inc()


def reply_ended(model: str, reply: EndedReply) -> None:
    """One model call's reply is over: its timings and the tokens the server reported."""
    now = time.perf_counter()
    REPLY_DURATION.labels(model).observe(now - reply.started)
    if reply.first_token_at is not None:
        TIME_TO_FIRST_TOKEN.labels(model).observe(reply.first_token_at - reply.started)
    if reply.prompt_tokens:
        PROMPT_TOKENS.labels(model).inc(reply.prompt_tokens)
    if reply.completion_tokens:
        COMPLETION_TOKENS.labels(model).inc(reply.completion_tokens)


def upstream_error(kind: str) -> None:
    """A model call failed; ``kind`` is one of a fixed set of words (timeout, status, …)."""
    UPSTREAM_ERRORS.labels(kind).inc()


def forget_this_process() -> None:
    """In multiprocess mode, take this process's gauges out of the sums (it is stopping).

    Its counters and histograms stay: what it did still counts.
    """
    if MULTIPROCESS:
        # prometheus-client leaves this function unannotated.
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def forget_dead_process(pid: int) -> None:
    """In multiprocess mode, take the gauges of process ``pid``, which died without
    cleaning up, out of the sums; for the supervisor of the workers.

    Asks the environment now, not at import: a supervisor may set the directory after
    it imported this module, before it started the workers.
    """
    if MULTIPROC_DIR in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# The engines of the apps in this process (one, except in tests).
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_pool(engine: Engine) -> None:
    """Keep ``DB_POOL_IN_USE`` equal to the connections ``engine``'s pool has lent out.

    Set on every checkout and checkin rather than read at scrape time, so the value is
    in the shared files of multiprocess mode too. Set to the pools' own count (not
    incremented and decremented), so no missed event can leave it wrong for good.
    """
    _ENGINES.add(engine)
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "checkin", _on_checkin)


def _on_checkout(*_: object) -> None:
    DB_POOL_IN_USE.set(_checked_out())


def _on_checkin(*_: object) -> None:
    # The pool still counts the connection being checked in until this event returns.
    DB_POOL_IN_USE.set(max(0, _checked_out() - 1))


def _checked_out() -> int:
    pools = [engine.pool for engine in list(_ENGINES)]
    return sum(pool.checkedout() for pool in pools if isinstance(pool, QueuePool))
