"""The strategies generate what the spec declares: well-formed requests the engine never answers
400, malformed ones it always does, and states that keep the invariants."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import find, given

from mostate import DeviceState, Engine, Status, load_spec, parse_spec
from mostate.testing import (
    Pools,
    keeps_invariants,
    malformed_requests,
    reached_states,
    states,
    valid_requests,
)
from mostate.testing.reach import path_to

CCS = Path(__file__).resolve().parents[2] / "specs" / "ccs.toml"
SPEC = load_spec(CCS)
ENGINE = Engine(SPEC)
KEEPS = keeps_invariants(SPEC)


@given(valid_requests(SPEC))
def test_valid_requests_are_well_formed(request: object) -> None:
    out = ENGINE.apply(DeviceState(), request)  # type: ignore[arg-type]  # drawn Request
    assert out.status is not Status.BAD_REQUEST, out.reason


@given(malformed_requests(SPEC), states(SPEC))
def test_malformed_requests_are_answered_400_and_change_nothing(
    request: object, state: DeviceState
) -> None:
    out = ENGINE.apply(state, request)  # type: ignore[arg-type]  # drawn Request
    assert out.status is Status.BAD_REQUEST
    assert out.state == state


@given(states(SPEC))
def test_drawn_states_keep_the_invariants(state: DeviceState) -> None:
    assert KEEPS(state)


@given(reached_states(SPEC))
def test_path_to_reaches_a_reachable_state(state: DeviceState) -> None:
    current = DeviceState()
    for request in path_to(ENGINE, state):
        current = ENGINE.apply(current, request).state
    assert current == state


def test_invariant_check_rejects_a_broken_state() -> None:
    two = DeviceState.from_json({"MMS": {"a": {"default": True}, "b": {"default": True}}})
    assert not KEEPS(two)


def test_a_changed_spec_changes_what_is_generated() -> None:
    text = CCS.read_text(encoding="utf-8") + (
        '\n[ops.reset]\ndoc = "x"\nargs = { hard = "bool" }\n\n'
        '[[ops.reset.steps]]\nname = "never"\nrefuse = 404\nwhen = "false"\n'
    )
    spec = parse_spec(text, "extended.toml")
    reset = find(valid_requests(spec), lambda r: r.op == "reset")
    assert isinstance(reset.args["hard"], bool)
    assert reset.instance is not None  # the new operation names a target, as declared


def test_pools_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="instances"):
        Pools(instances=())
