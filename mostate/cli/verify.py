"""``mostate verify``: prove a spec with Z3 and print the table and every counterexample.

Exit codes: 0 everything proved, 1 a property is violated (each counterexample is replayed by
the engine before it is printed), 2 usage or spec errors, 3 something stayed UNKNOWN (or the
solver and the engine disagree: a bug in mostate, reported loudly).

After the proofs, a second table shows a witness that every refusal, confirmation point and
effect can fire and that every premise ``A`` of an implication ``A -> B``, at any depth of a
property or an invariant, can hold
(:func:`mostate.symbolic.check_liveness`). A dead rule or a vacuous property is a warning; with
``--strict`` it exits 1 (and a rule whose liveness stayed unknown exits 3).

``--complete`` adds a third table, whether the properties decide every answer
(:mod:`mostate.cli.completeness`); ``--cross-check`` asks cvc5 every query Z3 decided
(:mod:`mostate.symbolic.crosscheck`). ``--time-limit`` bounds the whole run, every phase
included (:mod:`mostate.cli.limits`).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import signal
import time
from pathlib import Path
from typing import Any, assert_never

import attrs
from rich.table import Table

from ..errors import ReplayError, SolversDisagree
from ..rules import Spec
from ..symbolic import (
    Budget,
    Check,
    Dead,
    Live,
    Liveness,
    Proved,
    Undecided,
    Verifier,
    Violated,
    check_liveness,
)
from ..symbolic.liveness import undecided_rules
from ..symbolic.verifier import SecondOpinion
from . import completeness, options
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_VIOLATED,
    CliError,
    check_writable,
    chosen_spec,
    console,
    print_json,
    spec_from,
)
from .interrupts import is_interrupt
from .limits import GRACE, Alarm, TimeUp, run_budget, seconds_left, within
from .progress import meter


def _depth(text: str) -> int:
    return 0 if text == "0" else options.positive(text)


def register(commands: Any) -> None:
    """Add ``mostate verify`` to the parser."""
    verify = commands.add_parser(
        "verify",
        parents=[
            options.SPEC_ARGUMENT(),
            options.TIMEOUT(),
            options.RLIMIT(),
            options.TIME_LIMIT(),
            options.FORMAT(),
        ],
        help="prove the spec's invariants and properties with Z3 (any number of instances)",
        description=(
            "Prove every invariant, transition property and independence of SPEC for every "
            "operation, actor and confirmation branch, for any number of instances (or exactly "
            "N instance names with --bound N). A failed check prints a counterexample replayed "
            "through the engine and, when one exists within --depth requests, a trace from the "
            "empty device (as JSON lines `mostate run` accepts). Exit 0 proved, 1 violated, "
            "2 usage or spec error, 3 unknown."
        ),
    )
    verify.add_argument(
        "--bound", type=options.positive, metavar="N", help="exactly N instance names"
    )
    verify.add_argument(
        "--depth", type=_depth, default=4, metavar="K", help="trace search depth (default 4)"
    )
    verify.add_argument(
        "--cross-check",
        action="store_true",
        help="ask cvc5 every query Z3 decides (needs the cross-check extra); the solvers "
        "disagreeing is an error naming the check (exit 3)",
    )
    verify.add_argument(
        "--complete",
        action="store_true",
        help="also ask whether the properties decide every answer: a GAP shows a state and a "
        "request with another answer that keeps every property (exit 1)",
    )
    verify.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a rule can never fire or a property's premise never holds",
    )
    verify.add_argument(
        "--out",
        metavar="TRACE.jsonl",
        help="write the first counterexample there, a trace `mostate run` replays (from the "
        "empty device when one was found within --depth, else from the state before the step)",
    )
    verify.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    spec = spec_from(chosen_spec(args))
    if args.out:
        check_writable(args.out, "--out")
    try:
        found = _prove(args, spec)
    except ReplayError as err:
        raise CliError(
            f"INTERNAL ERROR: the solver found a counterexample the engine does not replay "
            f"({err}); this is a bug in mostate's Z3 compiler, please report it",
            EXIT_UNKNOWN,
        ) from None
    except SolversDisagree as err:
        raise CliError(
            f"INTERNAL ERROR: {err}; this is a bug in a solver or in mostate's encoding, "
            "please report it",
            EXIT_UNKNOWN,
        ) from None
    if isinstance(found, int):  # Ctrl-C: what was decided is printed
        return found
    checks, rules, complete = found
    code = _strict_exit_code(_exit_code(checks), rules.rows) if args.strict else _exit_code(checks)
    if complete is not None:
        code = worst(code, complete.exit_code())
    if args.out:
        _write_counterexample(args.out, spec.source, checks, quiet=args.format == "json")
    if args.format == "json":
        report = _to_json(spec.source, args.bound, checks)
        extra = {} if complete is None else {"completeness": completeness.to_json(complete)}
        print_json({**report, "exit": code, "liveness": _rules_json(rules.rows), **extra})
    else:
        _print_text(f"{spec.name} ({spec.source})", args.bound, checks, rules, complete)
    return code


def _prove(
    args: argparse.Namespace, spec: Spec
) -> tuple[list[Check], _Rules, completeness.Completed | None] | int:
    """The proofs, the rules table and (``--complete``) the completeness table, within the
    run's time limit; the exit code of an interrupted run instead, once it is printed."""
    budget = run_budget(args, args.timeout, args.rlimit)
    second = _cvc5_opinion(budget) if args.cross_check else None
    verifier = Verifier(spec, bound=args.bound, depth=args.depth, budget=budget, second=second)
    show = args.format == "text"
    checks = _run(verifier, show, seconds_left(budget) + GRACE, reason=budget.time_up())
    if _interrupted(checks):
        return _report_interrupted(args, spec.name, spec.source, checks)
    try:
        rules = _rules(verifier, args.depth, checks)
        complete = completeness.run(spec, budget) if args.complete else None
    except (KeyboardInterrupt, ctypes.ArgumentError) as err:
        if not is_interrupt(err):
            raise
        return _report_interrupted(args, spec.name, spec.source, checks)
    return checks, rules, complete


