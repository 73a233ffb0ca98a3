"""``mostate dm process``, ``build``, ``serve`` and ``report``: the OMA-DM binding on the
command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

from ..durable import locked, write_durably
from ..engine import Engine
from ..errors import RequestError
from ..model import DeviceState, Request
from ..omadm import (
    AclError,
    AclTable,
    Answer,
    Device,
    FlagBinding,
    Package,
    Server,
    ServiceRoot,
    TreeConfig,
    UriError,
    answering,
    write_package,
    write_wbxml,
)
from ..omadm.auth import AuthType, Secret
from ..omadm.campaign_store import CampaignStore
from ..omadm.database import is_url
from ..omadm.device import unsaved
from ..omadm.plans import plan_lines, plan_requests, read_plans
from ..omadm.session import Account, Outcome
from ..omadm.store import Store, StoreError
from ..omadm.tree import split_uri
from ..omadm.wbxml import is_wbxml
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATED,
    CliError,
    add_format_option,
    add_spec_option,
    console,
    engine_from,
    print_json,
    read_bytes,
    state_from,
    trace_from,
)


def register(commands: Any) -> None:
    """Add ``mostate dm process``, ``build``, ``serve`` and ``report``."""
    dm = commands.add_parser(
        "dm",
        help="OMA-DM over SyncML DM 1.2: process a server package, or build one",
        description="The OMA-DM binding: a device's and a server's side of SyncML DM 1.2.",
    )
    family = dm.add_subparsers(dest="dm_command", metavar="DM_COMMAND", required=True)
    process = family.add_parser(
        "process",
        help="run a server package on a device state; print the response package",
        description=(
            "Run PACKAGE.xml on the state in STATE.json, print the device's response package and "
            "write the new state over STATE.json (atomically). A package that cannot be read is "
            "answered with a SyncHdr Status 400, the state is left as it was, and the exit code "
            "is 2."
        ),
    )
    add_spec_option(process)
    tree_options(process)
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

    build = family.add_parser(
        "build",
        help="print the server package for the server requests of a trace",
        description=(
            "Print the SyncML DM package a server sends for the server requests of TRACE.jsonl "
            "(user requests are local to the device and are left out, with a note on stderr)."
        ),
    )
    add_spec_option(build)
    tree_options(build)
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
    _register_serve(family)


def _register_serve(family: Any) -> None:
    serve = family.add_parser(
        "serve",
        help="a DM server over HTTP: run a campaign on every device that connects",
        description=(
            "Serve OMA-DM over HTTP (XML and WBXML). Every device that opens a session and "
            "authenticates gets the server requests of CAMPAIGN.jsonl once, or with --plans "
            "the plan `mostate campaign plan` made for its device id; its DevInfo, "
            "statuses and results go to the store before the answer that ends its session. "
            "The store is a SQLite file, or a postgresql:// URL for several servers on one store "
            "(needs psycopg: pip install 'mostate[store-pg]'). "
            "Needs aiohttp: pip install 'mostate[wire]'."
        ),
    )
    add_spec_option(serve)
    tree_options(serve)
    serve.add_argument(
        "campaign", nargs="?", metavar="CAMPAIGN.jsonl", help="the server requests to run"
    )
    serve.add_argument(
        "--plans",
        metavar="PLANS.jsonl",
        help="instead of CAMPAIGN: each device's own plan, as `mostate campaign plan` wrote them",
    )
    serve.add_argument(
        "--planned",
        action="store_true",
        help="instead of CAMPAIGN: each device's own plan from the store (campaign plan --store)",
    )
    serve.add_argument(
        "--store",
        default="mostate-dm.sqlite",
        metavar="STORE",
        help="a SQLite file, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    serve.add_argument("--path", default="/", help="URL path of the endpoint")
    serve.add_argument(
        "--sessions", type=int, metavar="N", help="stop after N finished sessions (default: never)"
    )
    _account_options(serve)
    serve.set_defaults(handler=_serve)

    device = family.add_parser(
        "device",
        help="a simulated device: open a session with a DM server and do what it asks",
        description=(
            "Open an OMA-DM session with the server at --server as a device whose CCS state is "
            "in STATE.json (created when missing), run what the server sends, and write each new "
            "state back (atomically, under a lock) before answering. Needs aiohttp."
        ),
    )
    add_spec_option(device)
    tree_options(device)
    device.add_argument("--server", required=True, metavar="URL", help="the server's URL")
    device.add_argument("--state", required=True, metavar="STATE.json", help="the device's state")
    device.add_argument("--device-id", default="mostate-device", help="the device's DevId")
    device.add_argument("--wbxml", action="store_true", help="speak WBXML instead of XML")
    _account_options(device)
    device.set_defaults(handler=_device)

    fleet = family.add_parser(
        "fleet",
        help="N simulated devices at once against a DM server (a load test)",
        description=(
            "Run N simulated devices, each with an empty CCS state, against the server at "
            "--server, at most --concurrency at a time, and report how many sessions completed "
            "and how fast. Needs aiohttp."
        ),
    )
    add_spec_option(fleet)
    tree_options(fleet)
    fleet.add_argument("--server", required=True, metavar="URL", help="the server's URL")
    fleet.add_argument("--devices", type=int, default=100, metavar="N", help="how many devices")
    fleet.add_argument(
        "--concurrency", type=int, default=100, metavar="K", help="sessions open at once"
    )
    fleet.add_argument("--wbxml", action="store_true", help="speak WBXML instead of XML")
    _account_options(fleet)
    add_format_option(fleet)
    fleet.set_defaults(handler=_fleet)

    report = family.add_parser(
        "report",
        help="what a DM server's store holds, device by device",
        description="Print every device in the store: its DevInfo and each campaign step.",
    )
    report.add_argument(
        "store", metavar="STORE", help="a dm serve store: a SQLite file or a postgresql:// URL"
    )
    add_format_option(report)
    report.set_defaults(handler=_report)


def _account_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-id", default="mostate", help="the server's id (header Source)")
    kinds = [k.name.lower() for k in AuthType]
    parser.add_argument(
        "--client-auth",
        choices=kinds,
        default="basic",
        help="how devices authenticate to the server",
    )
    parser.add_argument(
        "--server-auth",
        choices=kinds,
        default="md5",
        help="how the server authenticates to devices",
    )
    parser.add_argument("--client-name", default="mostate", help="the devices' user name")
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("MOSTATE_CLIENT_SECRET", "mostate"),
        help="the devices' secret (default: $MOSTATE_CLIENT_SECRET, else mostate)",
    )
    parser.add_argument("--server-name", default="mostate", help="the server's user name")
    parser.add_argument(
        "--server-secret",
        default=os.environ.get("MOSTATE_SERVER_SECRET", "mostate"),
        help="the server's secret (default: $MOSTATE_SERVER_SECRET, else mostate)",
    )


def account_from(args: argparse.Namespace) -> Account:
    return Account(
        server_id=args.server_id,
        client=Secret(args.client_name, args.client_secret),
        server=Secret(args.server_name, args.server_secret),
        client_auth=AuthType.parse(args.client_auth),
        server_auth=AuthType.parse(args.server_auth),
    )


def _serve(args: argparse.Namespace) -> int:
    from ..omadm.http import DmEndpoint, application

    engine, tree = engine_from(args.spec), tree_from(args)
    requests, campaign = _served(args, engine, tree)
    store = _open_store(args.store)
    stop = asyncio.Event()

    def done(outcome: Outcome) -> None:
        print(f"mostate: {outcome.device}: session done", file=sys.stderr)
        if args.sessions is not None and endpoint.finished >= args.sessions:
            stop.set()

    endpoint = DmEndpoint(engine, requests, account_from(args), store, tree=tree, on_done=done)

    async def serve() -> None:
        from aiohttp import web

        runner = web.AppRunner(application(endpoint, args.path), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else args.port
        print(f"mostate: serving http://{args.host}:{port}{args.path}", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    finally:
        store.close()
        if campaign is not None:
            campaign.close()
    return EXIT_OK


Served = list[Request] | Callable[[str], Sequence[Request]]
"""What ``dm serve`` sends: the same requests to every device, or each device's own."""


