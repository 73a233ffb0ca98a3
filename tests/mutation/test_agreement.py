"""Three checkers, one verdict: for every shipped mutant and a deterministic sample of generated
ones, Z3 (``mostate.mutation.kill``), the explorer (a small scope) and the stateful test agree on
whether the mutant is killed and by which properties, as far as each one's scope allows:

* a shipped mutant: the explorer finds exactly Z3's properties (its manifest scope reaches every
  bug), and the stateful test finds a non-empty subset of them;
* a generated mutant: neither the explorer nor the stateful test finds a property Z3 does not
  report (Z3 checks every state that keeps the invariants, a superset of any scope), and when
  Z3 reports none, neither finds any.
"""

from __future__ import annotations

import logging
import tomllib

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mostate import Engine, load_spec
from mostate.explore import ExploreScope, explore
from mostate.mutation import Killed, Mutant, generate, kill, whole_spec
from mostate.rules import Spec
from mostate.testing import PropertyViolation, engine_machine
from tests.conftest import MUTANTS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
SMALL = ExploreScope.of(2, 1, declines=True)
TWO_SERVICES = ExploreScope.of(1, 1, services=2, declines=True)
SCOPES = {
    name: TWO_SERVICES if entry.get("services", 1) == 2 else SMALL
    for name, entry in MANIFEST.items()
}
BUDGET = settings(
    max_examples=100,
    stateful_step_count=50,
    database=None,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.fixture(autouse=True)
def _quiet_engine() -> None:
    logging.getLogger("mostate").setLevel(logging.ERROR)


def _sample() -> list[Mutant]:
    mutants = generate(load_spec())
    return list(mutants[:: max(1, len(mutants) // 10)])[:10]


def by_z3(spec: Spec, op: str | None) -> set[str]:
    verdict = kill(spec, op, every=True)
    return set(verdict.properties) if isinstance(verdict, Killed) else set()


def by_explorer(spec: Spec, scope: ExploreScope) -> set[str]:
    return set(explore(Engine(spec), scope).violations)


def by_stateful(spec: Spec) -> set[str]:
    try:
        run_state_machine_as_test(engine_machine(spec), settings=BUDGET)
    except PropertyViolation as found:
        return set(found.names)
    return set()


# Every checker judges steps from states that keep the invariants (the explorer no longer goes
# on from a violating step), so obligations such as unique_the agree too.
SHIPPED = sorted(MANIFEST)


@pytest.mark.slow  # about 44 s here (2 cores)
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_mutants_three_checkers_agree(name: str) -> None:
    spec = load_spec(MUTANTS / MANIFEST[name]["file"])
    z3 = by_z3(whole_spec(name, spec).spec, None)
    explored = by_explorer(spec, SCOPES[name])
    assert explored == z3, f"{name}: z3 {sorted(z3)}, explorer {sorted(explored)}"
    stateful = by_stateful(spec)
    assert stateful <= z3, f"{name}: z3 {sorted(z3)}, stateful {sorted(stateful)}"


@pytest.mark.slow  # ten explorations and ten stateful runs: about a minute and a half
@pytest.mark.parametrize("mutant", _sample(), ids=lambda m: m.id)
def test_generated_mutants_three_checkers_agree(mutant: Mutant) -> None:
    z3 = by_z3(mutant.spec, mutant.op)
    explored = by_explorer(mutant.spec, SMALL)
    stateful = by_stateful(mutant.spec)
    why = f"{mutant}: z3 {sorted(z3)}, explorer {sorted(explored)}, stateful {sorted(stateful)}"
    assert explored <= z3, why
    assert stateful <= z3, why
