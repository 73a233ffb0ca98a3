"""How fast the stateful test runs, and how long a divergence takes to shrink.

Prints a table: requests per second through the engine alone (the baseline), steps and
examples per second of the engine's stateful test on the shipped spec, the same for the
conformance test of the ACME example, and the time to find and minimise the Globex bug
(with Hypothesis's own shrinker as a second row for comparison).

Run: python benchmarks/bench_stateful.py
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import Phase, settings  # noqa: E402  (after the path is set)
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from mostate import DeviceState, Engine, load_spec  # noqa: E402
from mostate.testing import Coverage, Divergence, conformance_machine, load_factory  # noqa: E402
from mostate.testing.conformance import minimise  # noqa: E402
from mostate.testing.run import _seeded, run_conformance  # noqa: E402
from mostate.testing.stateful import engine_machine  # noqa: E402
from mostate.testing.strategies import requests  # noqa: E402

EXAMPLES = 100
RUN = settings(max_examples=EXAMPLES, database=None, deadline=None, derandomize=True)


def baseline(engine: Engine) -> float:
    """Requests per second through Engine.evaluate on pre-drawn requests."""
    drawn = [requests(engine.spec).example() for _ in range(300)]
    start, state, count = time.perf_counter(), DeviceState(), 0
    while time.perf_counter() - start < 1.0:
        for request in drawn:
            state = engine.evaluate(state, request).outcome.state
            count += 1
    return count / (time.perf_counter() - start)


def timed_machine(machine: type, coverage: Coverage) -> tuple[float, int]:
    start = time.perf_counter()
    run_state_machine_as_test(machine, settings=RUN)
    return time.perf_counter() - start, coverage.steps


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    logging.getLogger("mostate").setLevel(logging.ERROR)
    engine = Engine(load_spec())
    base = baseline(engine)

    import mostate.testing.stateful as stateful_module

    counted = Coverage()
    original = stateful_module._SpecMachineBase.apply

    def counting(self: stateful_module._SpecMachineBase, request: object) -> None:
        counted.steps += 1
        original(self, request)  # type: ignore[arg-type]

    stateful_module._SpecMachineBase.apply = counting  # type: ignore[method-assign]
    engine_secs, engine_steps = timed_machine(engine_machine(), counted)
    stateful_module._SpecMachineBase.apply = original  # type: ignore[method-assign]

    acme = load_factory(f"{ROOT}/examples/adapters.py:AcmeAdapter")
    cov = Coverage()
    acme_secs, acme_steps = timed_machine(conformance_machine(acme, coverage=cov), cov)

    globex = load_factory(f"{ROOT}/examples/adapters.py:GlobexAdapter")
    start = time.perf_counter()
    found = next(f for seed in range(20) if (f := run_conformance(engine, globex, EXAMPLES, seed)))
    find_and_minimise = time.perf_counter() - start
    start = time.perf_counter()
    minimise(engine, globex, found)
    minimise_only = time.perf_counter() - start
    hyp_secs, hyp_len = hypothesis_shrink(globex)

    table = Table(title=f"Stateful testing ({EXAMPLES} examples of up to 50 steps)")
    for column in ("measure", "value", "ratio to engine baseline"):
        table.add_column(column)
    table.add_row("engine alone: requests/s (baseline)", f"{base:,.0f}", "1.00")
    for label, secs, steps in (
        ("engine stateful test", engine_secs, engine_steps),
        ("ACME conformance test", acme_secs, acme_steps),
    ):
        table.add_row(f"{label}: steps/s", f"{steps / secs:,.0f}", f"{steps / secs / base:.3f}")
        table.add_row(f"{label}: examples/s", f"{EXAMPLES / secs:,.1f}", "")
    table.add_row("Globex: find + minimise (s)", f"{find_and_minimise:.2f}", "")
    table.add_row(
        f"Globex: minimise alone (s), {len(found.trace.requests)} requests left",
        f"{minimise_only:.3f}",
        "",
    )
    table.add_row(
        f"Globex: Hypothesis shrink instead (s), {hyp_len} requests left", f"{hyp_secs:.1f}", ""
    )
    Console().print(table)


def hypothesis_shrink(globex: object) -> tuple[float, int]:
    """The same search with Hypothesis's own shrink phase (what the kit no longer uses)."""
    machine = conformance_machine(globex)  # type: ignore[arg-type]
    full = settings(RUN, derandomize=False, phases=list(Phase))
    for seed in range(20):
        start = time.perf_counter()
        try:
            with _seeded(seed):
                run_state_machine_as_test(machine, settings=full)
        except Divergence as err:
            return time.perf_counter() - start, len(err.trace.requests)
        except BaseException:  # a multiple-failures group also counts as found
            return time.perf_counter() - start, -1
    return float("nan"), 0


if __name__ == "__main__":
    main()
