"""``mostate dm``: the OMA-DM binding on the command line: ``process`` and ``build`` here,
``serve`` and ``device`` in :mod:`.dm_serve`, ``fleet`` in :mod:`.dm_fleet`, ``accounts`` in
:mod:`.dm_accounts`, and ``report``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rich.table import Table

from ..durable import locked, write_durably
from ..errors import RequestError
from ..omadm import (
    Answer,
    Device,
    Package,
    Server,
    answering,
    write_package,
    write_wbxml,
)
from ..omadm.database import is_url
from ..omadm.device import unsaved
from ..omadm.wbxml import is_wbxml
from . import dm_accounts, dm_fleet, dm_serve, options
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    console,
    engine_from,
    print_json,
    read_bytes,
    state_from,
    trace_from,
)
from .dm_options import tree_from


def register(commands: Any) -> None:
    """Add ``mostate dm process``, ``build``, ``serve``, ``device``, ``fleet``, ``accounts``
    and ``report``."""
    dm = commands.add_parser(
        "dm",
        help="OMA-DM over SyncML DM 1.2: process a server package, or build one",
        description="The OMA-DM binding: a device's and a server's side of SyncML DM 1.2.",
    )
    family = dm.add_subparsers(dest="dm_command", metavar="DM_COMMAND", required=True)
    _register_process(family)
    _register_build(family)
    dm_serve.register(family)
    dm_fleet.register(family)
    dm_accounts.register(family)
    _register_report(family)


def _register_process(family: Any) -> None:
    process = family.add_parser(
        "process",
        parents=[options.SPEC(), options.TREE()],
        help="run a server package on a device state; print the response package",
        description=(
            "Run PACKAGE.xml on the state in STATE.json, print the device's response package and "
            "write the new state over STATE.json (atomically). A package that cannot be read is "
            "answered with a SyncHdr Status 400, the state is left as it was, and the exit code "
            "is 2."
        ),
    )
    process.add_argument(
        "package",
        metavar="PACKAGE.xml",
        help="the server's SyncML DM package, XML or WBXML; the answer is in the same encoding",
    )
    process.add_argument(
        "--state",
        metavar="STATE.json",
        required=True,
        help="the device's state, read and written back after the package",
    )
    process.add_argument(
        "--server-id",
        help="the server id ACLs see (default: the --account ServerID of the header Source, "
        "else the Source itself)",
    )
    process.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="SOURCE=SERVERID",
        help="a DMAcc: the ServerID ACLs name for a server whose packages carry SOURCE "
        "(often its URL) as header Source; repeatable",
    )
    process.add_argument(
        "--answer",
        action="append",
        type=_answer,
        metavar="|".join(a.value for a in Answer),
        help="the user's answer to the next confirmation alert (repeatable, in order; the last "
        "one answers every alert after it; yes/no mean accept/decline; default: timeout, no one "
        "there). dm build prints the answers a trace's confirm fields stand for",
    )
    process.set_defaults(handler=_process)


def _register_build(family: Any) -> None:
    build = family.add_parser(
        "build",
        parents=[options.SPEC(), options.TREE()],
        help="print the server package for the server requests of a trace",
        description=(
            "Print the SyncML DM package a server sends for the server requests of TRACE.jsonl "
            "(user requests are local to the device and are left out, with a note on stderr)."
        ),
    )
    build.add_argument("trace", metavar="TRACE.jsonl", help="the server requests to send")
    build.add_argument("--server-id", help="header Source (default: the trace's, else mostate)")
    build.add_argument("--client", default="device", help="header Target (default: device)")
    build.add_argument("--session-id", default="1", help="header SessionID (default 1)")
    build.add_argument(
        "--wbxml",
        action="store_true",
        help="write WBXML (application/vnd.syncml.dm+wbxml) instead of XML",
    )
    build.set_defaults(handler=_build)


def _register_report(family: Any) -> None:
    report = family.add_parser(
        "report",
        parents=[options.FORMAT()],
        help="what a DM server's store holds, device by device",
        description="Print every device in the store: its DevInfo and each campaign step.",
    )
    report.add_argument(
        "store", metavar="STORE", help="a dm serve store: a SQLite file or a postgresql:// URL"
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    if not is_url(args.store) and not os.path.exists(args.store):
        raise CliError(f"{args.store}: no such store")
    store = dm_serve.open_store(args.store)
    try:
        devices = store.devices()
    finally:
        store.close()
    if args.format == "json":
        print_json(devices)
        return EXIT_OK
    table = Table("device", "DevInfo", "sessions", "steps")
    for d in devices:
        info = " ".join(f"{k}={v}" for k, v in sorted(d["devinfo"].items()) if k in _INFO)
        steps = ", ".join(
            f"{s['campaign']}:{s['request']['op']} {s['status']}"
            + (f" ({s['note']})" if s["note"] else "")
            for s in d["steps"]
        )
        table.add_row(d["device"], info, str(d["sessions"]), steps or "-")
    console().print(table)
    return EXIT_OK


_INFO = ("DevId", "Man", "Mod", "DmV")


def _process(args: argparse.Namespace) -> int:
    engine, tree = engine_from(args.spec), tree_from(args)
    accounts = {}
    for spec in args.account:
        source, sep, server_id = spec.partition("=")
        if not sep or not source or not server_id:
            raise CliError(f"--account {spec!r}: expected SOURCE=SERVERID")
        accounts[source] = server_id
    data = read_bytes(args.package, "package")
    answers: list[Answer] = args.answer or [Answer.TIMEOUT]
    ui = answering(*answers[:-1], then=answers[-1])
    # One writer at a time: read, process and write the state under its lock, and save before
    # answering, so that no 200 ever reports a change that is not on disk.
    with locked(args.state):
        state = state_from(args.state, engine)
        device = Device(engine, tree, accounts=accounts)
        after, response = device.process(state, data, args.server_id, ui)
        header = response.statuses()[0]
        if header.code == 200 and after != state:
            try:
                write_durably(args.state, json.dumps(after.to_json(), indent=2) + "\n")
            except OSError as err:
                reason = f"the device could not save its state: {err.strerror or err}"
                response = unsaved(response, reason)
    _write(response, wbxml=is_wbxml(data))
    header = response.statuses()[0]
    if header.code != 200:
        why = header.items[0].data if header.items else "refused"
        print(f"mostate: {args.package}: {why}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _build(args: argparse.Namespace) -> int:
    engine, tree = engine_from(args.spec), tree_from(args)
    _, lines = trace_from(args.trace, engine)
    bad = [line.error for line in lines if line.request is None]
    if bad:
        raise CliError(f"{args.trace}: {bad[0]}")
    requests = [line.request for line in lines if line.request is not None]
    servers = [r for r in requests if r.actor.server_id is not None]
    server_id = args.server_id or (servers[0].actor.server_id if servers else None) or "mostate"
    sent = [r for r in requests if r.actor.role.value == "server"]
    if len(sent) < len(requests):
        print(f"mostate: left out {len(requests) - len(sent)} user request(s)", file=sys.stderr)
    server = Server(
        engine, tree, server_id=server_id, client=args.client, session_id=args.session_id
    )
    try:
        package, _ = server.build(sent)
    except RequestError as err:
        raise CliError(f"{args.trace}: {err}") from None
    _write(package, wbxml=args.wbxml)
    asked = [Answer.of(r.confirm) for r in sent if r.confirm is not None]
    if asked:
        # The package asks; the user answers on the device: say how to replay the trace's answers.
        flags = " ".join(f"--answer {a.value}" for a in asked)
        print(f"mostate: the trace's answers, for dm process: {flags}", file=sys.stderr)
    return EXIT_OK


def _write(package: Package, *, wbxml: bool) -> None:
    if wbxml:
        sys.stdout.flush()
        sys.stdout.buffer.write(write_wbxml(package))
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(write_package(package))


def _answer(text: str) -> Answer:
    try:
        return Answer.parse(text)
    except ValueError:
        words = ", ".join(a.value for a in Answer)
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {words} (or yes, no)") from None