def _cvc5_opinion(budget: Budget) -> SecondOpinion:
    """cvc5's say on every check (:mod:`mostate.symbolic.crosscheck`), imported only when asked
    for: cvc5 is an extra, and without it the command says which to install."""
    from ..symbolic.crosscheck import cross_check

    return cross_check(budget)


def worst(*codes: int) -> int:
    """The exit code of several verdicts: 1 if any violated, else 3 if any unknown, else 0.

    >>> worst(0, 3), worst(3, 1), worst(0, 0)
    (3, 1, 0)
    """
    for code in (EXIT_VIOLATED, EXIT_UNKNOWN):
        if code in codes:
            return code
    return EXIT_OK


def _run(
    verifier: Verifier, show_progress: bool, limit: float | None = None, reason: str | None = None
) -> list[Check]:
    """Every check, or, once ``limit`` seconds have passed, those decided so far and the rest
    as UNKNOWN (with ``reason``): a query that takes long to build is cut short too, not only a
    solver call."""
    planned = verifier.planned()
    out: list[Check] = []
    alarm = Alarm()
    try:
        with alarm.set(limit), meter("proving", len(planned), shown=show_progress) as progress:
            for check in verifier.checks():
                out.append(check)
                progress.advance()
    except KeyboardInterrupt:
        return _undecided(planned, out, INTERRUPTED)
    except (TimeUp, Exception) as err:
        # The alarm interrupts whatever runs; inside a ctypes call into Z3 its exception comes
        # out wrapped (ctypes.ArgumentError: "TimeUp"), so any exception once it has rung is
        # the time limit, a wrapped Ctrl-C is one, and any other is a real error.
        if is_interrupt(err):
            return _undecided(planned, out, INTERRUPTED)
        if not alarm.rang:
            raise
        return _undecided(planned, out, reason or f"time limit of {limit:g} s reached")
    return out


def _write_counterexample(path: str, source: str, checks: list[Check], *, quiet: bool) -> None:
    """The first violation's trace, as JSON lines ``mostate run`` replays (nothing written when
    every check holds: an old trace there is removed, so it is never taken for this run's)."""
    violated = [c for c in checks if isinstance(c.verdict, Violated)]
    target = Path(path)
    if not violated:
        target.unlink(missing_ok=True)
        return
    verdict = violated[0].verdict
    assert isinstance(verdict, Violated)
    trace = verdict.reachable if verdict.reachable is not None else verdict.trace
    target.write_text(trace.to_jsonl(), encoding="utf-8")
    if not quiet:
        console(stderr=True).print(
            f"counterexample to {violated[0].name} written to {path} "
            f"(`mostate run --spec {source} {path}`)",
            markup=False,
        )