def _served(
    args: argparse.Namespace, engine: Engine, tree: TreeConfig
) -> tuple[Served, CampaignStore | None]:
    """What ``dm serve`` sends: CAMPAIGN's requests to every device, or each device's plan
    (from PLANS, or from the store's campaign, which stays open while the server runs)."""
    given = [args.campaign is not None, args.plans is not None, args.planned]
    if sum(given) != 1:
        raise CliError("give one of CAMPAIGN.jsonl, --plans PLANS.jsonl and --planned")
    if args.planned:
        return _planned(args.store, engine, tree)
    if args.plans is not None:
        try:
            plans = read_plans(plan_lines(args.plans))
            checked: set[tuple[Request, ...]] = set()
            for device, plan in plans.items():  # every request has a SyncML form
                if plan not in checked:
                    checked.add(plan)
                    try:
                        Server(engine, tree).build(plan)
                    except RequestError as err:
                        raise RequestError(f"device {device!r}: {err}") from None
        except OSError as err:
            raise CliError(f"cannot read plans {args.plans}: {err.strerror or err}") from None
        except (ValueError, RequestError) as err:
            raise CliError(f"{args.plans}: {err}") from None
        return (lambda device: plans.get(device, ())), None
    _, lines = trace_from(args.campaign, engine)
    bad = [line.error for line in lines if line.request is None]
    if bad:
        raise CliError(f"{args.campaign}: {bad[0]}")
    requests = [line.request for line in lines if line.request is not None]
    try:
        Server(engine, tree).build(requests)  # every request has a SyncML form
    except RequestError as err:
        raise CliError(f"{args.campaign}: {err}") from None
    return requests, None


