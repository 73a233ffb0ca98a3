"""The engine's rewrites of properties (stutter folding, the frame rule) never change a verdict."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, load_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_against_handwritten import requests  # the same request generator

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "specs" / "ccs.toml", *sorted((ROOT / "specs" / "mutants").glob("*.toml"))]
SPECS = [s for s in SPECS if s.name != "manifest.toml"]
PAIRS = {s.stem: (Engine(load_spec(s)), Engine(load_spec(s), optimise=False)) for s in SPECS}


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
