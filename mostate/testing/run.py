"""Running the conformance kit outside pytest (``mostate conform``): a fixed number of
examples, an optional seed, and the shrunk divergence returned rather than raised."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import hypothesis.core
from hypothesis import settings as Settings
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from ..engine import Engine
from .conformance import FIND, AdapterFactory, Divergence, conformance_machine, minimise
from .coverage import Coverage


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    # What pytest's --hypothesis-seed sets: the public `@seed` decorator cannot reach the test
    # function that run_state_machine_as_test builds inside itself.
    old = hypothesis.core.global_force_seed
    hypothesis.core.global_force_seed = seed  # type: ignore[assignment]  # typed as None there
    try:
        yield
    finally:
        hypothesis.core.global_force_seed = old


def run_conformance(
    engine: Engine,
    factory: AdapterFactory,
    examples: int = 100,
    seed: int | None = None,
    coverage: Coverage | None = None,
) -> Divergence | None:
    """Compare the implementation behind ``factory`` with ``engine`` on ``examples`` random
    request sequences; the first divergence, shrunk, or None when there is none.

    >>> from mostate import load_spec
    >>> from mostate.testing.conformance import load_factory
    >>> acme = load_factory("examples/adapters.py:AcmeAdapter")
    >>> run_conformance(Engine(load_spec()), acme, examples=5, seed=1) is None
    True
    """
    machine = conformance_machine(factory, engine.spec, coverage=coverage)
    settings = Settings(
        max_examples=examples, database=None, deadline=None, derandomize=False, phases=FIND
    )
    try:
        with _seeded(seed), with_reporter(lambda _: None):
            run_state_machine_as_test(machine, settings=settings)
    except Divergence as err:
        return minimise(engine, factory, err)
    return None
