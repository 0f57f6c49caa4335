"""The fake upstream's random faults (``scripts/fake_faults.py``): how a draw picks one,
and the server applying them (directives in a message still win)."""

from __future__ import annotations

import argparse
import time
from collections import Counter

import pytest
from openai import AsyncOpenAI

from scripts.fake_faults import (
    FAULTS,
    FaultDice,
    FaultRates,
    add_fault_arguments,
    fault_argv,
    pick_fault,
    rates_from_args,
)
from scripts.fake_upstream import reply_text
from tests.fixtures.upstream import DEFAULT_CHUNKS, start_fake_upstream, stop_fake_upstream


def test_pick_fault_gives_each_fault_a_slice_as_wide_as_its_rate() -> None:
    rates = FaultRates(truncate=0.1, drop=0.2, fail429=0.3)
    assert pick_fault(0.0, rates) == "truncate"
    assert pick_fault(0.0999, rates) == "truncate"
    assert pick_fault(0.1001, rates) == "drop"
    assert pick_fault(0.2999, rates) == "drop"
    # malformed, stall and fail500 have no width: the next slice is fail429's.
    assert pick_fault(0.3001, rates) == "fail429"
    assert pick_fault(0.5999, rates) == "fail429"
    assert pick_fault(0.6001, rates) is None
    assert pick_fault(0.9999, FaultRates()) is None


def test_all_rates_zero_never_draws_a_fault() -> None:
    dice = FaultDice(FaultRates(), seed=1)
    assert not FaultRates().any
    assert all(dice.draw(20) == {} for _ in range(1000))


def test_draws_follow_the_rates_and_the_seed() -> None:
    rates = FaultRates(truncate=0.03, drop=0.03, malformed=0.02, stall=0.02, fail500=0.03)
    draws = [FaultDice(rates, seed=7).draw(20) for _ in range(2)]
    assert draws[0] == draws[1]  # same seed, same first draw

    dice = FaultDice(rates, seed=7)
    seen = Counter(next(iter(fault), "none") for fault in (dice.draw(20) for _ in range(20_000)))
    assert seen["truncate"] == pytest.approx(600, rel=0.2)
    assert seen["malformed"] == pytest.approx(400, rel=0.25)
    assert seen["pause"] == pytest.approx(400, rel=0.25)
    # fail500 becomes the [[fail:500]] override; nothing became a 429.
    assert seen["fail"] == pytest.approx(600, rel=0.2)
    assert seen["none"] == pytest.approx(20_000 * 0.87, rel=0.02)


def test_a_draw_becomes_directive_overrides_mid_stream() -> None:
    for name in FAULTS:
        only = FaultRates(stall_ms=1500, **{name: 1.0})
        overrides = FaultDice(only, seed=3).draw(10)
        if name.startswith("fail"):
            assert overrides == {"fail": int(name[4:])}
        elif name == "stall":
            assert overrides["pause_ms"] == 1500
            assert 1 <= overrides["pause"] <= 9
        else:
            assert 1 <= overrides[name] <= 9
    assert FaultDice(FaultRates(drop=1.0)).draw(1) == {"drop": 0}


def test_rates_outside_zero_to_one_or_adding_up_past_one_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultRates(drop=0.7, truncate=0.4)
    with pytest.raises(ValueError, match="between"):
        FaultRates(stall=-0.1)


def test_flags_round_trip_through_fault_argv() -> None:
    parser = argparse.ArgumentParser()
    add_fault_arguments(parser, FaultRates())
    rates = FaultRates(truncate=0.03, fail429=0.03, stall=0.02, stall_ms=3000)
    args = parser.parse_args(fault_argv(rates, seed=5))
    assert rates_from_args(args) == rates
    assert args.seed == 5
    with pytest.raises(SystemExit):
        rates_from_args(parser.parse_args(["--drop-rate", "0.6", "--truncate-rate", "0.6"]))


async def test_the_server_applies_drawn_faults_unless_the_message_has_directives() -> None:
    process, url = start_fake_upstream(["--fail500-rate", "1", "--seed", "1"])
    try:
        client = AsyncOpenAI(base_url=url, api_key="k", max_retries=0)
        async with client:
            with pytest.raises(Exception, match="500"):
                await client.chat.completions.create(
                    model="fake-small", messages=[{"role": "user", "content": "hi"}]
                )
            # A directive of its own: no random fault, the reply is whole.
            answer = await client.chat.completions.create(
                model="fake-small", messages=[{"role": "user", "content": "hi [[slow:1]]"}]
            )
    finally:
        stop_fake_upstream(process)
    assert answer.choices[0].message.content == reply_text(DEFAULT_CHUNKS)


async def test_a_random_stall_pauses_and_then_finishes_the_reply() -> None:
    process, url = start_fake_upstream(["--stall-rate", "1", "--stall-ms", "300"])
    try:
        client = AsyncOpenAI(base_url=url, api_key="k", max_retries=0)
        async with client:
            started = time.perf_counter()
            stream = await client.chat.completions.create(
                model="fake-small", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            elapsed = time.perf_counter() - started
    finally:
        stop_fake_upstream(process)
    assert "".join(parts) == reply_text(DEFAULT_CHUNKS)
    # 20 chunks 2 ms apart take ~40 ms; the pause makes it at least 300.
    assert elapsed >= 0.3
