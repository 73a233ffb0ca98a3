"""``mostate explain``: every step of one request's operation, each condition's value, and the
step that decided (:mod:`mostate.explain`)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import strictjson
from ..engine import Engine
from ..errors import ReplayError, RequestError
from ..explain import explain
from ..model import DeviceState, Request
from ..trace import TraceLine, read_lines, run_lines
from . import options
from .common import (
    EXIT_OK,
    EXIT_UNKNOWN,
    CliError,
    print_json,
    read_text_lines,
    spec_from,
    state_from,
)


def register(commands: Any) -> None:
    """Add ``mostate explain`` to the parser."""
    sub = commands.add_parser(
        "explain",
        parents=[options.SPEC(), options.FORMAT()],
        help="show why a request gets its answer: each step, each condition's value",
        description=(
            "For one request and a state, print every step of the request's operation in "
            "order: each refusal's condition with its value (and the values of its parts), "
            "whether the confirmation point or an effect was reached and what the effect "
            "changed, and the step that decided. REQUEST is a JSON object, or a trace file "
            "('-': standard input) whose last request (or --line N) is explained after the "
            "lines before it have run. Exit 0, 2 for a usage or spec error."
        ),
    )
    sub.add_argument(
        "--state", metavar="STATE.json", help="the state before the request (default: empty)"
    )
    sub.add_argument(
        "--line", type=int, metavar="N", help="in a trace file, explain line N (default: last)"
    )
    sub.add_argument("request", metavar="REQUEST", help="a JSON request, or a trace file")
    sub.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    # The interpreter answers as the generated code does (the differential tests hold them
    # together) without writing and compiling code for the operation first: one request
    # explained does not repay that (~40 ms).
    engine = Engine(spec_from(args.spec), backend="interpreted")
    state, request = _chosen(args, engine)
    try:
        found = explain(engine, state, request)
    except ReplayError as err:
        raise CliError(f"INTERNAL ERROR: {err}; this is a bug in mostate", EXIT_UNKNOWN) from None
    if args.format == "json":
        print_json(found.to_json())
    else:
        for line in found.lines():
            print(line)
    return EXIT_OK


def _chosen(args: argparse.Namespace, engine: Engine) -> tuple[DeviceState, Request]:
    """The state and the request to explain: REQUEST as JSON from --state, or a trace's line
    from the state the lines before it leave."""
    given = state_from(args.state, engine) if args.state else None
    if args.request.lstrip().startswith("{"):
        if args.line is not None:
            raise CliError("--line picks a line of a trace file, not of a JSON request")
        try:
            return given or DeviceState(), Request.from_json(strictjson.load(args.request))
        except RequestError as err:
            raise CliError(f"REQUEST: {err}") from None
    try:
        start, lines = read_lines(read_text_lines(args.request, "trace"))
    except RequestError as err:
        raise CliError(f"{args.request}: {err}") from None
    state = given or (engine.validate(start) if start is not None else DeviceState())
    line = _line(args.request, lines, args.line)
    before = [earlier for earlier in lines if earlier.number < line.number]
    for outcome in run_lines(engine, state, before):
        state = outcome.state
    assert line.request is not None
    return state, line.request


def _line(name: str, lines: list[TraceLine], number: int | None) -> TraceLine:
    if not lines:
        raise CliError(f"{name}: no request to explain")
    chosen = lines[-1] if number is None else next((x for x in lines if x.number == number), None)
    if chosen is None:
        raise CliError(f"{name}: no request on line {number}")
    if chosen.request is None:
        raise CliError(f"{name}: line {chosen.number} is not a request ({chosen.error})")
    return chosen
