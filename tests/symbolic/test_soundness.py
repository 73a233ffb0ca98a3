"""Specs nobody on the project wrote, each once misjudged by some checker: the engine, verify,
the explorer and the stateful test must now give each the same verdict.

Each case is a one-line change to the shipped spec. For each, the checkers must agree on which
properties (or obligations) the spec breaks; a disagreement fails with both answers.
"""

from __future__ import annotations

import logging

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mostate import DeviceState, Engine, Request, SpecError, parse_spec
from mostate.explore import ExploreScope, explore
from mostate.rules import Spec, reads_other_services
from mostate.symbolic import Verifier, Violated
from mostate.testing import PropertyViolation, engine_machine
from tests.conftest import ROOT

SHIPPED = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")


def _variant(old: str, new: str, extra: str = "") -> Spec:
    assert old in SHIPPED, old
    return parse_spec(SHIPPED.replace(old, new, 1) + extra, "variant.toml")


CASES: dict[str, tuple[Spec, set[str]]] = {
    # add makes every *other* name exist: states would be infinite
    "every_other_name_exists": (
        _variant('"exists(i) or i == target"', '"exists(i) or i != target"'),
        {"creates_only_target"},
    ),
    # an invariant that reads the other services must be re-checked on every service
    "cross_service_invariant": (
        _variant(
            "",
            "",
            '\n[invariants.cross]\nexpr = "any(i in others, active(i)) -> any(j, exists(j))"\n',
        ),
        {"cross"},
    ),
    # the instance in use, written so that an Active and another Default instance tie
    "ambiguous_the": (
        _variant(
            '"if any(i, active(i)) then the(i, active(i)) else the(i, default(i))"',
            '"the(i, active(i) or default(i))"',
        ),
        {"unique_the"},
    ),
    # the empty device breaks one_active: a violation of no request
    "empty_device_breaks_an_invariant": (
        _variant('"count(i, active(i)) <= 1"', '"count(i, active(i)) == 1"'),
        {"one_active"},
    ),
}

# A server refusal that reads Active, with an independence on Active for servers. Flipping
# Active on one instance may give a state with two Active ones, which breaks one_active: no
# device can be in it, so no checker compares the two runs there; from states that keep the
# invariants the refusal never fires. (get_active's answer does depend on Active, which every
# checker reports; the refusal alone is tested on the engine below.)
INDEPENDENCE = _variant(
    'name = "already exists"',
    'name = "too many active"\nrefuse = 425\nactors = ["server"]\n'
    'when = "count(j, active(j)) >= 2"\n\n[[ops.add.steps]]\nname = "already exists"',
    '\n[independence.active_never_blocks_server]\nfield = "active"\nactors = ["server"]\n',
)
CASES["independence_over_valid_states"] = (INDEPENDENCE, {"active_never_blocks_server"})

# The ambiguous the() needs four requests to set up, and the fifth to show it; three do the rest.
DEPTHS = {"ambiguous_the": 5}


def _verify(spec: Spec, depth: int = 3) -> set[str]:
    """What verify finds violated; each name with at least one trace from the empty device (a
    trace of no request when the empty device itself breaks it). A check may stay undecided
    (the timeout) on these broken specs, never be read as proved."""
    found: dict[str, list[Violated]] = {}
    for check in Verifier(spec, depth=depth).checks():
        if isinstance(check.verdict, Violated):
            found.setdefault(check.name, []).append(check.verdict)
    for name, verdicts in found.items():
        assert any(v.reachable is not None for v in verdicts), (name, verdicts)
    return set(found)


def _explore(spec: Spec, symmetry: bool) -> set[str]:
    # Two instance names show ties and flips; a cross-service invariant needs a second service
    # (one name each is enough there, and keeps the scope small).
    two_services = any(reads_other_services(inv.expr) for inv in spec.invariants)
    scope = ExploreScope.of(1 if two_services else 2, 1, services=2 if two_services else 1)
    return set(
        explore(Engine(spec), attrs.evolve(scope, declines=True), symmetry=symmetry).violations
    )