def _planned(
    where: str, engine: Engine, tree: TreeConfig
) -> tuple[Callable[[str], Sequence[Request]], CampaignStore]:
    """Each device's plan from the campaign in the store (``campaign plan --store``), looked
    up when its session starts. Every distinct plan is read and given its SyncML form first,
    so that a plan the server could not send is exit 2 before any device is served."""
    if not is_url(where) and not os.path.exists(where):
        raise CliError(f"{where}: no such store (campaign plan --store makes one)")
    try:
        campaign = CampaignStore(where)
    except StoreError as err:
        raise CliError(str(err)) from None
    known: dict[str, tuple[Request, ...]] = {}
    try:
        for row in campaign.plans():
            if row.plan is not None and row.plan not in known:
                known[row.plan] = plan_requests(row.plan)
                Server(engine, tree).build(known[row.plan])
    except (ValueError, RequestError) as err:
        campaign.close()
        raise CliError(f"{where}: the plan of device {row.device!r}: {err}") from None
    except StoreError as err:
        campaign.close()
        raise CliError(str(err)) from None
    if not known:
        campaign.close()
        raise CliError(f"{where}: no campaign is planned in this store (campaign plan --store)")

    def plan_for(device: str) -> tuple[Request, ...]:
        row = campaign.plan_of(device)
        if row is None or row.plan is None:
            return ()
        found = known.get(row.plan)
        if found is None:  # planned again since the server started: checked as it is read
            try:
                found = plan_requests(row.plan)
                Server(engine, tree).build(found)
            except (ValueError, RequestError) as err:
                print(f"mostate: {device}: its plan cannot be sent: {err}", file=sys.stderr)
                return ()
        return found

    return plan_for, campaign


def _device(args: argparse.Namespace) -> int:
    from aiohttp import ClientError, ClientSession

    from ..omadm.client import DeviceSession, standard_tree
    from ..omadm.http import SessionError, run_device

    engine, tree = engine_from(args.spec), tree_from(args)

    def save(state: DeviceState) -> None:
        write_durably(args.state, json.dumps(state.to_json(), indent=2) + "\n")

    async def run(state: DeviceState) -> DeviceSession:
        account = account_from(args)
        fixed = standard_tree(args.device_id, account, args.server)
        session = DeviceSession(
            Device(engine, tree, fixed=fixed),
            state,
            account,
            args.device_id,
            server_url=args.server,
        )
        async with ClientSession() as http:
            return await run_device(http, args.server, session, wbxml=args.wbxml, save=save)

    with locked(args.state):
        start = state_from(args.state, engine) if os.path.exists(args.state) else DeviceState()
        try:
            session = asyncio.run(run(start))
        except (SessionError, ClientError) as err:
            raise CliError(f"{args.server}: {err}") from None
    if session.refused:
        raise CliError(f"{args.server}: {session.refused}")
    print(f"mostate: session done; state in {args.state}", file=sys.stderr)
    return EXIT_OK


