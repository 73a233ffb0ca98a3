"""How long `mostate mutate` takes on the shipped spec, against one unbounded `mostate verify`.

    python benchmarks/bench_mutate.py [--jobs 1,2] [--operator NAME ...]

Prints a table: for the baseline (one unbounded proof of the whole shipped spec, no trace
search, as `mostate verify --depth 0` runs it) and for a mutation run with each number of worker
processes in --jobs, the wall-clock seconds, the mutants made and classified, and the ratio to the
baseline measured in the same run. Target: every mutant of the shipped spec classified in under
60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from mostate import load_spec
from mostate.mutation import OPERATORS, analyse, generate
from mostate.symbolic import Verifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", default="1,2", help="worker counts to time, comma-separated")
    parser.add_argument("--operator", action="append", choices=list(OPERATORS), metavar="NAME")
    args = parser.parse_args()
    spec = load_spec()
    start = time.perf_counter()
    checks = len(list(Verifier(spec, depth=0).checks()))
    baseline = time.perf_counter() - start
    table = Table(title="mostate mutate on specs/ccs.toml (target: all mutants < 60 s)")
    for column in ("run", "items", "seconds", "ratio", "result"):
        table.add_column(column, justify="left" if column in ("run", "result") else "right")
    table.add_row("verify (baseline)", f"{checks} checks", f"{baseline:.2f}", "1.0", "")
    mutants = generate(spec, args.operator)
    for jobs in (int(j) for j in args.jobs.split(",")):
        report = analyse(spec, mutants, jobs=jobs)
        table.add_row(
            f"mutate --jobs {jobs}",
            f"{len(mutants)} mutants",
            f"{report.seconds:.2f}",
            f"{report.seconds / baseline:.1f}",
            report.summary().split(": ", 1)[1],
        )
    Console().print(table)


if __name__ == "__main__":
    main()
