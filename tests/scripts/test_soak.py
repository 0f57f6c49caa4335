"""The soak (``scripts/soak/``): its readings, its report, and a real 60-second run.

The real run is the soak in small: two replicas, four users, one replica killed at
30 s and every database connection killed at 20 s, under moderate upstream faults.
It asserts what the service promises (every invariant holds), not timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import build_parser
from scripts.bench.records import MachineInfo
from scripts.fake_faults import FaultRates
from scripts.soak.cli import config_from_args, summary
from scripts.soak.records import ChaosEvent, Check, Counters, Sample, SoakConfig, SoakResult
from scripts.soak.report import PLOT_PNG, REPORT_MD, RESULTS_JSON, render_markdown, write_reports
from scripts.soak.run import run_soak
from scripts.soak.sampler import rss_growth


def _sample(t: float, pids: list[int | None], rss: list[float | None]) -> Sample:
    return Sample(
        t=t,
        pids=pids,
        rss_mb=rss,
        connections=[None if p is None else 4 for p in pids],
        database_total=8,
    )


def test_rss_growth_is_measured_per_process_after_its_warm_up() -> None:
    samples = [_sample(t, [10, 20], [100.0 + t, 50.0]) for t in range(30)]
    # Replica 1 is killed at 30 s and comes back as pid 21 at 32 s.
    samples += [_sample(30, [10, None], [130.0, None]), _sample(31, [10, None], [131.0, None])]
    samples += [_sample(t, [10, 21], [100.0 + t, 70.0 + t]) for t in range(32, 51)]
    growth = {(g.replica, g.pid): g for g in rss_growth(samples, warmup_s=5)}
    assert set(growth) == {(0, 10), (1, 20), (1, 21)}
    zero = growth[0, 10]
    assert (zero.from_s, zero.to_s) == (5, 50)
    assert zero.start_mb == pytest.approx(107.0)  # median of 105..109
    assert zero.growth_mb == pytest.approx(41.0)  # to the median of 146..150
    assert growth[1, 20].growth_mb == 0
    assert growth[1, 21].from_s == 37  # its own warm-up, from its first sample
    # After a 10 s warm-up pid 21 has nine samples left, too few to measure.
    assert {(g.replica, g.pid) for g in rss_growth(samples, warmup_s=10)} == {(0, 10), (1, 20)}


def test_the_blip_defaults_to_40_percent_and_zero_turns_it_off() -> None:
    # 240 s of the reference 600: between the kills at 150 and 300 s.
    assert SoakConfig(duration_s=600).blip_at_s == 240
    assert SoakConfig(db_blip_at_s=0).blip_at_s is None
    assert SoakConfig(db_blip_at_s=12).blip_at_s == 12


def test_soak_flags_parse_through_the_playground_command() -> None:
    args = build_parser().parse_args(
        ["soak", "--duration-s", "60", "--users", "4", "--drop-rate", "0.1", "--seed", "3"]
    )
    config = config_from_args(args)
    assert (config.duration_s, config.users, config.replicas, config.seed) == (60, 4, 2, 3)
    assert config.faults.drop == 0.1
    assert config.faults.truncate == 0.03  # the reference rates stay for the rest
    assert args.out == Path("scripts/soak-report")
    with pytest.raises(SystemExit):
        config_from_args(build_parser().parse_args(["soak", "--users", "0"]))


def synthetic_result(*, passed: bool) -> SoakResult:
    checks = [
        Check(name="nothing left running", passed=True, checked=120, detail="rows"),
        Check(
            name="cancels honoured",
            passed=passed,
            checked=9,
            detail="cancelled: true answers",
            examples=[] if passed else ["thread T: cancel answered cancelled for M, stored failed"],
        ),
    ]
    return SoakResult(
        config=SoakConfig(duration_s=60, users=4, kill_every_s=30, db_blip_at_s=20),
        machine=MachineInfo(
            cpu_model="Test CPU", cores=2, memory_gb=24, python="3.11.7", platform="Linux"
        ),
        started_at="2026-01-01 00:00 UTC",
        duration_s=75.0,
        command="uv run playground soak --duration-s 60",
        counters=Counters(actions={"send": 10, "cancel": 3}, requests=40, kills=1),
        checks=checks,
        chaos=[ChaosEvent(t=30.0, kind="kill", detail="SIGKILL pid 10", replica=0)],
        samples=[_sample(t, [10, 20], [110.0, 112.0]) for t in range(3)],
    )


def test_report_says_which_invariants_failed_with_examples(tmp_path: Path) -> None:
    assert render_markdown(synthetic_result(passed=True)).startswith("# Soak: every invariant held")
    failed = synthetic_result(passed=False)
    markdown = render_markdown(failed)
    assert markdown.startswith("# Soak: **invariants failed**")
    assert "| cancels honoured | **FAIL** | 9 |" in markdown
    assert "- thread T: cancel answered cancelled for M, stored failed" in markdown
    assert "| 30.0 | kill | 0 | SIGKILL pid 10 |" in markdown
    assert summary(failed)[-1] == "    thread T: cancel answered cancelled for M, stored failed"

    pytest.importorskip("matplotlib")
    paths = write_reports(failed, tmp_path)
    assert sorted(p.name for p in paths) == sorted([RESULTS_JSON, REPORT_MD, PLOT_PNG])
    assert (tmp_path / PLOT_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / RESULTS_JSON).read_text())["counters"]["kills"] == 1


# --- the 60-second soak ---------------------------------------------------------------


@pytest.mark.timeout(240)
def test_sixty_second_soak_keeps_every_invariant(postgres_server_url: str, tmp_path: Path) -> None:
    config = SoakConfig(
        duration_s=60,
        users=4,
        replicas=2,
        kill_every_s=30,
        db_blip_at_s=20,
        faults=FaultRates(
            truncate=0.02,
            drop=0.02,
            malformed=0.02,
            stall=0.02,
            stall_ms=1000,
            fail500=0.02,
            fail429=0.02,
        ),
        seed=17,
        warmup_s=10,
    )
    lines: list[str] = []
    result = run_soak(config, database_url=postgres_server_url, log_dir=tmp_path, log=lines.append)
    write_reports(result, tmp_path)

    failed = [line for line in summary(result) if not line.startswith("PASS")]
    assert result.passed, "\n".join([*failed, f"report and replica logs: {tmp_path}"])
    counters = result.counters
    assert counters.total_actions > 0
    assert counters.streams > 0
    assert counters.resumed_streams > 0
    assert counters.kills == 1
    assert counters.blip_terminated > 0
    assert [e.kind for e in result.chaos] == ["connection kill", "kill", "restart"]
    # A progress line every ten seconds of load.
    assert sum(line.startswith("[") and "actions" in line for line in lines) >= 5
    assert len(result.samples) >= 55
    assert (tmp_path / REPORT_MD).read_text().startswith("# Soak: every invariant held")
