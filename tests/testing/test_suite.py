"""The edge-complete suite: it sends every request of the scope in every state of the scope, and
so catches any device that differs from the spec on one transition of the scope, whatever
transition Hypothesis picks, whether the device shows its state or hides it."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Outcome, Request, Status, load_spec
from mostate.testing import Answer, Universe, run_suite
from mostate.testing.conformance import Outcomes

ENGINE = Engine(load_spec())
UNIVERSE = Universe(ENGINE)
SUITE = UNIVERSE.suite()
EDGES = [(state, request) for state in UNIVERSE.stays for request in UNIVERSE.alphabet]


@pytest.fixture(autouse=True)
def _quiet_engine() -> None:
    logging.getLogger("mostate").setLevel(logging.ERROR)


def test_the_walk_is_complete_and_small() -> None:
    assert UNIVERSE.complete and len(UNIVERSE.stays) == len(UNIVERSE.states)
    assert 100 < len(UNIVERSE.states) < 1_000  # one service, two instance names


@pytest.mark.slow  # about 3 s here (2 cores)
def test_every_request_is_sent_in_every_state() -> None:
    sent: set[tuple[DeviceState, Request]] = set()
    for sequence in SUITE:
        state = DeviceState()
        for request in sequence:
            sent.add((state, request))
            state = ENGINE.apply(state, request).state
    assert sent >= set(EDGES)


def test_the_paths_to_the_states_are_shortest() -> None:
    # No transition leads to a state by a shorter way than its path; each path gets there.
    for state, request in EDGES:
        after = ENGINE.apply(state, request).state
        assert len(UNIVERSE.states[after]) <= len(UNIVERSE.states[state]) + 1
    for state, path in UNIVERSE.states.items():
        reached = DeviceState()
        for request in path:
            reached = ENGINE.apply(reached, request).state
        assert reached == state


def test_each_state_changing_request_is_followed_by_the_reads() -> None:
    reads = UNIVERSE.reads
    assert {r.op for r in reads} == {op for op, o in ENGINE.spec.ops.items() if o.result}
    moved = [s for s in SUITE if len(s) > len(reads) and s[-len(reads) :] == reads]
    assert len(moved) == len(SUITE)


class _Mutant:
    """The spec's own behaviour (through the engine) except on one transition, where the
    device answers another status or keeps the state the spec changes."""

    def __init__(
        self, edge: tuple[DeviceState, Request], kind: str, shows: bool, memo: Outcomes
    ) -> None:
        self.edge, self.kind, self.shows, self.memo = edge, kind, shows, memo
        self.state = DeviceState()

    def apply(self, request: Request) -> Answer:
        key = (self.state, request)
        out = self.memo.get(key) or self.memo.setdefault(key, ENGINE.apply(*key))
        if key == self.edge:
            out = _mutated(out, self.state, self.kind)
        self.state = out.state
        return Answer(int(out.status), out.to_json(with_state=False)["result"])

    def observe(self) -> dict[str, Any] | None:
        return self.state.to_json() if self.shows else None


def _mutated(out: Outcome, before: DeviceState, kind: str) -> Outcome:
    if kind == "state" and out.state != before:
        return attrs.evolve(out, state=before)  # the effect is lost, the status is right
    wrong = Status.OK if out.status is not Status.OK else Status(425)
    return attrs.evolve(out, status=wrong)


@settings(max_examples=25, deadline=None)
@given(
    edge=st.sampled_from(EDGES),
    kind=st.sampled_from(("status", "state")),
    shows=st.booleans(),
)
@pytest.mark.slow  # about 15 s here (2 cores)
def test_every_one_transition_bug_of_the_scope_is_caught(
    edge: tuple[DeviceState, Request], kind: str, shows: bool
) -> None:
    memo: Outcomes = {}
    found = run_suite(ENGINE, lambda: _Mutant(edge, kind, shows, memo), SUITE)
    assert found is not None
    # The minimised trace goes through the mutated transition: first to its state, then it.
    state = DeviceState()
    steps = []
    for request in found.trace.requests:
        steps.append((state, request))
        state = ENGINE.apply(state, request).state
    assert edge in steps


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_harness_without_a_mutation_passes() -> None:
    # The mutant's transition is one the scope never reaches: what is left is the spec, which
    # must pass (a part of the suite keeps this quick; the ACME test runs all of it).
    memo: Outcomes = {}
    no_edge = (DeviceState.from_json({"MMS": {"zz": {}}}), UNIVERSE.alphabet[0])
    assert run_suite(ENGINE, lambda: _Mutant(no_edge, "status", False, memo), SUITE[:400]) is None
