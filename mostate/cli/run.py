"""``mostate run``, ``check`` and ``scenario``: executing trace files through the engine."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

import attrs
from rich.table import Table

from ..engine import Engine
from ..model import DeviceState, Outcome, Status
from ..patch import state_changes
from ..trace import TraceLine, run_lines
from . import options
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATED,
    CliError,
    console,
    engine_from,
    print_json,
    shipped,
    state_from,
    trace_from,
)


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        parents=[options.SPEC()],
        help="apply a trace of requests (JSON lines) and print each outcome",
        description=(
            "Apply each request of TRACE.jsonl ('-': standard input) in turn and print one JSON "
            'line per request: {"status", "result", "reason", "clause", "changes"}, where '
            "changes is what the step did to the state as a JSON Merge Patch (RFC 7386: null "
            "for an instance gone; {} for nothing); --full-state prints the whole state instead. "
            "A line that cannot be read (not JSON, not UTF-8, not a request) answers 400 and the "
            'run goes on. A first line {"start": STATE} sets the starting state. Exit 0 when '
            "every line was read, 2 when some line could not be, i.e. was answered 400 (or the "
            "start state does not read or breaks an invariant)."
        ),
    )
    run.add_argument(
        "--state", metavar="STATE.json", help="the state to start from (default: empty)"
    )
    shown = run.add_mutually_exclusive_group()
    shown.add_argument(
        "--status-only", action="store_true", help="leave the state's changes out of each line"
    )
    shown.add_argument(
        "--full-state", action="store_true", help="the whole state after each line, not changes"
    )
    run.add_argument(
        "trace", metavar="TRACE.jsonl", help="one JSON request per line ('-': standard input)"
    )
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check",
        parents=[options.SPEC(), options.FORMAT()],
        help="compare a device log (requests with expected answers) with the spec",
        description=(
            'Each line of TRACE.jsonl may carry "expect": {"status": N, "state"?: STATE}, what a '
            "real device answered. Every divergence is reported with its line number and a diff; "
            "exit 1 if there is any."
        ),
    )
    check.add_argument(
        "--state", metavar="STATE.json", help="the state to start from (default: empty)"
    )
    check.add_argument(
        "trace", metavar="TRACE.jsonl", help='the device log: requests with "expect" answers'
    )
    check.set_defaults(handler=_check)

    scenario = commands.add_parser(
        "scenario",
        parents=[options.SPEC(), options.FORMAT()],
        help="run scenario files (traces with expected answers) and summarise",
        description="Run each scenario file like `mostate check` and print a summary table.",
    )
    scenario.add_argument("files", metavar="FILE", nargs="+", help="scenario files (JSON lines)")
    scenario.set_defaults(handler=_scenario)


def _run(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    start, lines = trace_from(args.trace, engine)
    state = state_from(args.state, engine) if args.state else start or DeviceState()
    malformed: list[tuple[int, str]] = []
    for line, outcome in zip(lines, run_lines(engine, state, lines), strict=True):
        print(json.dumps(_shown(outcome, state, args)))
        state = outcome.state
        if outcome.status is Status.BAD_REQUEST:
            malformed.append((line.number, outcome.reason or "malformed"))
    if malformed:
        number, why = malformed[0]
        print(
            f"mostate: {args.trace}: {len(malformed)} line(s) could not be read (answered 400); "
            f"the first: {why if why.startswith('line ') else f'line {number}: {why}'}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


def _shown(outcome: Outcome, before: DeviceState, args: argparse.Namespace) -> dict[str, Any]:
    """One line of ``run``'s output: the answer, and what the step changed (or the whole state
    with --full-state, or nothing with --status-only)."""
    line = outcome.to_json(with_state=args.full_state)
    if not args.status_only and not args.full_state:
        line["changes"] = state_changes(before, outcome.state)
    return line


@attrs.frozen
class Divergence:
    """Where a device log and the spec disagree."""

    line: int
    message: str
    diff: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "diff": self.diff}


def diverging(engine: Engine, state: DeviceState, lines: list[TraceLine]) -> list[Divergence]:
    """Every line whose expected answer differs from what the spec gives, and every line that
    could not be read and expects no 400: a log the checker could not read never passes.

    A line is read exactly as ``mostate run`` reads it: one the engine answers 400 (an unknown
    operation, an argument of the wrong type) could not be read either, though it parsed.
    """
    out = []
    for line, outcome in zip(lines, run_lines(engine, state, lines), strict=True):
        if line.expect is not None:
            out.extend(_compare(line, outcome))
        elif outcome.status is Status.BAD_REQUEST:
            why = (line.error or outcome.reason or "malformed").removeprefix(
                f"line {line.number}: "
            )
            out.append(Divergence(line.number, f"could not be read ({why})"))
    return out


def _compare(line: TraceLine, outcome: Outcome) -> list[Divergence]:
    expect = line.expect
    if not isinstance(expect, dict) or not set(expect) <= {"status", "state", "result"}:
        return [
            Divergence(line.number, '"expect" must be an object with "status", "state", "result"')
        ]
    out = []
    if "status" in expect and type(expect["status"]) is not int:
        shown = json.dumps(expect["status"])
        return [Divergence(line.number, f'"expect": "status" must be a number, not {shown}')]
    if "status" in expect and expect["status"] != int(outcome.status):
        why = f" ({outcome.reason})" if outcome.reason else ""
        out.append(
            Divergence(
                line.number, f"status: device {expect['status']}, spec {int(outcome.status)}{why}"
            )
        )
    if "result" in expect and expect["result"] != outcome.to_json()["result"]:
        out.append(
            Divergence(
                line.number, "result differs", _diff(expect["result"], outcome.to_json()["result"])
            )
        )
    if "state" in expect and expect["state"] != outcome.state.to_json():
        out.append(
            Divergence(
                line.number, "state differs", _diff(expect["state"], outcome.state.to_json())
            )
        )
    return out


def _diff(device: Any, spec: Any) -> str:
    a = json.dumps(device, indent=2, sort_keys=True).splitlines()
    b = json.dumps(spec, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "device", "spec", lineterm=""))


def _check(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    start, lines = trace_from(args.trace, engine)
    state = state_from(args.state, engine) if args.state else start or DeviceState()
    found = diverging(engine, state, lines)
    if args.format == "json":
        print_json(
            {
                "spec": engine.spec.source,
                "trace": args.trace,
                "divergences": [d.to_json() for d in found],
            }
        )
    else:
        _print_divergences(args.trace, found)
        checked = sum(1 for line in lines if line.expect is not None)
        console().print(
            f"{args.trace}: {checked} expectations, {len(found)} divergences "
            f"(spec {engine.spec.source})"
        )
    return EXIT_VIOLATED if found else EXIT_OK


def _print_divergences(name: str, found: list[Divergence]) -> None:
    out = console()
    for d in found:
        out.print(f"[bold red]{name}:{d.line}[/]: {d.message}")
        if d.diff:
            out.print(d.diff, markup=False)


def _scenario(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    table = Table(title=f"Scenarios on {engine.spec.name} ({engine.spec.source})")
    for column in ("scenario", "requests", "expectations", "divergences"):
        table.add_column(column)
    report, failed = [], 0
    for file in args.files:
        file = shipped(file, "scenario", "scenarios", ".jsonl") or file
        start, lines = trace_from(file, engine, "scenario")
        found = diverging(engine, start or DeviceState(), lines)
        failed += bool(found)
        expectations = sum(1 for line in lines if line.expect is not None)
        if expectations == 0:
            raise CliError(f'{file}: a scenario needs at least one "expect"')
        report.append(
            {
                "scenario": file,
                "requests": len(lines),
                "expectations": expectations,
                "divergences": [d.to_json() for d in found],
            }
        )
        style = "red" if found else "green"
        table.add_row(
            Path(file).name, str(len(lines)), str(expectations), f"[{style}]{len(found)}[/]"
        )
        if args.format == "text":
            _print_divergences(file, found)
    if args.format == "json":
        print_json({"spec": engine.spec.source, "scenarios": report})
    else:
        console().print(table)
    return EXIT_VIOLATED if failed else EXIT_OK
