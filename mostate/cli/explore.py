"""``mostate explore`` and ``mostate plan``: the state space of a spec, and server plans in it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rich.table import Table

from ..durable import write_durably
from ..engine import Engine
from ..errors import RequestError, SpecError
from ..explore import Exploration, ExploreScope, Goal, explore, export_traces, plan
from ..explore.graphio import FORMATS, graph_text
from ..model import Role, check_name
from . import options
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_VIOLATED,
    CliError,
    check_writable,
    chosen_spec,
    console,
    engine_from,
    print_json,
    state_from,
)
from .progress import meter


def register(commands: Any) -> None:
    """Add ``explore`` and ``plan`` to the ``mostate`` parser."""
    run = commands.add_parser(
        "explore",
        parents=[options.SPEC_ARGUMENT(), options.FORMAT()],
        help="explore every state reachable in a small scope and check every step",
        description=(
            "Breadth-first from the empty device, send every request of the scope (every "
            "operation of the spec, both actors, instances i1..iN, parameter values v1..vK) "
            "through the engine; check every invariant, transition property and independence "
            "on every step; report each violation with a shortest trace. Exit 1 if any."
        ),
    )
    run.add_argument(
        "--instances",
        "-n",
        type=int,
        default=2,
        metavar="N",
        help="instance names i1..iN (default 2)",
    )
    run.add_argument(
        "--values",
        "-k",
        type=int,
        default=2,
        metavar="K",
        help="parameter names and values p1..pK, v1..vK (default 2)",
    )
    run.add_argument(
        "--services", type=int, default=1, metavar="S", help="MMS and S-1 more services"
    )
    run.add_argument(
        "--declines", action="store_true", help="also send server requests the user declines"
    )
    run.add_argument("--no-symmetry", action="store_true", help="store every state, not orbits")
    run.add_argument("--graph", metavar="FILE", help=f"write the graph ({', '.join(FORMATS)})")
    run.add_argument(
        "--export-traces", metavar="DIR", help="write one conformance trace per transition"
    )
    run.add_argument(
        "--max-states",
        type=int,
        default=None,
        metavar="N",
        help="stop after about N states with the statistics so far (exit 3)",
    )
    run.add_argument(
        "--max-memory",
        type=int,
        default=_half_the_memory(),
        metavar="MB",
        help="stop when the process has used MB MiB, with the statistics so far (exit 3; "
        "default: half this machine's memory)",
    )
    run.set_defaults(handler=_explore)
    _register_plan(commands)


def _register_plan(commands: Any) -> None:
    goal = commands.add_parser(
        "plan",
        parents=[options.SPEC_ARGUMENT(), options.FORMAT()],
        help="the shortest sequence of requests from a state to a goal",
        description=(
            "Breadth-first from STATE.json, find the shortest sequence of requests after which "
            "GOAL (an expression of the spec language, read like an invariant of --service) "
            "holds. Prints it as trace JSON lines; exit 1 if the goal is unreachable."
        ),
    )
    goal.add_argument("--state", metavar="STATE.json", help="where the device is (default: empty)")
    goal.add_argument(
        "--goal",
        required=True,
        metavar="EXPR",
        help='the condition to reach, e.g. "active(target) and locked(target)"',
    )
    goal.add_argument("--target", metavar="NAME", help="the instance `target` names in the goal")
    goal.add_argument(
        "--service", default="MMS", help="the service the goal is read on (default MMS)"
    )
    goal.add_argument(
        "--actor",
        choices=("server", "user", "any"),
        default="server",
        help="who may send the requests (default server)",
    )
    goal.add_argument(
        "--values",
        "-k",
        type=int,
        default=2,
        metavar="K",
        help="parameter names and values to try (default 2)",
    )
    goal.add_argument(
        "--max-states",
        type=int,
        default=200_000,
        metavar="M",
        help="give up after visiting M states (default 200000)",
    )
    goal.set_defaults(handler=_plan)


def _engine(args: argparse.Namespace) -> Engine:
    return engine_from(chosen_spec(args))


def _scope(args: argparse.Namespace) -> ExploreScope:
    try:
        return ExploreScope.of(
            args.instances, args.values, services=args.services, declines=args.declines
        )
    except ValueError as err:
        raise CliError(str(err)) from None


def _explore(args: argparse.Namespace) -> int:
    engine = _engine(args)
    scope = _scope(args)
    if args.graph and Path(args.graph).suffix.lower() not in FORMATS:
        raise CliError(f"--graph {args.graph}: the file must end with one of {', '.join(FORMATS)}")
    if args.graph:
        check_writable(args.graph, "--graph")
    if args.export_traces:
        check_writable(args.export_traces, "--export-traces", directory=True)
    with meter("exploring (states expanded/found)", shown=args.format == "text", eta=False) as bar:
        run = explore(
            engine,
            scope,
            symmetry=not args.no_symmetry,
            progress=bar.update,
            interruptible=True,
            max_states=args.max_states,
            max_memory_mb=args.max_memory,
        )
    if run.stopped is not None:
        # Ctrl-C or a limit: the statistics so far, and no files written from a partial graph.
        if args.format == "json":
            print_json(_report(run, None))
        else:
            _print_report(run, None)
        return EXIT_INTERRUPTED if run.stopped == "interrupted" else EXIT_UNKNOWN
    if args.graph:
        write_durably(args.graph, graph_text(run, args.graph))
    exported = None
    if args.export_traces:
        summary = export_traces(run, args.export_traces)
        exported = {"directory": args.export_traces, **_fields(summary)}
    if args.format == "json":
        print_json(_report(run, exported))
    else:
        _print_report(run, exported)
    return EXIT_VIOLATED if run.violations else EXIT_OK


def _fields(summary: Any) -> dict[str, int]:
    return {"traces": summary.traces, "requests": summary.requests, "skipped": summary.skipped}


def _half_the_memory() -> int | None:
    """Half the machine's memory in MiB (None where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**21
    except (ValueError, OSError, AttributeError):
        return None


