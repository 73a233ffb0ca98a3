"""The explorer's shortcuts give what the long way gives.

:meth:`Engine.evaluate_valid` (invariants checked on what a step changed, the state before known
to keep them) against :meth:`Engine.evaluate` on every stored state and request of small scopes;
the successor form of generated code (:meth:`Engine.successor`: one function per concrete
request, the next records instead of an outcome) against :meth:`Engine.evaluate_valid` on the
same; :meth:`Codec.encode_step` (only the target's service encoded again) and
:meth:`Codec.encode_records` against :meth:`Codec.encode` on every step.
"""

from __future__ import annotations

import tomllib

import pytest

from mostate import DeviceState, Engine, Request, Spec, load_spec
from mostate.codegen.runtime import FALLBACK
from mostate.explore import ExploreScope, explore
from mostate.explore.encoding import Codec
from tests.codegen.test_differential import EXTRA_SPEC
from tests.conftest import CCS, MUTANTS
from tests.symbolic.test_soundness import CASES

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
SPECS = {"ccs": CCS} | {name: MUTANTS / entry["file"] for name, entry in MANIFEST.items()}


def _scope(spec: str) -> ExploreScope:
    two = spec in MANIFEST and MANIFEST[spec].get("services", 1) == 2
    if two or spec in ("cross_service_invariant", "extra"):
        return ExploreScope.of(1, 1, services=2, declines=True)
    return ExploreScope.of(2, 1, declines=True)


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_valid_pre_state_checks_agree_with_full_checks(spec: str) -> None:
    engine = Engine(load_spec(SPECS[spec]))
    run = explore(engine, _scope(spec), symmetry=False)
    assert run.valid_states
    for i in range(len(run.keys)):
        state = run.state(i)
        assert not engine.state_violations(state)
        for request in run.requests:
            full = engine.evaluate(state, request)
            assert engine.evaluate_valid(state, request) == (full.outcome, full.violations)


def _spec(name: str) -> Spec:
    if name == "extra":  # properties the shipped spec does not use: the(), others, fresh names
        return EXTRA_SPEC
    return CASES[name][0] if name in CASES else load_spec(SPECS[name])


# Every case but the one whose empty device breaks an invariant: no state of it keeps them,
# and the explorer sends successors nothing from such states.
VALID_CASES = sorted(c for c in CASES if c != "empty_device_breaks_an_invariant")


@pytest.mark.parametrize("spec", [*sorted(SPECS), *VALID_CASES, "extra"])
def test_successors_answer_as_the_engine_does(spec: str) -> None:
    """Next state and broken clauses alike, on every stored state and request; where the
    successor hands a request back (:data:`FALLBACK`), the engine's answer is a 500 of an
    obligation (an ambiguous ``the``, an effect that makes unnamed instances exist)."""
    engine = Engine(_spec(spec))
    scope = _scope(spec)
    run = explore(engine, scope, symmetry=False)
    codec = Codec(scope.services, scope.names)
    answered = handed_back = interpreted = points = local = 0
    for i in range(len(run.keys)):
        state = run.state(i)
        if engine.state_violations(state):
            continue  # the explorer sends nothing from a state it found broken
        key = codec.encode(state)
        for request in run.requests:
            successor = engine.successor(request)
            if successor is None:  # an operation the generator leaves to the interpreter
                interpreted += 1
                continue
            outcome, broken = engine.evaluate_valid(state, request)
            held = state.services.get(str(request.service))
            pre = dict(held.instances) if held is not None else {}
            answer = successor(dict(state.services), request.service, request.instance, pre)
            if successor.target_only:  # the same answer from the target's record alone
                name = str(request.instance)
                alone = {name: pre[name]} if name in pre else {}
                assert successor({}, request.service, name, alone) == answer, request
                local += 1
            if answer is FALLBACK:
                assert int(outcome.status) == 500 and outcome.clause.kind == "obligation"
                handed_back += 1
                continue
            records, got = answer
            assert got == broken, request
            if records is None:
                assert outcome.state == state, request
            elif not broken:
                assert request.service is not None
                if isinstance(records, tuple):  # the target's record alone changed
                    after = codec.encode_record(key, request.service, *records)
                    points += 1
                else:
                    after = codec.encode_records(key, request.service, records)
                assert after == codec.encode(outcome.state), request
            answered += 1
    assert answered > 0
    assert points > 0 or spec != "ccs"  # the shipped spec's point effects answer as points
    assert local > 0 or spec != "ccs"
    assert bool(handed_back) == (spec in ("ambiguous_the", "every_other_name_exists"))
    assert bool(interpreted) == (spec in ("cross_service_invariant", "switch_over_device"))


