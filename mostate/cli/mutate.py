"""``mostate mutate``: mutation analysis of a spec, a table of mutants and the mutation score.

Exit codes: 0 when the score reaches ``--fail-under`` (default 100: every mutant that is not
equivalent is killed), 1 below it, 2 usage or spec errors.
"""

from __future__ import annotations

import argparse
import json
import signal
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from ..mutation import (
    OPERATORS,
    Killed,
    Mutant,
    Outcome,
    Report,
    Survived,
    Unknown,
    generate,
    label,
)
from ..mutation.report import analyse, default_jobs
from ..rules import Spec
from ..symbolic import Budget
from . import options
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VIOLATED,
    CliError,
    chosen_spec,
    console,
    print_json,
    spec_from,
)
from .limits import run_budget
from .progress import meter


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("the percentage must be between 0 and 100")
    return value


def register(commands: Any) -> None:
    """Add ``mostate mutate`` to the parser."""
    mutate = commands.add_parser(
        "mutate",
        parents=[
            options.SPEC_ARGUMENT(),
            options.TIMEOUT(),
            options.TIME_LIMIT(),
            options.FORMAT(),
        ],
        help="seed mistakes into the spec's operations and check that its properties catch them",
        description=(
            "Generate mutants of SPEC's operations (refusal conditions, steps, effects, query "
            "results; never its invariants or properties, which are the oracle) and classify "
            "each: killed (some check of the mutated operation is VIOLATED under Z3: the first "
            "that breaks, or every one with --every-kill), equivalent (mostate diff proves it "
            "behaves as SPEC for any number of instances), survived (diff shows a state and "
            "request where it behaves differently and no property notices; the witness is "
            "printed) or unknown (the solver gave up). "
            "The score is killed / (killed + survived + unknown). Exit 0 when the score is at "
            "least --fail-under (default 100: every mutant that is not equivalent is killed), "
            "1 below it, 2 usage or spec error."
        ),
    )
    mutate.add_argument(
        "--operator",
        action="append",
        choices=list(OPERATORS),
        metavar="NAME",
        help=f"only this operator (repeatable): {', '.join(OPERATORS)}",
    )
    mutate.add_argument(
        "--fail-under",
        type=_percent,
        default=100.0,
        metavar="PCT",
        help="exit 1 when the score is below PCT (default 100)",
    )
    mutate.add_argument(
        "--jobs",
        type=options.positive,
        default=None,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    mutate.add_argument(
        "--every-kill",
        action="store_true",
        help="name every property that kills a mutant, not only the first (slower)",
    )
    mutate.set_defaults(handler=_mutate)


def _mutate(args: argparse.Namespace) -> int:
    spec = spec_from(chosen_spec(args))
    mutants = generate(spec, args.operator)
    if not mutants:
        raise CliError("no mutant: the chosen operators change nothing in this spec")
    budget = run_budget(args, args.timeout, Budget().rlimit)
    jobs = args.jobs or default_jobs()
    show = args.format == "text"
    report = _run(spec, mutants, budget, jobs, show, args.every_kill)
    if report.interrupted:
        # What was found is printed whole: another Ctrl-C now would only lose it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.format == "json":
        print_json(_to_json(report, args.fail_under))
    else:
        _print_text(f"{spec.name} ({spec.source})", report)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.score >= args.fail_under else EXIT_VIOLATED


def _run(
    spec: Spec, mutants: Sequence[Mutant], budget: Budget, jobs: int, show: bool, every: bool
) -> Report:
    with meter("mutating", len(mutants), shown=show) as progress:
        return analyse(
            spec,
            mutants,
            budget=budget,
            jobs=jobs,
            every=every,
            progress=lambda _: progress.advance(),
            isolate=True,  # Ctrl-C answered at once, not when Z3 next returns
        )


def _killed_by(outcome: Outcome) -> str:
    verdict = outcome.verdict
    if isinstance(verdict, Killed):
        return ", ".join(name for _, name in verdict.by)
    if isinstance(verdict, Unknown):
        return verdict.reason
    return ""


def _print_text(name: str, report: Report) -> None:
    out = console()
    table = Table(title=f"mostate mutate {name}")
    for column in ("id", "operator", "location"):
        table.add_column(column, no_wrap=True)
    for column in ("description", "verdict", "killed by"):
        table.add_column(column, overflow="fold")
    styles = {"killed": "green", "equivalent": "dim", "survived": "bold red", "unknown": "yellow"}
    for outcome in report.outcomes:
        m, word = outcome.mutant, label(outcome.verdict)
        table.add_row(
            m.id,
            m.operator,
            m.where,
            m.description,
            f"[{styles[word]}]{word}[/]",
            _killed_by(outcome),
        )
    out.print(table)
    for outcome in report.outcomes:
        if isinstance(outcome.verdict, Survived):
            _print_witness(outcome, outcome.verdict)
    out.print(report.summary())


def _print_witness(outcome: Outcome, verdict: Survived) -> None:
    out = console()
    w = verdict.witness
    out.print(f"\n[bold red]SURVIVED[/] {outcome.mutant.id}: {outcome.mutant}", markup=True)
    out.print("  before:  " + json.dumps(w.before.to_json()), markup=False)
    out.print("  request: " + json.dumps(w.request.to_json()), markup=False)
    for who, answer in (("spec", w.under_a), ("mutant", w.under_b)):
        after = json.dumps(answer.state.to_json())
        result = f", result {json.dumps(answer.to_json(with_state=False)['result'])}"
        out.print(
            f"  {who + ':':8} status {int(answer.status)}{result}, after {after}", markup=False
        )
    out.print(f"  differs in: {', '.join(w.differs)}; no property notices", markup=False)


def _to_json(report: Report, fail_under: float) -> dict[str, Any]:
    counts = {word: report.count(word) for word in ("killed", "equivalent", "survived", "unknown")}
    return {
        "spec": report.spec,
        "mutants": [o.to_json() for o in report.outcomes],
        "counts": counts,
        "score": round(report.score, 2),
        "fail_under": fail_under,
        "seconds": round(report.seconds, 3),
        "interrupted": report.interrupted,
        "exit": EXIT_INTERRUPTED
        if report.interrupted
        else EXIT_OK
        if report.score >= fail_under
        else EXIT_VIOLATED,
    }
