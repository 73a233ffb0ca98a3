"""Running the conformance kit outside pytest (``mostate conform``): the edge-complete suite of
a small scope, then a fixed number of random examples with an optional seed, and the minimised
divergence returned rather than raised."""

from __future__ import annotations

import random

from hypothesis import seed as seeded
from hypothesis import settings as Settings
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from ..engine import Engine
from .conformance import (
    FIND,
    AdapterFactory,
    Divergence,
    conformance_machine,
    minimise,
    run_suite,
)
from .coverage import DEFAULT_SCOPE, Coverage, Scope, Universe


def fresh_seed() -> int:
    """A seed for a run the caller did not seed: chosen here, so that it can be printed and the
    run repeated with it."""
    return random.SystemRandom().randrange(2**32)


def run_conformance(
    engine: Engine,
    factory: AdapterFactory,
    examples: int = 100,
    seed: int | None = None,
    coverage: Coverage | None = None,
    scope: Scope | None = DEFAULT_SCOPE,
) -> Divergence | None:
    """Compare the implementation behind ``factory`` with ``engine``: first on the
    edge-complete suite of ``scope`` (:meth:`Universe.suite`; None leaves it out), then on
    ``examples`` random request sequences. The first divergence, minimised, or None when there
    is none. The suite alone finds any bug of a single transition of the scope, on any seed.

    >>> from mostate import load_spec
    >>> from mostate.testing.conformance import load_factory
    >>> engine = Engine(load_spec())
    >>> acme = load_factory("examples/adapters.py:AcmeAdapter")
    >>> run_conformance(engine, acme, examples=5, seed=1) is None
    True
    >>> globex = load_factory("examples/adapters.py:GlobexAdapter")
    >>> len(run_conformance(engine, globex, examples=5, seed=1).trace.requests)
    5
    """
    if scope is not None:
        found = run_suite(engine, factory, Universe(engine, scope).suite(), coverage)
        if found is not None:
            return found
    machine = conformance_machine(factory, engine.spec, coverage=coverage)
    if seed is not None:
        # Hypothesis's public @seed: run_state_machine_as_test honours it on the machine class.
        machine = seeded(seed)(machine)
    settings = Settings(
        max_examples=examples, database=None, deadline=None, derandomize=False, phases=FIND
    )
    try:
        with with_reporter(lambda _: None):
            run_state_machine_as_test(machine, settings=settings)
    except Divergence as err:
        return minimise(engine, factory, err)
    return None


def conform(
    engine: Engine,
    factory: AdapterFactory,
    examples: int,
    seed: int | None = None,
    *,
    suite: bool = True,
    cover: bool = False,
) -> tuple[dict[str, object], Divergence | None]:
    """What ``mostate conform`` reports: the edge-complete suite (unless ``suite`` is false),
    then ``examples`` random sequences if it found nothing, and the divergence found, if any.
    The report names the factory's run, the suite's size, the seed (chosen here when not
    given), what found the divergence, and with ``cover`` what each part visited."""
    universe = Universe(engine)
    runs: dict[str, Coverage] = {}
    report: dict[str, object] = {"examples": examples, "suite": None}
    found = None
    if suite:
        sequences = universe.suite()
        report["suite"] = {
            "states": len(universe.stays),
            "requests": len(universe.alphabet),
            "sequences": len(sequences),
        }
        runs["suite"] = Coverage()
        found = run_suite(engine, factory, sequences, runs["suite"])
    if found is None:
        runs["random"] = Coverage()
        report["seed"] = seed = seed if seed is not None else fresh_seed()
        found = run_conformance(engine, factory, examples, seed, runs["random"], scope=None)
    report["found_by"] = None if found is None else list(runs)[-1]
    if cover:
        report["coverage"] = {label: universe.report(c).to_json() for label, c in runs.items()}
    return report, found