def test_a_malformed_request_has_no_successor() -> None:
    engine = Engine(load_spec(CCS))
    good = {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a"}
    assert engine.successor(Request.from_json({**good, "value": True})) is not None
    assert engine.successor(Request.from_json(good)) is None  # value is missing
    assert engine.successor(Request.from_json({**good, "value": "yes"})) is None
    assert engine.successor(Request.from_json({**good, "op": "nothing"})) is None
    interpreted = Engine(load_spec(CCS), backend="interpreted")
    assert interpreted.successor(Request.from_json({**good, "value": True})) is None


def test_valid_pre_state_checks_look_only_at_the_change() -> None:
    """On a state that breaks an invariant, the quick check does not see it (so the explorer
    must only ever say "valid" of states that are): what shows the flag reaches the code."""
    engine = Engine(load_spec(CCS))
    two = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"active": True}}})
    add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "c"})
    assert [c.name for c in engine.evaluate(two, add).violations] == ["one_active"]
    assert engine.evaluate_valid(two, add)[1] == ()


@pytest.mark.parametrize("spec", ["ccs", "switch_over_device", "active_not_cleared"])
def test_the_step_encoding_equals_the_whole_encoding(spec: str) -> None:
    engine = Engine(load_spec(SPECS[spec]))
    scope = _scope(spec)
    run = explore(engine, scope, symmetry=False)
    codec = Codec(scope.services, scope.names)
    steps = 0
    for i in range(len(run.keys)):
        state = run.state(i)
        key = codec.encode(state)
        for request in run.requests:
            after = engine.evaluate(state, request).outcome.state
            if request.service is None or after is state:
                continue
            assert codec.encode_step(key, state, after, request.service) == codec.encode(after)
            steps += 1
    assert steps > 0


def test_the_step_encoding_sees_a_change_to_another_service() -> None:
    codec = Codec(("A", "B"), ("i1", "i2"))
    before = DeviceState.from_json({"A": {"i1": {}}, "B": {"i2": {}}})
    for after in (
        DeviceState.from_json({"A": {"i1": {}}, "B": {"i1": {"active": True}}}),
        DeviceState.from_json({"A": {"i1": {}, "i2": {}}}),
        DeviceState.from_json({"B": {"i2": {}}}),
        DeviceState(),
    ):
        key = codec.encode_step(codec.encode(before), before, after, "A")
        assert key == codec.encode(after)
        assert codec.decode(key) == after


def test_the_step_encoding_follows_instances_that_change_come_and_go() -> None:
    """Within the step's service: records kept as the very objects, records rebuilt equal,
    one changed, one removed, one added."""
    from mostate.frozenmap import FrozenMap
    from mostate.model import Instance, Service

    codec = Codec(("A",), ("i1", "i2", "i3"))
    before = DeviceState.from_json({"A": {"i1": {}, "i2": {"locked": True}}})
    held = before.service("A").instances
    i1, i2 = held["i1"], held["i2"]
    for instances in (
        {"i2": i2},  # i1 removed, i2 the same object
        {"i1": i1},  # i2 removed
        {"i1": i1, "i2": i2, "i3": Instance(active=True)},  # one added
        {"i1": Instance(default=True), "i2": i2},  # one changed
        {"i3": Instance()},  # both removed, one added
        {"i1": Instance(), "i2": Instance(locked=True)},  # rebuilt equal
    ):
        after = before.with_service("A", Service(FrozenMap(instances)))
        key = codec.encode_step(codec.encode(before), before, after, "A")
        assert key == codec.encode(after)
        assert codec.decode(key) == after


def _naive_permute(key: int, moves: list[int], services: int, width: int) -> int:
    """The column of name ``j`` moved to name ``moves[j]``, slot by slot with shifts."""
    out = 0
    for s in range(services):
        for j, to in enumerate(moves):
            out |= ((key >> 16 * (s * width + j)) & 0xFFFF) << 16 * (s * width + to)
    return out


@pytest.mark.parametrize("services", [1, 2, 3])
def test_moving_bytes_is_moving_slots(services: int) -> None:
    names = ("a", "b", "c", "d")
    codec = Codec(tuple(f"S{s}" for s in range(services)), names)
    codes = [(7919 * k + 13) % 65536 for k in range(services * len(names))]
    key = codec.pack(codes)
    assert list(codec.slots(key)) == codes
    for moves in ([1, 2, 3, 0], [3, 2, 1, 0], [0, 1, 2, 3], [2, 0, 3, 1]):
        expected = _naive_permute(key, moves, services, len(names))
        assert codec.permute(key, moves) == expected
        assert codec.mover(moves)(key) == expected


def test_requests_whose_successors_are_the_same_code_share_one() -> None:
    """A query is the same code for the user and a server; a switch is not (the user's
    request may be refused on a lock)."""
    engine = Engine(load_spec(CCS))

    def successor(op: str, actor: str, **args: object) -> object:
        data = {"actor": actor, "op": op, "service": "MMS", "instance": "a", **args}
        return engine.successor(Request.from_json(data))

    assert successor("get_active", "user") is successor("get_active", "server") is not None
    assert successor("set_active", "user", value=True) is not successor(
        "set_active", "server", value=True
    )
