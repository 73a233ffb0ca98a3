"""The explorer at N = 1..6 instances, K = 2 values, with and without symmetry reduction.

    python benchmarks/bench_explore.py [--max-instances 6] [--values 2] [--budget 120]

Each run is a fresh subprocess (so its peak memory is its own). The baseline is the run without
symmetry, measured in the same invocation; the ratio column is its time over the reduced run's
(a run is skipped, shown as "-", when ten times the one before it, about the growth from
one N to the next, would pass the budget). Targets (issue 4): at least 50,000 states/s,
and N = 5 with symmetry under 10 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402  (the path above must come first)
from rich.table import Table  # noqa: E402


def one(instances: int, values: int, symmetry: bool) -> dict[str, object]:
    """Explore once in this process and describe the run."""
    from mostate import Engine, load_spec
    from mostate.explore import ExploreScope, explore

    engine = Engine(load_spec())
    started = time.perf_counter()
    run = explore(engine, ExploreScope(instances, values), symmetry=symmetry)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "states": run.stats.states,
        "represented": run.stats.represented,
        "edges": run.stats.edges,
        "seconds": seconds,
        "states_per_second": run.stats.states / seconds,
        "edges_per_second": run.stats.edges / seconds,
        "peak_mib": peak_kib / 1024,
        "violations": sorted(run.violations),
    }


def measure(instances: int, values: int, symmetry: bool, budget: float) -> dict[str, object]:
    argv = [sys.executable, __file__, "--one", str(instances), str(values), str(int(symmetry))]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=budget * 10, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-instances", type=int, default=6)
    parser.add_argument("--values", type=int, default=2)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument(
        "--max-baseline", type=int, default=3, help="largest N run without symmetry (N=4: 5 GiB)"
    )
    parser.add_argument("--one", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], bool(args.one[2]))))
        return
    table = Table(title=f"mostate explore, K = {args.values} (baseline: no symmetry)")
    for column in ("N", "symmetry", "states", "edges", "time s", "states/s", "edges/s", "MiB"):
        table.add_column(column, justify="right")
    table.add_column("speed-up vs baseline", justify="right")
    table.add_column("violations")
    slow = {True: False, False: False}
    for n in range(1, args.max_instances + 1):
        runs: dict[bool, dict[str, object] | None] = {}
        for symmetry in (False, True):
            skip = slow[symmetry] or (not symmetry and n > args.max_baseline)
            runs[symmetry] = None if skip else measure(n, args.values, symmetry, args.budget)
            found = runs[symmetry]
            slow[symmetry] = found is None or 10 * float(str(found["seconds"])) > args.budget
        base = runs[False]
        for symmetry in (False, True):
            found = runs[symmetry]
            if found is None:
                table.add_row(str(n), "on" if symmetry else "off", *["-"] * 8)
                continue
            ratio = "1.00" if not symmetry else "-"
            if symmetry and base is not None:
                ratio = f"{float(str(base['seconds'])) / float(str(found['seconds'])):.2f}"
            table.add_row(
                str(n),
                "on" if symmetry else "off",
                f"{found['states']:,}",
                f"{found['edges']:,}",
                f"{float(str(found['seconds'])):.2f}",
                f"{float(str(found['states_per_second'])):,.0f}",
                f"{float(str(found['edges_per_second'])):,.0f}",
                f"{float(str(found['peak_mib'])):.0f}",
                ratio,
                ", ".join(found["violations"]) or "none",  # type: ignore[arg-type]  # a list of names from JSON
            )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
