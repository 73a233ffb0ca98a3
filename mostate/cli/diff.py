"""``mostate diff A B``: the semantic difference between two specs, per operation and actor.

Each row is EQUIVALENT (proved with Z3 for any number of instances, from every state that keeps
both specs' invariants), DIFFERENT (with a witness, a state and a request that both engines
replay to different outcomes; or a different request shape, or an operation only one spec has)
or UNKNOWN (the solver gave up, or the run's ``--time-limit`` was reached; never read as
equivalent). Exit codes: 0 all equivalent, 1 some operation differs, 2 usage or spec errors, 3
something stayed UNKNOWN (or the solver and the engines disagree: a bug in mostate, reported
loudly).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import time
from typing import Any, assert_never

from rich.table import Table

from ..errors import ReplayError
from ..model import Outcome
from ..symbolic import Different, Equivalent, OpDiff, SpecDiff, StateWitness, Undecided
from . import options
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_VIOLATED,
    CliError,
    console,
    print_json,
    spec_from,
)
from .interrupts import is_interrupt
from .limits import run_budget


def register(commands: Any) -> None:
    """Add ``mostate diff`` to the parser."""
    diff = commands.add_parser(
        "diff",
        parents=[options.TIMEOUT(), options.RLIMIT(), options.TIME_LIMIT(), options.FORMAT()],
        help="compare two specs: which operations behave differently, with a witness",
        description=(
            "Compare what every operation of spec A and spec B does, for each actor and "
            "confirmation branch: EQUIVALENT when every request gets the same status, result and "
            "next state from every state that keeps both specs' invariants (proved for any "
            "number of instances), DIFFERENT with a state and a request that both engines "
            "replay to different outcomes, or UNKNOWN. Exit 0 all equivalent, 1 some operation "
            "differs, 2 usage or spec error, 3 unknown."
        ),
    )
    diff.add_argument("a", metavar="A", help="the first spec file")
    diff.add_argument("b", metavar="B", help="the second spec file")
    diff.add_argument(
        "--op",
        action="append",
        metavar="NAME",
        help="compare only this operation (repeatable; default: every operation)",
    )
    diff.set_defaults(handler=_diff)


def _diff(args: argparse.Namespace) -> int:
    a, b = spec_from(args.a), spec_from(args.b)
    budget = run_budget(args, args.timeout, args.rlimit)
    start = time.perf_counter()
    try:
        rows, interrupted = _compared(SpecDiff(a, b, budget), args.op)
    except ValueError as err:
        raise CliError(str(err)) from None
    except ReplayError as err:
        raise CliError(
            f"INTERNAL ERROR: the solver found a difference the engines do not replay "
            f"({err}); this is a bug in mostate's Z3 compiler, please report it",
            EXIT_UNKNOWN,
        ) from None
    seconds = time.perf_counter() - start
    code = EXIT_INTERRUPTED if interrupted else _exit_code(rows)
    if args.format == "json":
        print_json({**_to_json(a.source, b.source, rows, seconds), "exit": code})
    else:
        _print_text(args.a, args.b, rows, seconds)
        if interrupted:
            console().print(f"INTERRUPTED after {len(rows)} comparisons")
    return code


def _compared(session: SpecDiff, ops: list[str] | None) -> tuple[list[OpDiff], bool]:
    """The rows, and whether Ctrl-C stopped them early (then those compared so far)."""
    rows: list[OpDiff] = []
    try:
        for row in session.rows(ops):
            rows.append(row)
    except (KeyboardInterrupt, ctypes.ArgumentError) as err:
        if not is_interrupt(err):
            raise
        return rows, True
    return rows, False


def _exit_code(rows: list[OpDiff]) -> int:
    if any(isinstance(r.verdict, Different) for r in rows):
        return EXIT_VIOLATED
    if any(isinstance(r.verdict, Undecided) for r in rows):
        return EXIT_UNKNOWN
    return EXIT_OK


def _label(verdict: Equivalent | Different | Undecided) -> str:
    match verdict:
        case Equivalent():
            return "EQUIVALENT"
        case Different():
            return "DIFFERENT"
        case Undecided():
            return "UNKNOWN"
        case _:
            assert_never(verdict)


def _why(verdict: Equivalent | Different | Undecided) -> str:
    """What a verdict adds to its label: the reason, or what the witness shows differing."""
    match verdict:
        case Equivalent():
            return ""
        case Different():
            witness = verdict.witness
            if isinstance(witness, StateWitness):
                return "a state only " + ("A" if not witness.broken_in_a else "B") + " allows"
            return verdict.reason if witness is None else " and ".join(witness.differs)
        case Undecided():
            return verdict.reason
        case _:
            assert_never(verdict)


def _print_text(name_a: str, name_b: str, rows: list[OpDiff], seconds: float) -> None:
    out = console()
    table = Table(title=f"mostate diff {name_a} {name_b} (any number of instances)")
    for column in ("operation", "actor", "verdict", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {"EQUIVALENT": "green", "DIFFERENT": "bold red", "UNKNOWN": "yellow"}
    for row in rows:
        label, why = _label(row.verdict), _why(row.verdict)
        verdict = f"[{styles[label]}]{label}[/]" + (f" ({why})" if why else "")
        table.add_row(row.op, row.branch, verdict, f"{row.seconds * 1000:.1f}")
    out.print(table)
    for row in rows:
        if isinstance(row.verdict, Different) and row.verdict.witness is not None:
            _print_witness(row, row.verdict)
    counts = {label: sum(_label(r.verdict) == label for r in rows) for label in styles}
    out.print(
        ", ".join(f"{n} {label.lower()}" for label, n in counts.items()) + f" in {seconds:.2f} s"
    )


def _print_witness(row: OpDiff, verdict: Different) -> None:
    out, witness = console(), verdict.witness
    assert witness is not None
    if isinstance(witness, StateWitness):
        _print_state_witness(witness)
        return
    verb = "differs" if len(witness.differs) == 1 else "differ"
    out.print(f"\n[bold red]DIFFERENT[/] {row.op} as {row.branch}: {_why(verdict)} {verb}")
    out.print("  before:  " + json.dumps(witness.before.to_json()), markup=False)
    out.print("  request: " + json.dumps(witness.request.to_json()), markup=False)
    out.print("  under A: " + _outcome(witness.under_a), markup=False)
    out.print("  under B: " + _outcome(witness.under_b), markup=False)


def _print_state_witness(witness: StateWitness) -> None:
    """A state one spec's invariants allow and the other's forbid, and what each finds broken."""
    out = console()
    out.print("\n[bold red]DIFFERENT[/] the states the invariants allow:")
    out.print("  state:   " + json.dumps(witness.state.to_json()), markup=False)
    for side, broken in (("A", witness.broken_in_a), ("B", witness.broken_in_b)):
        verdict = "breaks " + ", ".join(broken) if broken else "allows it"
        out.print(f"  under {side}: {verdict}", markup=False)


def _outcome(outcome: Outcome) -> str:
    shown = outcome.to_json()
    return (
        f"status {shown['status']}, result {json.dumps(shown['result'])}, "
        f"after {json.dumps(shown['state'])}"
    )


def _to_json(source_a: str, source_b: str, rows: list[OpDiff], seconds: float) -> dict[str, Any]:
    out = []
    for row in rows:
        entry: dict[str, Any] = {
            "op": row.op,
            "actor": row.branch,
            "verdict": _label(row.verdict),
            "seconds": round(row.seconds, 6),
        }
        if isinstance(row.verdict, Undecided | Different):
            entry["reason"] = row.verdict.reason
        if isinstance(row.verdict, Different) and row.verdict.witness is not None:
            entry["witness"] = row.verdict.witness.to_json()
        out.append(entry)
    return {
        "a": source_a,
        "b": source_b,
        "exit": _exit_code(rows),
        "seconds": round(seconds, 6),
        "ops": out,
    }
