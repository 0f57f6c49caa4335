"""Faults the fake upstream injects by itself, at configured rates (the soak's chaos).

Each chat request draws at most one fault from a seeded RNG: a body cut short
(``truncate``), a broken connection (``drop``), a malformed chunk (``malformed``), a
pause mid-stream that then goes on (``stall``), or a 500 or 429 before any output.
The draw is turned into the same overrides the ``[[...]]`` directives set, so the
server has one code path per failure; a message that carries directives of its own
gets no random fault (the directives win).
"""

from __future__ import annotations

import argparse
import random
from typing import Final

import msgspec

# In the order the cumulative draw walks them (fixed, so a seed replays the same faults).
FAULTS: Final = ("truncate", "drop", "malformed", "stall", "fail500", "fail429")


class FaultRates(msgspec.Struct, frozen=True, kw_only=True):
    """The share of chat requests that get each fault (0 to 1; together at most 1)."""

    truncate: float = 0.0
    drop: float = 0.0
    malformed: float = 0.0
    stall: float = 0.0
    fail500: float = 0.0
    fail429: float = 0.0
    # How long a ``stall`` pauses before the stream goes on.
    stall_ms: int = 3000

    def __post_init__(self) -> None:
        rates = [getattr(self, name) for name in FAULTS]
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates are between 0 and 1 and add up to at most 1")

    @property
    def any(self) -> bool:
        """Whether any fault can be drawn at all."""
        return any(getattr(self, name) > 0 for name in FAULTS)


def pick_fault(draw: float, rates: FaultRates) -> str | None:
    """The fault a uniform ``draw`` in [0, 1) lands on, or None: each fault takes a
    slice of the unit interval as wide as its rate, so at most one applies."""
    edge = 0.0
    for name in FAULTS:
        edge += getattr(rates, name)
        if draw < edge:
            return name
    return None


class FaultDice:
    """Draws the faults of successive chat requests from one seeded RNG."""

    def __init__(self, rates: FaultRates, seed: int | None = None) -> None:
        self.rates = rates
        self._rng = random.Random(seed)

    def draw(self, chunks: int) -> dict[str, int]:
        """The directive overrides of the next request (empty: no fault) for a reply of
        ``chunks`` content chunks; a mid-stream fault comes after 1 to chunks-1 of them."""
        name = pick_fault(self._rng.random(), self.rates)
        if name is None:
            return {}
        if name in ("fail500", "fail429"):
            return {"fail": int(name.removeprefix("fail"))}
        at = self._rng.randrange(1, chunks) if chunks > 1 else 0
        if name == "stall":
            return {"pause": at, "pause_ms": self.rates.stall_ms}
        return {name: at}


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1, e.g. 0.03")
    return value


def add_fault_arguments(parser: argparse.ArgumentParser, defaults: FaultRates) -> None:
    """The ``--*-rate``, ``--stall-ms`` and ``--seed`` flags (the fake upstream's, the soak's)."""
    for name in FAULTS:
        parser.add_argument(
            f"--{name}-rate",
            dest=f"{name}_rate",
            type=_rate,
            default=getattr(defaults, name),
            help=f"share of chat requests that get the {name} fault",
        )
    parser.add_argument(
        "--stall-ms", type=int, default=defaults.stall_ms, help="how long a stall pauses"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the random draws")


def rates_from_args(args: argparse.Namespace) -> FaultRates:
    """The rates the flags of :func:`add_fault_arguments` asked for."""
    try:
        return FaultRates(
            stall_ms=args.stall_ms, **{name: getattr(args, f"{name}_rate") for name in FAULTS}
        )
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def fault_argv(rates: FaultRates, seed: int | None) -> list[str]:
    """The fake upstream's command-line flags for ``rates`` (and ``--seed``)."""
    argv = [f"--{name}-rate={getattr(rates, name)}" for name in FAULTS]
    argv.append(f"--stall-ms={rates.stall_ms}")
    if seed is not None:
        argv.append(f"--seed={seed}")
    return argv
