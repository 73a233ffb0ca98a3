"""Differential: the integer-encoded search against the networkx explorer it replaced
(:mod:`mostate.explore.reference`), on the shipped spec and every shipped mutant, in scopes
with several services, device-wide effects, declines, parameters and symmetry.

Same states (with their depths), same edges (with status and what they break), same
violations with the same traces, and every trace confirmed by the engine.
"""

from __future__ import annotations

import tomllib

import pytest

from mostate import Engine, load_spec
from mostate.explore import Exploration, ExploreScope, explore
from tests.conftest import CCS, MUTANTS
from tests.explore.reference import ReferenceExploration, explore_reference

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
SPECS = {"ccs": CCS} | {name: MUTANTS / entry["file"] for name, entry in MANIFEST.items()}

SCOPES = {
    "declines": ExploreScope.of(2, 1, declines=True),
    "two services": ExploreScope.of(1, 1, services=2, declines=True),
    "parameters": ExploreScope(2, 1, keys=2),
}
# Each mutant in the scope that shows its bug (as tests/explore/test_mutants.py), the shipped
# spec in every scope.
CASES = [("ccs", scope) for scope in sorted(SCOPES)] + [
    (name, "two services" if entry.get("services", 1) == 2 else "declines")
    for name, entry in MANIFEST.items()
]


def _edges(run: Exploration | ReferenceExploration) -> set[tuple[object, ...]]:
    return {
        (a, b, request, data["status"], data.get("violations", ()))
        for a, b, request, data in run.graph.edges(keys=True, data=True)
    }


def _same(new: Exploration, old: ReferenceExploration) -> None:
    assert new.stats.states == old.stats.states
    assert new.stats.edges == old.stats.edges
    assert new.stats.depth == old.stats.depth
    assert new.stats.represented == old.stats.represented
    assert new.depths == old.depths
    assert _edges(new) == _edges(old)
    assert new.violations.keys() == old.violations.keys()
    for name, found in new.violations.items():
        assert found.trace == old.violations[name].trace
        assert found.status == old.violations[name].status
        last = found.trace.confirm(new.engine)
        assert int(last.outcome.status) == found.status


@pytest.mark.slow  # about 3 s a case here (2 cores)
@pytest.mark.parametrize("symmetry", [True, False])
@pytest.mark.parametrize(("spec", "scope"), CASES)
def test_the_search_finds_what_the_networkx_explorer_found(
    spec: str, scope: str, symmetry: bool
) -> None:
    engine = Engine(load_spec(SPECS[spec]))
    new = explore(engine, SCOPES[scope], symmetry=symmetry)
    old = explore_reference(engine, SCOPES[scope], symmetry=symmetry)
    _same(new, old)
    if spec != "ccs":
        assert new.violations, "a mutant shows its bug in its scope"


SMALL = ExploreScope.of(2, 1)


@pytest.mark.parametrize("spec", ["ccs", "lock_checked_on_server", "switch_over_device"])
def test_a_small_scope_agrees(spec: str) -> None:
    """A quick version of the above for every run of the explore tests."""
    engine = Engine(load_spec(SPECS[spec]))
    scope = ExploreScope.of(1, 1, services=2) if spec == "switch_over_device" else SMALL
    _same(explore(engine, scope), explore_reference(engine, scope))


def test_an_interrupted_search_keeps_a_consistent_graph() -> None:
    engine = Engine(load_spec(CCS))
    run = explore(engine, ExploreScope(3, 1), symmetry=False, max_states=100)
    assert run.stopped == "max states"
    assert len(run.graph) == run.stats.states >= 100
    assert run.graph.number_of_edges() == run.stats.edges
    assert all(run.trace_to(state) is not None for state in list(run.graph)[::17])


def test_ctrl_c_keeps_what_was_explored() -> None:
    """Ctrl-C keeps the states expanded when it came (the search says how many through its
    progress calls, every 64 states state by state, every chunk in bulk) and all they reach."""
    told: list[int] = []

    def interrupt(expanded: int, found: int) -> None:
        told.append(expanded)
        if expanded >= 128:
            raise KeyboardInterrupt

    engine = Engine(load_spec(CCS))
    run = explore(engine, ExploreScope(3, 1), progress=interrupt, interruptible=True)
    assert run.stopped == "interrupted"
    assert run.expanded == told[-1] >= 128
    assert run.expanded < run.stats.states == len(run.graph)
    assert run.graph.number_of_edges() == run.stats.edges
    with pytest.raises(KeyboardInterrupt):
        explore(engine, ExploreScope(3, 1), progress=interrupt)