def _stateful(spec: Spec) -> set[str]:
    budget = settings(
        max_examples=300,
        stateful_step_count=20,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    try:
        run_state_machine_as_test(engine_machine(spec), settings=budget)
    except PropertyViolation as found:
        return set(found.names)
    return set()


@pytest.fixture(autouse=True)
def _quiet_engine() -> None:
    logging.getLogger("mostate").setLevel(logging.ERROR)


@pytest.mark.slow  # about 98 s here (2 cores)
@pytest.mark.parametrize("name", sorted(CASES))
def test_verify_and_explore_agree(name: str) -> None:
    spec, expected = CASES[name]
    by_verify = _verify(spec, DEPTHS.get(name, 3))
    by_explore = _explore(spec, symmetry=True)
    assert by_verify == expected, f"verify: {sorted(by_verify)}, explore: {sorted(by_explore)}"
    assert by_explore == expected, f"verify: {sorted(by_verify)}, explore: {sorted(by_explore)}"
    assert _explore(spec, symmetry=False) == expected
    # the stateful test stops at its first violation: it must find one exactly when they do
    by_stateful = _stateful(spec)
    assert by_stateful <= expected and bool(by_stateful) == bool(expected), sorted(by_stateful)


def test_the_engine_answers_500_on_every_add_that_creates_other_names() -> None:
    engine = Engine(CASES["every_other_name_exists"][0])
    add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    step = engine.evaluate(DeviceState(), add)
    assert [c.name for c in step.violations] == ["creates_only_target"]
    outcome = engine.apply(DeviceState(), add)
    assert int(outcome.status) == 500 and outcome.state == DeviceState()


def test_the_engine_refuses_a_step_that_breaks_an_invariant_of_another_service() -> None:
    engine = Engine(CASES["cross_service_invariant"][0])
    state = DeviceState.from_json({"MMS": {"a": {}}})
    request = Request.from_json(
        {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a", "value": True}
    )
    outcome = engine.apply(state, request)
    assert (int(outcome.status), outcome.clause.name) == (500, "cross")
    assert outcome.state == state


def test_an_ambiguous_the_is_a_500_whatever_the_names() -> None:
    engine = Engine(CASES["ambiguous_the"][0])
    for active, default in (("a", "b"), ("b", "a")):
        state = DeviceState.from_json(
            {"MMS": {active: {"active": True}, default: {"default": True}}}
        )
        ask = Request.from_json({"actor": "user", "op": "in_use", "service": "MMS"})
        outcome = engine.apply(state, ask)
        assert (int(outcome.status), outcome.clause.name) == (500, "unique_the")
        assert outcome.state == state


def test_the_may_not_stand_where_a_variable_is_bound() -> None:
    with pytest.raises(SpecError, match=r"variant.toml:\d+:\d+: the\(\.\.\.\) cannot be used"):
        _variant('"not exists(target)"', '"any(j, the(k, active(k)) == none)"')


@pytest.mark.slow  # about 1 s here (2 cores)
def test_the_empty_device_violation_is_a_trace_of_no_request() -> None:
    spec = CASES["empty_device_breaks_an_invariant"][0]
    checks = [c for c in Verifier(spec, depth=0).checks() if not c.op]
    verdict = next(c.verdict for c in checks if c.name == "one_active")
    assert isinstance(verdict, Violated)
    assert verdict.trace.requests == () and verdict.reachable == verdict.trace
    assert verdict.transition is None
    run = explore(Engine(spec), ExploreScope.of(1, 1))
    assert run.violations["one_active"].trace.requests == ()
    assert run.violations["one_active"].status is None


def test_independence_compares_only_states_a_device_can_be_in() -> None:
    engine = Engine(INDEPENDENCE)
    state = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {}}})
    add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "c"})
    # flipping b's Active would make two Active instances (the refusal would fire): not compared
    assert engine.independence_violations(state, add) == ()
    ask = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    assert [c.name for c in engine.independence_violations(state, ask)] == [
        "active_never_blocks_server"
    ]


def test_a_the_that_fresh_names_satisfy_is_ambiguous_in_every_checker() -> None:
    # the(i, true) over a service: every name qualifies, and a name the state does not hold
    # stands for infinitely many. Z3 said unique_the; the engine answered the fresh name itself
    # ('\x00') as the one candidate, so the mutant that writes it was "unknown" to mutate.
    old = '"if any(i, active(i)) then the(i, active(i)) else the(i, default(i))"'
    spec = _variant(old, '"if any(i, active(i)) then the(i, active(i)) else the(i, true)"')
    request = Request.from_json({"actor": "user", "op": "in_use", "service": "MMS"})
    for backend in ("generated", "interpreted"):
        step = Engine(spec, backend=backend).evaluate(DeviceState(), request)
        assert int(step.outcome.status) == 500 and [c.name for c in step.violations] == [
            "unique_the"
        ]
    rows = [c for c in Verifier(spec, depth=0).checks_for("in_use") if c.name == "unique_the"]
    assert rows and all(
        isinstance(c.verdict, Violated) for c in rows if c.branch != "server/decline"
    )
