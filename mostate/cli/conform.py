"""``mostate conform``: compare an implementation (through its adapter) with the spec."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from rich.table import Table

from ..durable import write_durably
from . import options
from .common import (
    EXIT_OK,
    EXIT_VIOLATED,
    CliError,
    check_writable,
    console,
    engine_from,
    print_json,
)


def register(commands: Any) -> None:
    """Add ``mostate conform`` to the `mostate` parser."""
    conform = commands.add_parser(
        "conform",
        parents=[options.SPEC(), options.FORMAT()],
        help="drive an implementation with the spec's requests and compare it with the spec",
        description=(
            "Load the adapter factory MODULE:FACTORY (a dotted module, or a path to a .py file), "
            "send the same request sequences to a fresh device and to the spec's engine, and "
            "compare status, result and observed state after every step: first an edge-complete "
            "suite (every request of a small scope, one service and two instance names, in "
            "every state the scope reaches, after a shortest path there), so that a bug of one "
            "transition is found on any seed; then random sequences. The first divergence is "
            "minimised and printed as a trace whose 'expect' fields hold the device's answers "
            "(`mostate check` replays it). Exit 1 on a divergence."
        ),
    )
    conform.add_argument(
        "factory",
        metavar="MODULE:FACTORY",
        help="your adapter: a module or .py file and the class that makes a fresh device",
    )
    conform.add_argument(
        "--examples", type=int, default=100, help="random sequences to try after the suite"
    )
    conform.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the random sequences (default: a fresh one, printed to repeat the run)",
    )
    conform.add_argument(
        "--no-suite",
        action="store_true",
        help="leave out the edge-complete suite of the small scope (random sequences only)",
    )
    conform.add_argument(
        "--cover",
        action="store_true",
        help="report the states and (op, actor, status) triples of the small scope that the "
        "edge-complete suite and the random sequences each visited, and what they missed",
    )
    conform.add_argument("--out", metavar="TRACE.jsonl", help="also write the divergence here")
    conform.set_defaults(handler=_conform)


def _conform(args: argparse.Namespace) -> int:
    # Hypothesis is imported here, not when the CLI starts: other commands stay quick.
    from ..testing import load_factory
    from ..testing.run import conform

    if args.examples < 1:
        raise CliError("--examples must be at least 1")
    if args.out:
        check_writable(args.out, "--out")
    engine = engine_from(args.spec)
    try:
        factory = load_factory(args.factory)
    except ValueError as err:
        raise CliError(str(err)) from None
    logging.getLogger("mostate").setLevel(logging.ERROR)
    found: Any
    report, found = conform(
        engine, factory, args.examples, args.seed, suite=not args.no_suite, cover=args.cover
    )
    report = {"factory": args.factory, **report}
    if found is not None and args.out:
        write_durably(args.out, found.jsonl)
    _print(args, report, found)
    return EXIT_VIOLATED if found is not None else EXIT_OK


def _print(args: argparse.Namespace, report: dict[str, Any], found: Any) -> None:
    if args.format == "json":
        report["divergence"] = (
            None
            if found is None
            else {
                "mismatches": list(found.mismatches),
                # the lines of the --out file, each as the object it is
                "trace": [json.loads(line) for line in found.jsonl.splitlines()],
            }
        )
        print_json(report)
        return
    out = console()
    if "coverage" in report:
        out.print(_coverage_table(report["coverage"]))
    if found is None:
        suite = report["suite"]
        done = f"{args.examples} random sequences, seed {report['seed']}"
        if suite is not None:
            done = (
                f"edge-complete suite of {suite['sequences']} sequences: {suite['requests']} "
                f"requests in each of {suite['states']} states; {done}"
            )
        out.print(f"[green]{args.factory}: conforms[/] ({done})")
        return
    out.print(f"[bold red]{args.factory}: diverges[/] at step {len(found.trace.requests)}:")
    for mismatch in found.mismatches:
        out.print(f"  {mismatch}", markup=False)
    by = "the edge-complete suite"
    if report["found_by"] != "suite":
        by = f"a random sequence (repeat with --seed {report['seed']})"
    out.print(f"found by {by}; trace (replay with `mostate check FILE`):")
    sys.stdout.write(found.jsonl)


def _coverage_table(coverage: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Coverage of the scope (service MMS, instances a and b)")
    for column in ("", "visited", "in scope", "missed"):
        table.add_column(column)
    for label, cov in coverage.items():
        table.add_row(
            f"states ({label})",
            str(cov["scope_states_visited"]),
            str(cov["scope_states"]),
            str(cov["missed_states"]),
        )
        table.add_row(
            f"(op, actor, status) ({label})",
            str(cov["scope_triples_visited"]),
            str(cov["scope_triples"]),
            ", ".join("/".join(map(str, t)) for t in cov["missed_triples"]) or "none",
        )
    return table
