"""The Promela model of the decision table (benchmarks/ccs.pml) stores the states the explorer
stores: SPIN is an independent model checker on an independently written model, so equal counts
say both read the table alike. Skipped with a reason where ``spin`` or ``gcc`` is missing."""

from __future__ import annotations

import shutil

import pytest

from benchmarks.bench_explore import spin
from mostate import Engine, load_spec
from mostate.explore import ExploreScope, explore
from tests.conftest import CCS

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,  # about 2 s here (spin, gcc and pan, then the explorer)
    pytest.mark.skipif(
        shutil.which("spin") is None or shutil.which("gcc") is None,
        reason="SPIN or gcc is not installed (apt-get install spin gcc)",
    ),
]


@pytest.mark.parametrize(("instances", "values"), [(3, 2), (2, 1), (3, 1)])
def test_spin_stores_as_many_states_as_the_explorer(instances: int, values: int) -> None:
    anchor = spin(instances, values, budget=120.0)
    run = explore(Engine(load_spec(CCS)), ExploreScope(instances, values), symmetry=False)
    assert run.stats.states == anchor["states"]
    assert anchor["search"] >= 0.0