def _fleet(args: argparse.Namespace) -> int:
    from aiohttp import ClientError, ClientSession, TCPConnector

    from ..omadm.client import DeviceSession, standard_tree
    from ..omadm.http import SessionError, run_device

    if args.devices < 0 or args.concurrency < 1:
        raise CliError("--devices must be 0 or more and --concurrency 1 or more")
    engine, tree = engine_from(args.spec), tree_from(args)
    account = account_from(args)
    outcomes: dict[str, int] = {"done": 0, "refused": 0, "failed": 0}
    errors: list[str] = []

    async def one(http: ClientSession, gate: asyncio.Semaphore, n: int) -> None:
        device_id = f"sim-{n:06d}"
        device = Device(engine, tree, fixed=standard_tree(device_id, account, args.server))
        session = DeviceSession(device, DeviceState(), account, device_id, server_url=args.server)
        async with gate:
            try:
                await run_device(http, args.server, session, wbxml=args.wbxml)
            except (SessionError, ClientError, OSError) as err:
                outcomes["failed"] += 1
                errors.append(f"{device_id}: {err}")
                return
        outcomes["refused" if session.refused else "done"] += 1

    async def run() -> None:
        gate = asyncio.Semaphore(args.concurrency)
        connector = TCPConnector(limit=args.concurrency)
        async with ClientSession(connector=connector) as http:
            await asyncio.gather(*(one(http, gate, n) for n in range(args.devices)))

    started = time.perf_counter()
    asyncio.run(run())
    seconds = time.perf_counter() - started
    summary = {
        "devices": args.devices,
        **outcomes,
        "seconds": round(seconds, 3),
        "sessions_per_second": round(args.devices / seconds, 1) if seconds else None,
        "errors": errors[:10],
    }
    if args.format == "json":
        print_json(summary)
    else:
        table = Table("devices", "done", "refused", "failed", "seconds", "sessions/s")
        table.add_row(
            *(str(summary[k]) for k in ("devices", "done", "refused", "failed")),
            f"{seconds:.2f}",
            str(summary["sessions_per_second"]),
        )
        console().print(table)
        for line in errors[:10]:
            print(f"mostate: {line}", file=sys.stderr)
    return EXIT_OK if outcomes["done"] == args.devices else EXIT_VIOLATED


def _report(args: argparse.Namespace) -> int:
    if not is_url(args.store) and not os.path.exists(args.store):
        raise CliError(f"{args.store}: no such store")
    store = _open_store(args.store)
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
            f"{s['request']['op']} {s['status']}" + (f" ({s['note']})" if s["note"] else "")
            for s in d["steps"]
        )
        table.add_row(d["device"], info, str(d["sessions"]), steps or "-")
    console().print(table)
    return EXIT_OK


_INFO = ("DevId", "Man", "Mod", "DmV")


def _open_store(path: str) -> Store:
    try:
        return Store(path)
    except StoreError as err:
        raise CliError(str(err)) from None


def tree_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how a CCS state maps onto the DM tree (dm and campaign share
    them: a package built for a campaign reads the tree as ``dm build`` does)."""
    parser.add_argument(
        "--flags-as",
        choices=[b.value for b in FlagBinding],
        default=FlagBinding.PROPERTIES.value,
        help="flags as node properties (?prop=Active) or as leaves (<instance>/Ext/CCS/Active)",
    )
    parser.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="SERVICE=PATH[=URN]",
        help="where a service lives (default: ./SERVICE) and its MO type URN",
    )
    parser.add_argument(
        "--acl", action="append", default=[], metavar="URI=ACL", help="a node's ACL"
    )


def tree_from(args: argparse.Namespace) -> TreeConfig:
    """The tree configuration the options describe; a bad option is a usage error."""
    roots = []
    for spec in args.root:
        service, sep, rest = spec.partition("=")
        path, _, urn = rest.partition("=")
        if not sep or not service or not path:
            raise CliError(f"--root {spec!r}: expected SERVICE=PATH[=URN]")
        roots.append(ServiceRoot(service, _path(path, "--root"), urn or None))
    acls = {}
    for spec in args.acl:
        uri, sep, text = spec.partition("=")
        if not sep:
            raise CliError(f"--acl {spec!r}: expected URI=ACL")
        acls[_path(uri, "--acl")] = text
    try:
        table = AclTable.from_strings(acls)
    except AclError as err:
        raise CliError(str(err)) from None
    return TreeConfig(tuple(roots), FlagBinding(args.flags_as), table)


def _path(uri: str, option: str) -> str:
    try:
        path, query = split_uri(uri)
    except UriError as err:
        raise CliError(f"{option}: {err}") from None
    if query is not None:
        raise CliError(f"{option}: {uri!r} is a node path, without '?'")
    return path


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
