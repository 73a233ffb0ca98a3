"""The cross-check: the explorer finds exactly the manifest's properties broken in every mutant."""

from __future__ import annotations

import tomllib

import pytest

from mostate import Engine, load_spec
from mostate.explore import ExploreScope, explore
from tests.conftest import MUTANTS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))

# The smallest scope that shows each mutant's bugs. Declined confirmations are in every scope
# (effect-before-confirmation breaks only on a declined request). A mutant marked
# `services = 2` (switch-over-device clears Active in *other* services) needs a second service;
# one instance name is enough there.
SCOPES = {
    name: ExploreScope.of(1, 1, services=2, declines=True)
    if entry.get("services", 1) == 2
    else ExploreScope.of(2, 1, declines=True)
    for name, entry in MANIFEST.items()
}


@pytest.mark.slow  # about 1 s here (2 cores)
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_mutant_is_caught_with_exactly_its_properties(name: str) -> None:
    entry = MANIFEST[name]
    engine = Engine(load_spec(MUTANTS / entry["file"]))
    scope = SCOPES[name]
    assert scope.instances <= 3
    run = explore(engine, scope)
    assert sorted(run.violations) == sorted(entry["breaks"])
    for violation in run.violations.values():
        last = violation.trace.confirm(engine)  # raises ReplayError if the engine disagrees
        assert int(last.outcome.status) == violation.status
