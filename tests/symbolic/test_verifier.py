"""The verifier on the shipped spec and on every seeded-bug mutant of it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, load_spec, parse_spec
from mostate.errors import ReplayError
from mostate.model import Role
from mostate.symbolic import (
    Branch,
    Budget,
    CompiledSpec,
    NotReached,
    Proved,
    Reach,
    Searcher,
    Undecided,
    Verifier,
    Violated,
)

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "specs" / "mutants"
MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))


def test_the_shipped_spec_is_proved_for_any_number_of_instances() -> None:
    verifier = Verifier(load_spec())
    checks = list(verifier.checks())
    assert len(checks) == verifier.count()
    assert [c for c in checks if not isinstance(c.verdict, Proved)] == []
    names = {c.name for c in checks}
    obligations = {"creates_only_target", "unique_the"}
    assert names == set(load_spec().property_names()) | obligations
    # an obligation is asked only of the operations that could break it
    assert {c.op for c in checks if c.name == "creates_only_target"} == {"add", "delete"}
    assert {c.op for c in checks if c.name == "unique_the"} == {"get_active", "in_use"}
    # every operation x actor x confirmation branch is covered
    rows = {(c.op, c.branch) for c in checks if c.name == "one_active" and c.op}
    assert ("set_active", "server/decline") in rows and ("in_use", "user") in rows


@pytest.mark.slow  # about 1 s here (2 cores)
def test_the_shipped_spec_is_proved_with_a_bound() -> None:
    checks = list(Verifier(load_spec(), bound=3).checks())
    assert all(isinstance(c.verdict, Proved) for c in checks)


@pytest.mark.slow  # about 6 s here (2 cores)
@pytest.mark.parametrize("mutant", sorted(MANIFEST))
def test_each_mutant_breaks_exactly_the_manifest_properties(mutant: str) -> None:
    entry = MANIFEST[mutant]
    spec = load_spec(MUTANTS / entry["file"])
    checks = list(Verifier(spec, depth=0).checks())
    violated = [c for c in checks if isinstance(c.verdict, Violated)]
    assert {c.name for c in violated} == set(entry["breaks"])
    assert not [c for c in checks if isinstance(c.verdict, Undecided)]
    engine = Engine(spec)
    for check in violated:
        assert isinstance(check.verdict, Violated)
        trace = check.verdict.trace
        assert trace.violates == check.name
        replayed = trace.confirm(engine)  # raises ReplayError if the engine disagrees
        assert replayed.request.op == check.op


@pytest.mark.slow  # about 10 s here (2 cores)
def test_a_reachable_violation_comes_with_a_trace_from_the_empty_device() -> None:
    spec = load_spec(MUTANTS / "active-not-cleared.toml")
    checks = [c for c in Verifier(spec, depth=4).checks() if isinstance(c.verdict, Violated)]
    assert checks
    for check in checks:
        assert isinstance(check.verdict, Violated)
        reach = check.verdict.reachable
        assert reach is not None and reach.start == DeviceState()
        assert 1 < len(reach.requests) <= 4
        assert "one_active" in {c.name for c in reach.confirm(Engine(spec)).violations}


@pytest.mark.slow  # about 12 s here (2 cores)
def test_a_counterexample_to_induction_is_told_apart_from_a_reachable_one() -> None:
    # Switching Active away from a locked instance takes five requests to reach (add, add,
    # set_active, set_locked, then the user's switch); three is not enough.
    spec = load_spec(MUTANTS / "switch-away-from-locked.toml")
    searcher = Searcher(CompiledSpec(spec), Budget(), depth=3)
    found = searcher.search("user_respects_lock", spec.ops["set_active"], Branch(Role.USER))
    assert found == NotReached(3)
    deeper = Searcher(CompiledSpec(spec), Budget(), depth=5)
    reach = deeper.search("user_respects_lock", spec.ops["set_active"], Branch(Role.USER))
    assert isinstance(reach, Reach) and len(reach.trace.requests) == 5


def test_an_exhausted_budget_is_unknown_never_proved() -> None:
    checks = list(Verifier(load_spec(), budget=Budget(timeout_ms=10_000, rlimit=1)).checks())
    undecided = [c for c in checks if isinstance(c.verdict, Undecided)]
    assert len(undecided) > len(checks) // 2
    assert {c.verdict.reason for c in undecided} == {"canceled"}  # type: ignore[union-attr]
    assert not any(isinstance(c.verdict, Violated) for c in checks)


@pytest.mark.slow  # about 1 s here (2 cores)
def test_counting_against_a_non_literal_needs_a_bound() -> None:
    text = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")
    text += (
        '\n[invariants.locks_on_instances]\nexpr = "count(i, locked(i)) <= count(i, exists(i))"\n'
    )
    spec = parse_spec(text, "counting.toml")
    unbounded = list(Verifier(spec).checks())
    assert any(
        isinstance(c.verdict, Undecided) and "--bound" in c.verdict.reason for c in unbounded
    )
    bounded = list(Verifier(spec, bound=2).checks())
    assert all(isinstance(c.verdict, Proved) for c in bounded)


@pytest.mark.slow  # about 25 s here (2 cores)
def test_a_solver_model_the_engine_does_not_replay_is_an_internal_error() -> None:
    verifier = Verifier(load_spec(MUTANTS / "active-not-cleared.toml"), depth=0)
    verifier.engine = Engine(load_spec())  # the engine of the fixed spec disagrees
    # Asked again with names to spare (in case the model was merely too small), the solver
    # either finds another model the engine does not replay (an internal error) or gives up;
    # never is the disagreement read as proved.
    try:
        checks = list(verifier.checks())
    except ReplayError as err:
        assert "one_active" in str(err)
        return
    broken = [
        c for c in checks if c.name == "one_active" and (c.op, c.branch) == ("set_active", "user")
    ]
    assert broken and not any(isinstance(c.verdict, Proved) for c in broken)
    assert all(
        "did not replay" in c.verdict.reason for c in broken if isinstance(c.verdict, Undecided)
    )