def _report(run: Exploration, exported: dict[str, Any] | None) -> dict[str, Any]:
    stats = run.stats
    out: dict[str, Any] = {
        "spec": run.engine.spec.source,
        "scope": run.scope.describe(),
        "symmetry": run.symmetry,
        "states": stats.states,
        "represented_states": stats.represented,
        "edges": stats.edges,
        "depth": stats.depth,
        "seconds": round(stats.seconds, 3),
        "states_per_second": round(stats.states_per_second, 1),
        "violations": [v.to_json() for v in run.violations.values()],
        "interrupted": run.interrupted,
        "stopped": run.stopped,
    }
    if exported is not None:
        out["exported"] = exported
    return out


def _print_report(run: Exploration, exported: dict[str, Any] | None) -> None:
    out, stats = console(), run.stats
    spec = run.engine.spec
    table = Table(title=f"Exploration of {spec.name} ({spec.source})")
    for column in ("states", "represented", "edges", "depth", "seconds", "states/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.states),
        str(stats.represented),
        str(stats.edges),
        str(stats.depth),
        f"{stats.seconds:.2f}",
        f"{stats.states_per_second:,.0f}",
    )
    out.print(table)
    for violation in run.violations.values():
        if violation.status is None:
            out.print(f"[bold red]{violation.kind} {violation.name}[/] broken by the empty device")
            continue
        out.print(
            f"[bold red]{violation.kind} {violation.name}[/] broken in "
            f"{len(violation.trace.requests)} steps (last answered {violation.status}):"
        )
        out.print(violation.trace.to_jsonl(), markup=False, end="")
    if run.stopped is not None:
        why = "INTERRUPTED" if run.stopped == "interrupted" else f"STOPPED ({run.stopped})"
        out.print(
            f"[yellow]{why}[/] after {stats.states} states: the figures above are partial, "
            f"{len(run.violations)} violation(s) found so far"
        )
    elif not run.violations:
        out.print("[green]no violation in scope[/]")
    if exported is not None:
        out.print(
            f"wrote {exported['traces']} traces ({exported['requests']} requests) to "
            f"{exported['directory']}; skipped {exported['skipped']} behind a violation"
        )


def _plan(args: argparse.Namespace) -> int:
    engine = _engine(args)
    start = state_from(args.state, engine)
    try:
        check_name(args.service, "--service")
        if args.target is not None:
            check_name(args.target, "--target")
    except RequestError as err:  # a plan run would then refuse every request it prints
        raise CliError(str(err)) from None
    try:
        goal = Goal.parse(args.goal, args.service, args.target)
    except SpecError as err:
        raise CliError(f"--goal: {err}") from None
    roles = frozenset(Role) if args.actor == "any" else frozenset({Role(args.actor)})
    if args.values < 1 or args.max_states < 1:
        raise CliError("--values and --max-states must be at least 1")
    found = plan(engine, start, goal, roles=roles, values=args.values, max_states=args.max_states)
    if args.format == "json":
        trace = found.trace.to_json() if found.trace else None
        print_json(
            {
                "reachable": found.trace is not None,
                "states": found.states,
                "reason": found.reason,
                "length": len(found.trace.requests) if found.trace else None,
                "trace": trace,
            }
        )
    elif found.trace is not None:
        sys.stdout.write(found.trace.to_jsonl())
        console(stderr=True).print(
            f"{len(found.trace.requests)} requests reach the goal ({found.states} states seen)"
        )
    else:
        console(stderr=True).print(f"unreachable: {found.reason}")
    if found.trace is not None:
        return EXIT_OK
    return EXIT_UNKNOWN if found.bounded else EXIT_VIOLATED
