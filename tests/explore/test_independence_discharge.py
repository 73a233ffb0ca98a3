"""The static discharge of independence (:func:`mostate.independence.reads_field`) holds: where
it says an operation does not read the field, the two-run check finds nothing from any state.

Checked on every state of a small scope, for the shipped spec and every shipped mutant; the
mutant that reads Locked for servers must keep its two runs.
"""

from __future__ import annotations

import tomllib

import pytest

from mostate import Engine, load_spec
from mostate.explore import ExploreScope, explore
from mostate.explore.explorer import two_run_requests
from mostate.independence import reads_field
from mostate.model import Role
from mostate.rules import Field
from tests.conftest import CCS, MUTANTS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
SPECS = {"ccs": CCS} | {name: MUTANTS / entry["file"] for name, entry in MANIFEST.items()}


@pytest.mark.slow  # about 1 s a spec here (2 cores)
@pytest.mark.parametrize("spec", sorted(SPECS))
def test_a_discharged_request_never_breaks_an_independence(spec: str) -> None:
    engine = Engine(load_spec(SPECS[spec]))
    run = explore(engine, ExploreScope.of(2, 1, declines=True), symmetry=False)
    cleared = [
        request
        for request, again in zip(run.requests, two_run_requests(engine, run.requests), strict=True)
        if not again
    ]
    assert cleared
    for state in run.depths:
        for request in cleared:
            assert engine.independence_violations(state, request) == ()


def test_reading_the_field_in_a_server_refusal_keeps_the_two_runs() -> None:
    spec = load_spec(MUTANTS / MANIFEST["lock_checked_on_server"]["file"])
    assert reads_field(spec.ops["replace"], Role.SERVER, Field.LOCKED)
    assert not reads_field(load_spec(CCS).ops["replace"], Role.SERVER, Field.LOCKED)
    # an update of the field itself may read it: only the field changes, and it is blanked
    assert not reads_field(spec.ops["set_locked"], Role.SERVER, Field.LOCKED)
