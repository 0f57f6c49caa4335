"""The two shapes of load: a closed loop of workers and an open loop of Poisson arrivals.

- **closed loop** (:func:`run_closed`): ``c`` workers, each sending its next request
  as soon as the previous one ended, until a request count is reached or, for a
  steady-state level, a duration is up. A request still running when the duration
  is up finishes and counts (its chunks and its CPU fall in the same window).
- **open loop** (:func:`run_open`): requests start at fixed times, drawn from a seeded
  Poisson process (:func:`poisson_schedule`), whether or not earlier ones ended. A
  slow relay meets the same arrivals as a fast one, so its queueing shows in TTFT
  instead of as fewer requests (a closed loop waits for the slow relay, which hides
  it).

Both cut off whatever still runs ``timeout_s`` after the start, as errors, so every
run ends.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scripts.bench.load import RequestFn
from scripts.bench.records import RequestSample

CUT_OFF = "cut off at the level time limit"


@dataclass(frozen=True)
class LoadRun:
    """What one run of a loop gave: its samples, wall time and how busy it got."""

    samples: list[RequestSample]
    # From the run's start to the end of its last request.
    wall_s: float
    # The most requests running at once.
    peak_in_flight: int
    # Open loop: how late each request started against its scheduled time.
    start_lags_s: list[float] = field(default_factory=list)


class _Flight:
    """The requests of one run: those running (for the cut-off) and those done."""

    def __init__(self, on_done: Callable[[], object] | None) -> None:
        self.on_done = on_done
        self.running: dict[int, float] = {}
        self.samples: list[RequestSample] = []
        self.start_lags: list[float] = []
        self.peak = 0

    async def send(self, request: RequestFn, index: int, due: float | None = None) -> None:
        """Send request ``index`` (``due``: when the schedule wanted it to start)."""
        now = time.perf_counter()
        if due is not None:
            self.start_lags.append(max(now - due, 0.0))
        self.running[index] = now
        self.peak = max(self.peak, len(self.running))
        sample = await request(index)
        del self.running[index]
        self.samples.append(sample)
        if self.on_done is not None:
            self.on_done()

    async def finish(
        self, tasks: Sequence[asyncio.Task[None]], start: float, deadline: float
    ) -> LoadRun:
        """Wait for ``tasks`` until ``deadline``; cancel the rest and count them as errors."""
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(deadline - time.perf_counter(), 0))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        now = time.perf_counter()
        for started in self.running.values():
            self.samples.append(RequestSample(ok=False, total_s=now - started, error=CUT_OFF))
        return LoadRun(self.samples, now - start, self.peak, self.start_lags)


async def run_closed(
    request: RequestFn,
    concurrency: int,
    *,
    total: int,
    timeout_s: float,
    duration_s: float | None = None,
    on_done: Callable[[], object] | None = None,
) -> LoadRun:
    """``concurrency`` workers send requests back to back: at most ``total`` of them, and
    none after ``duration_s`` (when given); the ones running then finish and count."""
    flight = _Flight(on_done)
    indexes = iter(range(total))
    start = time.perf_counter()
    deadline = start + timeout_s
    stop_starting = deadline if duration_s is None else min(start + duration_s, deadline)

    async def worker() -> None:
        # One shared iterator: the event loop is single-threaded, so each index is
        # taken by exactly one worker.
        for index in indexes:
            if time.perf_counter() >= stop_starting:
                return
            await flight.send(request, index)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, total))]
    return await flight.finish(tasks, start, deadline)


def poisson_schedule(rate: float, duration_s: float, seed: int) -> list[float]:
    """Arrival times (seconds from the start, before ``duration_s``) of a Poisson process
    of ``rate`` per second: exponential gaps from a generator seeded with ``seed``, so
    every target meets the very same arrivals."""
    generator = random.Random(seed)
    times: list[float] = []
    at = generator.expovariate(rate)
    while at < duration_s:
        times.append(at)
        at += generator.expovariate(rate)
    return times


async def run_open(
    request: RequestFn,
    schedule: Sequence[float],
    *,
    timeout_s: float,
    on_done: Callable[[], object] | None = None,
) -> LoadRun:
    """Start request ``i`` at ``schedule[i]`` seconds from now, however many still run."""
    flight = _Flight(on_done)
    start = time.perf_counter()
    deadline = start + timeout_s
    tasks: list[asyncio.Task[None]] = []
    for index, at in enumerate(schedule):
        due = start + at
        if due >= deadline:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(flight.send(request, index, due)))
    return await flight.finish(tasks, start, deadline)
