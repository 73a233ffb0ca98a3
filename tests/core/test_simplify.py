"""The engine's rewrites of properties (stutter folding, the frame rule) never change a verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, load_spec, parse_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_against_handwritten import requests  # the same request generator

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "specs" / "ccs.toml", *sorted((ROOT / "specs" / "mutants").glob("*.toml"))]
SPECS = [s for s in SPECS if s.name != "manifest.toml"]
PAIRS = {s.stem: (Engine(load_spec(s)), Engine(load_spec(s), optimise=False)) for s in SPECS}
# Properties that read the request's arguments and `declined`, which the rewrites must keep: on a
# declined step (nothing changes, so the stutter view applies) `declined` is still read.
ARGUMENTS = """
[properties.set_active_obeys_value]
ops = ["set_active"]
expr = "status == 200 -> active'(target) == value and all(i in others, unchanged(i))"

[properties.declined_changes_nothing]
expr = "declined -> status == 215 and all(i in device, unchanged(i) and locked'(i) == locked(i))"

[properties.never_declined_on_a_lock]
ops = ["set_locked"]
expr = "declined -> not value"

[properties.replace_keeps_others]
ops = ["replace", "delete_param"]
expr = "all(i, i != target -> params'(i) == params(i)) or param == \\"q\\""
"""
_WITH_ARGUMENTS = parse_spec(SPECS[0].read_text(encoding="utf-8") + ARGUMENTS, "arguments.toml")
PAIRS["ccs-with-arguments"] = (Engine(_WITH_ARGUMENTS), Engine(_WITH_ARGUMENTS, optimise=False))


@pytest.mark.parametrize("name", sorted(PAIRS))
@settings(max_examples=30)
@given(trace=st.lists(requests(), max_size=25))
def test_optimised_and_plain_checks_agree(name: str, trace: list[Request]) -> None:
    fast, plain = PAIRS[name]
    state = DeviceState()
    for request in trace:
        a, b = fast.evaluate(state, request), plain.evaluate(state, request)
        assert a.outcome == b.outcome
        assert {c.name for c in a.violations} == {c.name for c in b.violations}, request
        state = a.outcome.state


def test_the_argument_properties_can_fail() -> None:
    # never_declined_on_a_lock is false for a declined lock, in both modes: the test above
    # compares verdicts that are not all "holds".
    state = DeviceState.from_json({"MMS": {"a": {}}})
    lock = Request.from_json(
        {
            "actor": "server",
            "op": "set_locked",
            "service": "MMS",
            "instance": "a",
            "value": True,
            "confirm": "decline",
        }
    )
    for engine in PAIRS["ccs-with-arguments"]:
        assert [c.name for c in engine.evaluate(state, lock).violations] == [
            "never_declined_on_a_lock"
        ]
