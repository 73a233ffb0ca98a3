"""``mostate conform``: compare an implementation (through its adapter) with the spec."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from rich.table import Table

from .common import (
    EXIT_OK,
    EXIT_VIOLATED,
    CliError,
    add_format_option,
    add_spec_option,
    console,
    engine_from,
    print_json,
    write_atomically,
)


def register(commands: Any) -> None:
    """Add ``mostate conform`` to the `mostate` parser."""
    conform = commands.add_parser(
        "conform",
        help="drive an implementation with random requests and compare it with the spec",
        description=(
            "Load the adapter factory MODULE:FACTORY (a dotted module, or a path to a .py file), "
            "send the same random request sequences to a fresh device and to the spec's engine, "
            "and compare status, result and observed state after every step. The first "
            "divergence is shrunk and printed as a trace whose 'expect' fields hold the "
            "device's answers (`mostate check` replays it). Exit 1 on a divergence."
        ),
    )
    add_spec_option(conform)
    add_format_option(conform)
    conform.add_argument("factory", metavar="MODULE:FACTORY")
    conform.add_argument("--examples", type=int, default=100, help="random sequences to try")
    conform.add_argument("--seed", type=int, default=None, help="seed for a reproducible run")
    conform.add_argument(
        "--cover",
        action="store_true",
        help="report the states and (op, actor, status) triples of a small scope the run "
        "missed, then visit each missed state and try every request of the scope there",
    )
    conform.add_argument("--out", metavar="TRACE.jsonl", help="also write the divergence here")
    conform.set_defaults(handler=_conform)


def _conform(args: argparse.Namespace) -> int:
    # Hypothesis is imported here, not when the CLI starts: other commands stay quick.
    from ..testing import Coverage, Divergence, Universe, load_factory
    from ..testing.conformance import minimise, replay
    from ..testing.run import run_conformance

    if args.examples < 1:
        raise CliError("--examples must be at least 1")
    engine = engine_from(args.spec)
    try:
        factory = load_factory(args.factory)
    except ValueError as err:
        raise CliError(str(err)) from None
    coverage = Coverage()
    logging.getLogger("mostate").setLevel(logging.ERROR)
    found = run_conformance(engine, factory, args.examples, args.seed, coverage)
    report: dict[str, Any] = {"factory": args.factory, "examples": args.examples}
    if found is None and args.cover:
        universe = Universe(engine)
        report["coverage_before"] = universe.report(coverage).to_json()
        for path in universe.seeds(coverage):
            try:
                replay(engine, factory, path, coverage)
            except Divergence as err:
                found = minimise(engine, factory, err)
                break
        report["coverage"] = universe.report(coverage).to_json()
    elif args.cover:
        report["coverage"] = Universe(engine).report(coverage).to_json()
    if found is not None and args.out:
        write_atomically(args.out, found.jsonl)
    _print(args, report, found)
    return EXIT_VIOLATED if found is not None else EXIT_OK


def _print(args: argparse.Namespace, report: dict[str, Any], found: Any) -> None:
    if args.format == "json":
        report["divergence"] = (
            None
            if found is None
            else {"mismatches": list(found.mismatches), "trace": found.jsonl.splitlines()}
        )
        print_json(report)
        return
    out = console()
    if "coverage" in report:
        out.print(_coverage_table(report))
    if found is None:
        out.print(f"[green]{args.factory}: conforms[/] ({args.examples} random sequences)")
        return
    out.print(f"[bold red]{args.factory}: diverges[/] at step {len(found.trace.requests)}:")
    for mismatch in found.mismatches:
        out.print(f"  {mismatch}", markup=False)
    out.print("trace (replay with `mostate check FILE`):")
    sys.stdout.write(found.jsonl)


def _coverage_table(report: dict[str, Any]) -> Table:
    table = Table(title="Coverage of the scope (service MMS, instances a and b)")
    for column in ("", "visited", "in scope", "missed"):
        table.add_column(column)
    runs = [("random", report.get("coverage_before", report["coverage"]))]
    if "coverage_before" in report:
        runs.append(("with --cover", report["coverage"]))
    for label, cov in runs:
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