INTERRUPTED = "INTERRUPTED (Ctrl-C)"
"""The reason of every check Ctrl-C left undecided."""


def _undecided(planned: Any, out: list[Check], reason: str) -> list[Check]:
    """The checks decided so far, then every other planned one UNKNOWN for ``reason``."""
    done = {(c.name, c.op, c.branch) for c in out}
    return out + [
        Check(name, kind, op, branch, Undecided(reason), 0.0)
        for name, kind, op, branch in planned
        if (name, op, branch) not in done
    ]


def _interrupted(checks: list[Check]) -> bool:
    return any(isinstance(c.verdict, Undecided) and c.verdict.reason == INTERRUPTED for c in checks)


def _report_interrupted(
    args: argparse.Namespace, name: str, source: str, checks: list[Check]
) -> int:
    """What Ctrl-C left: the checks decided so far (the rest UNKNOWN), no rules table; exit 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # printed whole: another Ctrl-C would lose it
    if args.format == "json":
        print_json({**_to_json(source, args.bound, checks), "exit": EXIT_INTERRUPTED})
    else:
        _print_text(f"{name} ({source})", args.bound, checks)
        decided = sum(
            not (isinstance(c.verdict, Undecided) and c.verdict.reason == INTERRUPTED)
            for c in checks
        )
        rest = "" if decided < len(checks) else " (the rules table was not finished)"
        console().print(f"INTERRUPTED after {decided} of {len(checks)} checks{rest}")
    return EXIT_INTERRUPTED


def _exit_code(checks: list[Check]) -> int:
    if any(isinstance(c.verdict, Violated) for c in checks):
        return EXIT_VIOLATED
    if any(isinstance(c.verdict, Undecided) for c in checks):
        return EXIT_UNKNOWN
    return EXIT_OK


def _label(verdict: Proved | Violated | Undecided) -> str:
    match verdict:
        case Proved():
            return "PROVED"
        case Violated():
            return "VIOLATED"
        case Undecided():
            return "UNKNOWN"
        case _:
            assert_never(verdict)


def _print_text(
    name: str,
    bound: int | None,
    checks: list[Check],
    rules: _Rules | None = None,
    complete: completeness.Completed | None = None,
) -> None:
    out = console()
    scope = f"exactly {bound} instance names" if bound else "any number of instances"
    table = Table(title=f"mostate verify {name}: {scope}")
    for column in ("property", "operation", "actor", "verdict", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {"PROVED": "green", "VIOLATED": "bold red", "UNKNOWN": "yellow"}
    for check in sorted(checks, key=lambda c: (c.name, c.op, c.branch)):
        label = _label(check.verdict)
        why = f" ({check.verdict.reason})" if isinstance(check.verdict, Undecided) else ""
        table.add_row(
            check.name,
            check.op or "(empty device)",
            check.branch or "-",
            f"[{styles[label]}]{label}[/]{why}",
            f"{check.seconds * 1000:.1f}",
        )
    out.print(table)
    for check in checks:
        if isinstance(check.verdict, Violated):
            _print_counterexample(check, check.verdict, rules.depth if rules else None)
    if rules is not None:
        _print_rules(rules)
    if complete is not None:
        completeness.print_text(complete)
    if any(c.second is not None for c in checks):
        out.print(_cross_summary(checks))
    counts = {label: sum(_label(c.verdict) == label for c in checks) for label in styles}
    total = sum(c.seconds for c in checks)
    out.print(
        ", ".join(f"{n} {label.lower()}" for label, n in counts.items()) + f" in {total:.2f} s"
    )


def _cross_summary(checks: list[Check]) -> str:
    """How many checks cvc5 was asked about and gave the answer Z3 gave."""
    asked = [c for c in checks if c.second is not None]
    agreed = sum(c.second in ("unsat", "sat") for c in asked)
    return f"cross-check: cvc5 agrees on {agreed} of {len(asked)} checks"


def _print_counterexample(check: Check, verdict: Violated, depth: int | None) -> None:
    out = console()
    step = verdict.transition
    if step is None:
        out.print(f"\n[bold red]VIOLATED[/] {check.name}: the empty device breaks it (no request)")
        return
    out.print(f"\n[bold red]VIOLATED[/] {check.name}: {check.op} as {check.branch}")
    out.print("  before:  " + json.dumps(step.before.to_json()), markup=False)
    out.print("  request: " + json.dumps(step.request.to_json()), markup=False)
    after = json.dumps(step.outcome.state.to_json())
    out.print(f"  after:   {after}  (status {int(step.outcome.status)})", markup=False)
    if verdict.reachable is not None:
        n = len(verdict.reachable.requests)
        out.print(f"  reachable from the empty device in {n} requests; `mostate run` this trace:")
        out.print(verdict.reachable.to_jsonl().rstrip(), markup=False)
    else:
        if verdict.gave_up is not None:
            out.print(f"  the search for a trace from the empty device gave up {verdict.gave_up};")
        else:
            within = f"{depth} requests" if depth is not None else "the search depth"
            out.print(f"  no trace from the empty device within {within}: a counterexample to")
            out.print("  induction, or a bug deeper than that (search further with --depth N);")
        out.print("`mostate run` this trace to replay the step:")
        out.print(verdict.trace.to_jsonl().rstrip(), markup=False)


def _to_json(source: str, bound: int | None, checks: list[Check]) -> dict[str, Any]:
    rows = []
    for check in checks:
        row: dict[str, Any] = {
            "property": check.name,
            "kind": check.kind,
            "op": check.op or None,
            "actor": check.branch or None,
            "verdict": _label(check.verdict),
            "seconds": round(check.seconds, 6),
        }
        if isinstance(check.verdict, Undecided):
            row["reason"] = check.verdict.reason
        if isinstance(check.verdict, Violated):
            row["counterexample"] = _counterexample_json(check.verdict)
        if check.second is not None:
            row["cvc5"] = check.second
        rows.append(row)
    return {"spec": source, "bound": bound, "exit": _exit_code(checks), "checks": rows}


def _counterexample_json(verdict: Violated) -> dict[str, Any]:
    step, reach = verdict.transition, verdict.reachable
    out: dict[str, Any] = {
        "before": verdict.trace.start.to_json(),
        "request": None,
        "after": None,
        "status": None,
        "trace": verdict.trace.to_json(),
        "reachable": reach.to_json() if reach is not None else None,
        "search_gave_up": verdict.gave_up,
    }
    if step is not None:
        out["request"] = step.request.to_json()
        out["after"] = step.outcome.state.to_json()
        out["status"] = int(step.outcome.status)
    return out


# -- the rules table: a witness that every rule can fire ---------------------------------------


@attrs.frozen
class _Rules:
    rows: tuple[Liveness, ...]
    seconds: float
    depth: int


def _rules(verifier: Verifier, depth: int, checks: list[Check]) -> _Rules:
    """The rules table, within what is left of the run's time limit: the solver's checks stop
    at the deadline, and the alarm cuts the rest short soon after (every rule then UNKNOWN)."""
    start = time.perf_counter()
    bound, budget = verifier.z.bound, verifier.budget
    proved = bound is None and all(isinstance(c.verdict, Proved) for c in checks)
    rows = within(
        budget,
        lambda: check_liveness(
            verifier.spec, bound=bound, depth=depth, budget=budget, proved=proved
        ),
        lambda: undecided_rules(verifier.spec, budget.time_up()),
    )
    return _Rules(tuple(rows), time.perf_counter() - start, depth)


def _warned(row: Liveness) -> bool:
    return isinstance(row.verdict, Dead)


def _strict_exit_code(code: int, rows: tuple[Liveness, ...]) -> int:
    """Under --strict: a dead rule or a vacuous premise is a failure like a violation; a rule
    whose liveness stayed unknown, like an unknown proof."""
    if code == EXIT_VIOLATED or any(_warned(r) for r in rows):
        return EXIT_VIOLATED
    if code == EXIT_UNKNOWN or any(isinstance(r.verdict, Undecided) for r in rows):
        return EXIT_UNKNOWN
    return code


def _rule_label(row: Liveness) -> str:
    premise = row.kind == "premise"
    match row.verdict:
        case Live():
            return "SATISFIABLE" if premise else "LIVE"
        case Dead():
            return "VACUOUS" if premise else "DEAD"
        case Undecided():
            return "UNKNOWN"
        case _:
            assert_never(row.verdict)


def _witness_cell(row: Liveness) -> str:
    """How many requests the witness has; starred when it starts from a state the search did not
    reach from the empty device."""
    if not isinstance(row.verdict, Live):
        return "-"
    n = len(row.verdict.witness.requests)
    return str(n) if row.verdict.reachable else f"{n}*"


def _print_rules(rules: _Rules) -> None:
    out = console()
    table = Table(title="rules: a witness that each can fire (premises: can hold)")
    for column in ("operation", "step", "kind", "actor", "verdict", "witness"):
        table.add_column(column, justify="right" if column == "witness" else "left")
    styles = {"LIVE": "green", "SATISFIABLE": "green", "UNKNOWN": "yellow"}
    for row in rules.rows:
        label = _rule_label(row)
        style = styles.get(label, "bold yellow")
        why = f" ({row.verdict.reason})" if isinstance(row.verdict, Undecided) else ""
        warning = " WARNING" if _warned(row) else ""
        step = row.rule.removeprefix(f"{row.op}: ")
        table.add_row(
            row.op or "-",
            step,
            row.kind,
            row.branch or "-",
            f"[{style}]{label}[/]{warning}{why}",
            _witness_cell(row),
        )
    out.print(table)
    if any(_witness_cell(row).endswith("*") for row in rules.rows):
        out.print(f"* fires only from states not reached within depth {rules.depth}: the witness")
        out.print("  starts from a state that satisfies the invariants (see --format json)")
    cut = {r.verdict.gave_up for r in rules.rows if isinstance(r.verdict, Live)}
    for why in sorted(why for why in cut if why is not None):
        out.print(f"  (the search from the empty device stopped short for some: {why})")
    for row in rules.rows:
        if _warned(row) and row.kind == "premise":
            out.print(f"[bold yellow]WARNING[/] vacuous property {row.rule}: its premise never")
            out.print("  holds in a state that satisfies the invariants, so its proof says nothing")
        elif _warned(row):
            out.print(f"[bold yellow]WARNING[/] dead {row.kind} {row.rule}: it never fires")
            out.print("  from a state that satisfies the invariants, for any request")
    out.print(_rules_summary(rules))


def _rules_summary(rules: _Rules) -> str:
    steps = [r for r in rules.rows if r.kind != "premise"]
    premises = [r for r in rules.rows if r.kind == "premise"]
    live = sum(isinstance(r.verdict, Live) for r in steps)
    held = sum(isinstance(r.verdict, Live) for r in premises)
    dead = sum(isinstance(r.verdict, Dead) for r in steps)
    vacuous = sum(isinstance(r.verdict, Dead) for r in premises)
    text = f"{live} rules live, {dead} dead; {held} premises satisfiable, {vacuous} vacuous"
    unknown = sum(isinstance(r.verdict, Undecided) for r in rules.rows)
    if unknown:
        text += f"; {unknown} unknown"
    unreached = sum(isinstance(r.verdict, Live) and not r.verdict.reachable for r in rules.rows)
    if unreached:
        text += f" ({unreached} only from states not reached within depth {rules.depth})"
    return text + f" in {rules.seconds:.2f} s"


def _rules_json(rows: tuple[Liveness, ...]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item: dict[str, Any] = {
            "rule": row.rule,
            "kind": row.kind,
            "op": row.op or None,
            "actor": row.branch or None,
            "verdict": {"SATISFIABLE": "LIVE", "VACUOUS": "DEAD"}.get(
                label := _rule_label(row), label
            ),
            "warning": _warned(row),
            "witness": None,
        }
        if isinstance(row.verdict, Live):
            item["witness"] = {
                "requests": len(row.verdict.witness.requests),
                "reachable": row.verdict.reachable,
                "search_gave_up": row.verdict.gave_up,
                "trace": row.verdict.witness.to_json(),
            }
        if isinstance(row.verdict, Undecided):
            item["reason"] = row.verdict.reason
        out.append(item)
    return out
