"""The bench's loops (``scripts/bench/loops.py``) on a fake request that only sleeps.

Durations are tenths of a second, so the timing assertions keep wide margins: they
check the shape of each loop (who starts when, what counts), not the clock's accuracy.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

import pytest

from scripts.bench.load import RequestFn
from scripts.bench.loops import CUT_OFF, poisson_schedule, run_closed, run_open
from scripts.bench.records import RequestSample


def sleeper(seconds: float, started: list[float] | None = None) -> RequestFn:
    """A request that takes ``seconds``; with ``started``, it notes when each one began."""

    async def request(index: int) -> RequestSample:
        begin = time.perf_counter()
        if started is not None:
            started.append(begin)
        await asyncio.sleep(seconds)
        return RequestSample(ok=True, total_s=time.perf_counter() - begin, ttft_s=0.001)

    return request


def test_poisson_schedule_is_seeded_and_has_the_asked_rate() -> None:
    schedule = poisson_schedule(50.0, 40.0, seed=7)
    assert schedule == poisson_schedule(50.0, 40.0, seed=7)
    assert schedule != poisson_schedule(50.0, 40.0, seed=8)
    assert schedule == sorted(schedule)
    assert schedule[0] > 0
    assert schedule[-1] < 40.0
    # 2,000 arrivals expected; a Poisson count has a standard deviation of about 45.
    assert 1800 < len(schedule) < 2200
    gaps = [b - a for a, b in itertools.pairwise(schedule)]
    # Exponential gaps: the mean and the standard deviation are both 1/rate.
    assert statistics.mean(gaps) == pytest.approx(0.02, rel=0.1)
    assert statistics.stdev(gaps) == pytest.approx(0.02, rel=0.1)


async def test_closed_loop_sends_back_to_back_until_the_duration_is_up() -> None:
    started: list[float] = []
    begin = time.perf_counter()
    run = await run_closed(sleeper(0.1, started), 3, total=1000, duration_s=0.35, timeout_s=5.0)
    # Each of 3 workers starts at 0, 0.1, 0.2 and 0.3 s: 12 requests, none after 0.35 s.
    assert len(run.samples) == 12
    assert all(s.ok for s in run.samples)
    assert max(started) - begin < 0.35
    assert run.peak_in_flight == 3
    # The requests running when the time was up finished and counted.
    assert 0.39 < run.wall_s < 0.6


async def test_closed_loop_stops_at_its_request_count() -> None:
    run = await run_closed(sleeper(0.01), 4, total=6, timeout_s=5.0)
    assert len(run.samples) == 6
    assert run.start_lags_s == []


async def test_closed_loop_cuts_off_requests_at_the_time_limit() -> None:
    run = await run_closed(sleeper(10.0), 2, total=10, duration_s=0.1, timeout_s=0.2)
    assert [s.error for s in run.samples] == [CUT_OFF, CUT_OFF]
    assert run.wall_s < 1.0


async def test_open_loop_starts_requests_on_schedule_however_many_run() -> None:
    started: list[float] = []
    schedule = [0.05, 0.1, 0.15, 0.2, 0.25]
    begin = time.perf_counter()
    # Each request outlasts the gaps, so a closed loop of one would fall behind.
    run = await run_open(sleeper(0.25, started), schedule, timeout_s=5.0)
    assert len(run.samples) == 5
    offsets = sorted(t - begin for t in started)
    for offset, due in zip(offsets, schedule, strict=True):
        assert due - 0.005 <= offset < due + 0.05
    assert len(run.start_lags_s) == 5
    assert max(run.start_lags_s) < 0.05
    assert run.peak_in_flight == 5
    assert 0.49 < run.wall_s < 0.75


async def test_open_loop_cuts_off_what_runs_past_the_time_limit() -> None:
    run = await run_open(sleeper(10.0), [0.01, 0.02, 5.0], timeout_s=0.2)
    # The third arrival falls after the limit: never sent.
    assert [s.error for s in run.samples] == [CUT_OFF, CUT_OFF]
