"""How fast the stateful tests run, and how much the conformance kit sends to find a bug.

Also how long a divergence takes to shrink.

Prints a table: requests per second through the engine alone (the baseline), steps and
examples per second of the engine's stateful test on the shipped spec, the same for the
conformance test of the ACME example, and the time to find and minimise the Globex bug
(with Hypothesis's own shrinker as a second row for comparison).

Then how the Globex bug (one wrong transition) is found over seeds 0..--seeds-1: by the kit as
`mostate conform` runs it (the edge-complete suite of the small scope first, then random
sequences), and by random sequences alone with a budget of --budget examples. For each: on how
many seeds it is found, the median examples (fresh devices) and requests sent up to the first
divergence, the median seconds to a minimal trace, and requests per second against the baseline.

Run: python benchmarks/bench_stateful.py [--seeds 10] [--budget 500]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import Phase, settings  # noqa: E402  (after the path is set)
from hypothesis import seed as seeded  # noqa: E402
from hypothesis.reporting import with_reporter  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from mostate import DeviceState, Engine, Request, load_spec  # noqa: E402
from mostate.testing import (  # noqa: E402
    Answer,
    Coverage,
    Divergence,
    Universe,
    conformance_machine,
    load_factory,
    replay,
)
from mostate.testing.conformance import (  # noqa: E402
    FIND,
    AdapterFactory,
    Outcomes,
    minimise,
)
from mostate.testing.run import run_conformance  # noqa: E402
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 for the Globex rows")
    parser.add_argument("--budget", type=int, default=500, help="random examples per seed")
    args = parser.parse_args()
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
    Console().print(finding_table(engine, globex, base, args.seeds, args.budget))


def hypothesis_shrink(globex: object) -> tuple[float, int]:
    """The same search with Hypothesis's own shrink phase (what the kit no longer uses)."""
    machine = conformance_machine(globex)  # type: ignore[arg-type]
    full = settings(RUN, derandomize=False, phases=list(Phase))
    for number in range(20):
        start = time.perf_counter()
        try:
            run_state_machine_as_test(seeded(number)(machine), settings=full)
        except Divergence as err:
            return time.perf_counter() - start, len(err.trace.requests)
        except BaseException:  # a multiple-failures group also counts as found
            return time.perf_counter() - start, -1
    return float("nan"), 0


SENT: list[list[Request]] = []
"""What each device of the current search was sent, one list per device (example)."""


class Recorded:
    """An adapter that logs the requests it is sent (to count what a search needed)."""

    def __init__(self, inner: AdapterFactory) -> None:
        self.inner = inner()
        self.sent: list[Request] = []
        SENT.append(self.sent)

    def apply(self, request: Request) -> Answer:
        self.sent.append(request)
        return self.inner.apply(request)

    def observe(self) -> dict[str, object] | None:
        return self.inner.observe()


def needed(found: tuple[Request, ...]) -> tuple[int, int]:
    """Examples and requests sent up to the first device that saw the divergence ``found``
    (Hypothesis replays the failing example once more, so the first match is what counts)."""
    index = next(i for i, sent in enumerate(SENT) if tuple(sent) == found)
    return index + 1, sum(len(sent) for sent in SENT[: index + 1])


def suite_search(engine: Engine, globex: AdapterFactory) -> tuple[int, int]:
    """Examples and requests the edge-complete suite sends before the first divergence."""
    SENT.clear()
    outcomes: Outcomes = {}
    for sequence in Universe(engine).suite():
        try:
            replay(engine, lambda: Recorded(globex), sequence, outcomes=outcomes)
        except Divergence as err:
            return needed(err.trace.requests)
    raise AssertionError("the edge-complete suite missed the Globex bug")


def random_search(
    globex: AdapterFactory, seed: int, budget: int
) -> tuple[int, int, Divergence] | None:
    """Examples and requests random sequences alone send before the first divergence, and the
    divergence (not yet minimised)."""
    SENT.clear()
    machine = conformance_machine(lambda: Recorded(globex))
    budgeted = settings(RUN, max_examples=budget, derandomize=False, phases=FIND)
    try:
        with with_reporter(lambda _: None):
            run_state_machine_as_test(seeded(seed)(machine), settings=budgeted)
    except Divergence as err:
        return (*needed(err.trace.requests), err)
    return None


def finding_table(
    engine: Engine, globex: AdapterFactory, base: float, seeds: int, budget: int
) -> Table:
    """Globex found by the kit as it runs by default vs by random sequences alone."""
    kit_secs, random_secs = [], []
    random_found: list[tuple[int, int]] = []
    kit_found = 0
    for seed in range(seeds):
        start = time.perf_counter()
        found = run_conformance(engine, globex, EXAMPLES, seed)
        kit_secs.append(time.perf_counter() - start)
        kit_found += found is not None and len(found.trace.requests) == 5
        start = time.perf_counter()
        hit = random_search(globex, seed, budget)
        if hit is not None:
            minimise(engine, globex, hit[2])  # as the kit does, so the seconds compare
            random_found.append(hit[:2])
            random_secs.append(time.perf_counter() - start)
    suite_examples, suite_requests = suite_search(engine, globex)
    suite_rate = suite_requests / statistics.median(kit_secs)

    table = Table(title=f"Finding the Globex bug (seeds 0..{seeds - 1})")
    for column in ("search", "found on", "examples", "requests", "seconds", "req/s ratio"):
        table.add_column(column)
    table.add_row(
        f"kit: suite + {EXAMPLES} random",
        f"{kit_found}/{seeds}",
        f"{suite_examples}",
        f"{suite_requests:,}",
        f"{statistics.median(kit_secs):.2f}",
        f"{suite_rate / base:.3f}",
    )
    if random_found:
        examples = statistics.median(e for e, _ in random_found)
        requests = statistics.median(r for _, r in random_found)
        rate = requests / statistics.median(random_secs)
        row = (f"{examples:.0f}", f"{requests:,.0f}", f"{statistics.median(random_secs):.2f}")
        ratio = f"{rate / base:.3f}"
    else:
        examples, requests, row, ratio = float("nan"), float("nan"), ("-", "-", "-"), "-"
    within = sum(e <= EXAMPLES for e, _ in random_found)
    table.add_row(f"random alone, budget {budget}", f"{len(random_found)}/{seeds}", *row, ratio)
    table.add_row(f"random alone, first {EXAMPLES}", f"{within}/{seeds}", "", "", "", "")
    table.add_row(
        "ratio suite / random",
        "",
        f"{suite_examples / examples:.2f}",
        f"{suite_requests / requests:.2f}",
        "",
        "",
    )
    table.caption = (
        "examples and requests: sent up to the first divergence (the suite's are the same on "
        "every seed; random: median over the seeds it found); seconds: median to a minimal "
        "trace; ratio: requests/s against the engine baseline above"
    )
    return table


if __name__ == "__main__":
    main()
