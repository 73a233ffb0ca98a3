"""The conformance kit: ACME's implementation conforms, Globex's bug is caught with a minimal
trace that `mostate check` accepts; comparison and loading details."""

from __future__ import annotations

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


def test_globex_is_caught_with_a_minimal_trace(tmp_path: Path) -> None:
    # One random run of 100 sequences finds the bug about seven times in ten (the seed's luck
    # also depends on which modules are loaded); four seeded runs make a miss very unlikely.
    runs = [run_conformance(ENGINE, GLOBEX, examples=100, seed=seed) for seed in range(4)]
    caught = [found for found in runs if found is not None]
    assert caught
    assert {len(found.trace.requests) for found in caught} == {5}
    found = caught[0]
    requests = found.trace.requests
    # add the holder and another, make the holder Active, lock it, the user switches away.
    assert len(requests) == 5
    last = requests[-1]
    assert (last.op, last.actor.role.value, last.args["value"]) == ("set_active", "user", True)
    assert found.mismatches[0].startswith("status: device 200, spec 425")
    trace = tmp_path / "globex.jsonl"
    trace.write_text(found.jsonl, encoding="utf-8")
    assert main(["check", str(trace)]) == 1  # mostate check sees the same divergence


def test_the_globex_test_class_fails_with_the_minimal_trace() -> None:
    case = conformance_test(GLOBEX, settings=settings(QUICK, max_examples=500))
    with pytest.raises(Divergence) as info:
        case("runTest").runTest()
    assert len(info.value.trace.requests) == 5


def test_acme_passes_the_seeded_coverage_walk() -> None:
    coverage = Coverage()
    universe = Universe(ENGINE)
    for path in universe.seeds(coverage):
        replay(ENGINE, ACME, path, coverage)
    report = universe.report(coverage)
    assert report.missed_states == 0 and not report.missed_triples


def test_globex_is_caught_by_the_coverage_walk() -> None:
    universe = Universe(ENGINE)
    with pytest.raises(Divergence):
        for path in universe.seeds(Coverage()):
            replay(ENGINE, GLOBEX, path)


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


def test_cli_conform(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    acme = f"{ADAPTERS}:AcmeAdapter"
    assert main(["conform", acme, "--examples", "5", "--seed", "1"]) == 0
    assert "conforms" in capsys.readouterr().out
    out = tmp_path / "d.jsonl"
    globex = f"{ADAPTERS}:GlobexAdapter"
    # --cover visits every state of the scope and tries every request there: a sure catch.
    args = ["conform", globex, "--examples", "5", "--cover", "--out", str(out), "--format", "json"]
    assert main(args) == 1
    assert '"divergence"' in capsys.readouterr().out
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6  # start line + 5 requests
    assert main(["conform", "nowhere"]) == 2
    assert main(["conform", acme, "--examples", "0"]) == 2
    assert "MODULE:FACTORY" in capsys.readouterr().err


def test_cli_conform_cover_reports_the_scope(capsys: pytest.CaptureFixture[str]) -> None:
    acme = f"{ADAPTERS}:AcmeAdapter"
    assert main(["conform", acme, "--examples", "5", "--seed", "1", "--cover"]) == 0
    assert "with --cover" in capsys.readouterr().out
