"""``mostate verify --complete``: whether the properties decide every answer, and the gaps.

For each operation and actor branch, a row DETERMINED (the properties and invariants leave the
spec's answer alone, from every state that keeps the invariants), GAP (a state and a request with
another answer that keeps every property as well: what a spec author must close, printed with
both answers) or UNKNOWN (the solver gave up, or the time limit). A gap exits 1, like a violation.
"""

from __future__ import annotations

import json
import time
from typing import Any, assert_never

import attrs
from rich.table import Table

from ..model import Outcome
from ..rules import Spec
from ..symbolic import Budget, Undecided
from ..symbolic.completeness import (
    Completeness,
    Determined,
    Gap,
    check_completeness,
    undecided_rows,
)
from .common import EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATED, console
from .limits import within


@attrs.frozen
class Completed:
    """The rows of a completeness run and the seconds it took."""

    rows: tuple[Completeness, ...]
    seconds: float

    def exit_code(self) -> int:
        """1 for a gap, 3 for a row left unknown, else 0."""
        if any(isinstance(r.verdict, Gap) for r in self.rows):
            return EXIT_VIOLATED
        if any(isinstance(r.verdict, Undecided) for r in self.rows):
            return EXIT_UNKNOWN
        return EXIT_OK


def run(spec: Spec, budget: Budget) -> Completed:
    """Every row, within what is left of the run's time limit (cut short: every row UNKNOWN)."""
    start = time.perf_counter()

    rows = within(
        budget,
        lambda: check_completeness(spec, budget=budget),
        lambda: undecided_rows(spec, budget.time_up()),
    )
    return Completed(tuple(rows), time.perf_counter() - start)


def label(row: Completeness) -> str:
    match row.verdict:
        case Determined():
            return "DETERMINED"
        case Gap():
            return "GAP"
        case Undecided():
            return "UNKNOWN"
        case _:
            assert_never(row.verdict)


def print_text(done: Completed) -> None:
    """The table, then each gap with its two answers, then a summary line."""
    out = console()
    table = Table(title="completeness: do the properties decide every answer?")
    for column in ("operation", "actor", "verdict", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {"DETERMINED": "green", "GAP": "bold red", "UNKNOWN": "yellow"}
    for row in done.rows:
        word = label(row)
        why = f" ({row.verdict.reason})" if isinstance(row.verdict, Undecided) else ""
        table.add_row(row.op, row.branch, f"[{styles[word]}]{word}[/]{why}", _ms(row.seconds))
    out.print(table)
    for row in done.rows:
        if isinstance(row.verdict, Gap):
            _print_gap(row, row.verdict)
    counts = {word: sum(label(r) == word for r in done.rows) for word in styles}
    out.print(
        f"{counts['DETERMINED']} determined, {counts['GAP']} gaps, {counts['UNKNOWN']} unknown "
        f"in {done.seconds:.2f} s"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _print_gap(row: Completeness, gap: Gap) -> None:
    out = console()
    out.print(f"\n[bold red]GAP[/] {row.op} as {row.branch}: the properties allow another answer")
    out.print("  before:  " + json.dumps(gap.before.to_json()), markup=False)
    out.print("  request: " + json.dumps(gap.request.to_json()), markup=False)
    out.print("  spec:    " + _answer(gap.spec), markup=False)
    out.print("  other:   " + _answer(gap.other), markup=False)
    out.print(f"  they differ in {' and '.join(gap.differs)}: add a property that tells them apart")


def _answer(outcome: Outcome) -> str:
    shown = outcome.to_json()
    return (
        f"status {shown['status']}, result {json.dumps(shown['result'])}, "
        f"after {json.dumps(shown['state'])}"
    )


def to_json(done: Completed) -> list[dict[str, Any]]:
    """The rows as JSON objects (a gap with its state, request and both answers)."""
    out = []
    for row in done.rows:
        item: dict[str, Any] = {
            "op": row.op,
            "actor": row.branch,
            "verdict": label(row),
            "seconds": round(row.seconds, 6),
        }
        if isinstance(row.verdict, Gap):
            item["gap"] = row.verdict.to_json()
        if isinstance(row.verdict, Undecided):
            item["reason"] = row.verdict.reason
        out.append(item)
    return out
