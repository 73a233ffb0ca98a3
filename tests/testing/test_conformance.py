"""The conformance kit: ACME's implementation conforms, Globex's bug is caught with a minimal
trace that `mostate check` accepts; comparison and loading details."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from mostate import DeviceState, Engine, Request, load_spec
from mostate.cli import main
from mostate.testing import (
    Answer,
    Coverage,
    Divergence,
    Universe,
    compare,
    conformance_test,
    load_factory,
    project,
    replay,
    run_suite,
)
from mostate.testing.conformance import FIND
from mostate.testing.run import run_conformance

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ROOT / "examples" / "adapters.py"
ACME = load_factory(f"{ADAPTERS}:AcmeAdapter")
GLOBEX = load_factory(f"{ADAPTERS}:GlobexAdapter")
ENGINE = Engine(load_spec())
QUICK = settings(max_examples=30, database=None, deadline=None, derandomize=True, phases=FIND)

TestAcme = conformance_test(ACME, settings=QUICK)


@pytest.fixture(autouse=True)
def _quiet_engine() -> None:
    logging.getLogger("mostate").setLevel(logging.ERROR)


SEEDS = range(10)
KIT = {"examples": 10}  # the random part's budget; the suite before it does not depend on it


def _is_the_globex_bug(found: Divergence | None) -> bool:
    # add the holder and another, make the holder Active, lock it, the user switches away.
    if found is None or len(found.trace.requests) != 5:
        return False
    last = found.trace.requests[-1]
    return (last.op, last.actor.role.value, last.args.get("value")) == (
        "set_active",
        "user",
        True,
    ) and found.mismatches[0].startswith("status: device 200, spec 425")


@pytest.mark.slow  # about 14 s here (2 cores)
def test_globex_is_caught_on_every_seed_with_a_minimal_trace(tmp_path: Path) -> None:
    for seed in SEEDS:
        found = run_conformance(ENGINE, GLOBEX, seed=seed, **KIT)
        assert _is_the_globex_bug(found), (seed, found)
    assert found is not None
    trace = tmp_path / "globex.jsonl"
    trace.write_text(found.jsonl, encoding="utf-8")
    assert main(["check", str(trace)]) == 1  # mostate check sees the same divergence


@pytest.mark.slow  # about 18 s here (2 cores)
def test_acme_conforms_with_the_same_settings_on_every_seed() -> None:
    # The suite is the same on every seed (a pure function of the spec and the scope), so it
    # runs once; the random part runs on each seed.
    assert Universe(ENGINE).suite() == Universe(ENGINE).suite()
    assert run_conformance(ENGINE, ACME, seed=0, **KIT) is None
    for seed in SEEDS:
        assert run_conformance(ENGINE, ACME, seed=seed, scope=None, **KIT) is None


@pytest.mark.slow  # about 9 s here (2 cores)
def test_random_sequences_alone_can_miss_globex() -> None:
    # What the suite is for: some seed of a small random budget misses the bug.
    runs = [run_conformance(ENGINE, GLOBEX, seed=seed, scope=None, **KIT) for seed in SEEDS]
    assert any(found is None for found in runs)
    assert all(found is None or len(found.trace.requests) == 5 for found in runs)


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_globex_test_class_fails_with_the_minimal_trace() -> None:
    case = conformance_test(GLOBEX, settings=settings(QUICK, max_examples=5))
    with pytest.raises(Divergence) as info:
        case("runTest").runTest()
    assert _is_the_globex_bug(info.value)


@pytest.mark.slow  # about 3 s here (2 cores)
def test_the_suite_records_coverage_of_the_whole_scope() -> None:
    coverage = Coverage()
    universe = Universe(ENGINE)
    assert run_suite(ENGINE, ACME, universe.suite(), coverage) is None
    report = universe.report(coverage)
    assert report.missed_states == 0 and not report.missed_triples


def _get_active(state: DeviceState) -> Any:
    request = Request.from_json({"actor": "user", "op": "get_active", "service": "MMS"})
    return ENGINE.apply(state, request)


def test_compare_reports_status_result_and_state() -> None:
    state = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    out = _get_active(state)
    assert compare(out, Answer(200, "a"), state.to_json()) == []
    assert compare(out, Answer(200, "a"), {"MMS": {"a": {"active": True}}}) == []
    wrong = compare(out, Answer(404, None), {"MMS": {"a": {"active": False}}})
    assert [m.split(":")[0] for m in wrong] == ["status", "result", "state"]


def test_an_observed_instance_the_spec_lacks_is_a_divergence() -> None:
    out = _get_active(DeviceState())
    assert compare(out, Answer(200, None), {"MMS": {"ghost": {}}})[0].startswith("state")


def test_project_keeps_only_observed_fields() -> None:
    ref = {"MMS": {"a": {"active": True, "default": False, "locked": True, "params": {}}}}
    assert project(ref, {"MMS": {"a": {"locked": True}}}) == {"MMS": {"a": {"locked": True}}}


class _Broken:
    def apply(self, request: Request) -> Any:
        return 200

    def observe(self) -> None:
        return None


def test_an_adapter_that_does_not_answer_an_answer_is_told_so() -> None:
    request = Request.from_json({"actor": "user", "op": "in_use", "service": "MMS"})
    with pytest.raises(TypeError, match="must return an Answer"):
        replay(ENGINE, _Broken, [request])


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nowhere", "expected MODULE:FACTORY"),
        ("no_such_module_xyz:f", "cannot import"),
        (f"{ADAPTERS}:Nope", "no callable 'Nope'"),
        ("missing.py:f", "cannot import"),
    ],
)
def test_bad_factory_references_are_explained(ref: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_factory(ref)


@pytest.mark.slow  # about 5 s here (2 cores)
def test_cli_conform(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    acme = f"{ADAPTERS}:AcmeAdapter"
    assert main(["conform", acme, "--examples", "5", "--seed", "1"]) == 0
    said = capsys.readouterr().out
    assert "conforms" in said and "edge-complete suite of" in said
    out = tmp_path / "d.jsonl"
    globex = f"{ADAPTERS}:GlobexAdapter"
    # No flag needed: the edge-complete suite runs first and is a sure catch.
    args = ["conform", globex, "--examples", "5", "--out", str(out), "--format", "json"]
    assert main(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["found_by"] == "suite"
    assert len(report["divergence"]["trace"]) == 6  # start line + 5 requests
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == report["divergence"]["trace"]
    assert main(["conform", "nowhere"]) == 2
    assert main(["conform", acme, "--examples", "0"]) == 2
    assert "MODULE:FACTORY" in capsys.readouterr().err


def test_cli_conform_without_the_suite_runs_random_sequences_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    acme = f"{ADAPTERS}:AcmeAdapter"
    args = ["conform", acme, "--examples", "3", "--no-suite", "--cover", "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["suite"] is None and list(report["coverage"]) == ["random"]


@pytest.mark.slow  # about 8 s here (2 cores)
def test_cli_conform_cover_reports_the_scope(capsys: pytest.CaptureFixture[str]) -> None:
    acme = f"{ADAPTERS}:AcmeAdapter"
    assert main(["conform", acme, "--examples", "5", "--seed", "1", "--cover"]) == 0
    said = capsys.readouterr().out
    assert "states (suite)" in said and "states (random)" in said
    args = ["conform", acme, "--examples", "5", "--seed", "1", "--cover", "--format", "json"]
    assert main(args) == 0
    coverage = json.loads(capsys.readouterr().out)["coverage"]
    assert coverage["suite"]["missed_states"] == 0
    assert coverage["random"]["steps"] > 0


def _random_run(seed: int) -> tuple[int, frozenset[DeviceState]]:
    coverage = Coverage()
    assert (
        run_conformance(ENGINE, ACME, examples=15, seed=seed, coverage=coverage, scope=None) is None
    )
    return coverage.steps, frozenset(coverage.states)


@pytest.mark.slow  # about 6 s here (2 cores)
def test_a_seed_repeats_the_random_part_exactly() -> None:
    # Random sequences only (no suite): the seed alone decides every request sent.
    first, again, other = _random_run(7), _random_run(7), _random_run(8)
    assert first == again
    assert first != other


@pytest.mark.slow  # about 2 s here (2 cores)
def test_conform_prints_the_seed_it_chose(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["conform", f"{ADAPTERS}:AcmeAdapter", "--no-suite", "--examples", "3"]
    assert main([*argv, "--format", "json"]) == 0
    chosen = json.loads(capsys.readouterr().out)["seed"]
    assert isinstance(chosen, int)
    assert main([*argv, "--seed", "11"]) == 0
    assert "seed 11" in capsys.readouterr().out
