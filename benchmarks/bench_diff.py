"""How long `mostate diff` takes on two versions of the shipped spec (target: under 5 s).

    python benchmarks/bench_diff.py [--repeat 3] [--mutant switch-away-from-locked]

Prints a table: rows compared, equivalent and different rows, wall-clock seconds (best of
--repeat) for the shipped spec against itself, against a refactored equivalent version, against
a mutant, and against the mutant on its changed operation only (what `mostate mutate` asks for
each mutant), each with the ratio to the baseline measured in the same run: `mostate verify`'s
unbounded proof of the shipped spec (every check, no trace search).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from mostate import default_spec_path, load_spec, parse_spec
from mostate.rules import Spec
from mostate.symbolic import Different, Equivalent, Verifier, diff_specs

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

REFACTORING = (
    (
        'when = "locked(target) or (value and any(j, active(j) and locked(j) and j != target))"',
        'when = "(value and any(j, locked(j) and active(j) and target != j)) or locked(target)"',
    ),
    (
        'effect.active = "if i == target then value else active(i) and not value"',
        'effect.active = "(i == target and value) or (i != target and active(i) and not value)"',
    ),
    ('when = "not exists(target)"', 'when = "exists(target) == false"'),
)
"""Textual rewrites that change three operations' text but none of their behaviour."""


def refactored() -> Spec:
    text = default_spec_path().read_text(encoding="utf-8")
    for old, new in REFACTORING:
        assert old in text, old
        text = text.replace(old, new)
    return parse_spec(text, "refactored.toml")


def best(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Best wall-clock time of ``repeat`` runs (at least one), and the last run's value."""
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mutant", default="switch-away-from-locked")
    args = parser.parse_args()
    shipped = load_spec()
    mutant = load_spec(ROOT / "specs" / "mutants" / f"{args.mutant}.toml")
    changed = [name for name in shipped.ops if shipped.ops[name] != mutant.ops.get(name)]
    base, _ = best(lambda: list(Verifier(shipped, depth=0).checks()), args.repeat)
    cases: list[tuple[str, Spec, list[str] | None]] = [
        ("itself", shipped, None),
        ("refactored (equivalent)", refactored(), None),
        (f"mutant {args.mutant}", mutant, None),
        (f"mutant, --op {' --op '.join(changed)}", mutant, changed),
    ]
    table = Table(title="mostate diff of the shipped spec (ccs.toml) against ...")
    for column in ("against", "rows", "equivalent", "different", "seconds", "x verify"):
        table.add_column(column, justify="left" if column == "against" else "right")
    table.add_row("(baseline: mostate verify, unbounded)", "", "", "", f"{base:.3f}", "1.00")
    for label, other, ops in cases:
        seconds, rows = best(functools.partial(diff_specs, shipped, other, ops=ops), args.repeat)
        table.add_row(
            label,
            str(len(rows)),
            str(sum(isinstance(r.verdict, Equivalent) for r in rows)),
            str(sum(isinstance(r.verdict, Different) for r in rows)),
            f"{seconds:.3f}",
            f"{seconds / base:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
