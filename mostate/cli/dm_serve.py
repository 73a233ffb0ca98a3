"""``mostate dm serve``, ``device`` and ``fleet``: a DM server over HTTP(S) and simulated devices.

Secrets never need the command line (where ``ps`` shows them): each comes from a file
(``--client-secret-file``) or an environment variable (``$MOSTATE_CLIENT_SECRET``). A server
takes its devices' accounts from its store (``mostate dm accounts``); one secret shared by a
whole fleet only by ``--fleet-secret-file``, and the well-known demo account only by
``--insecure-demo``. Without any, ``dm serve`` refuses to start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
from collections.abc import Sequence
from typing import Any

from ..durable import locked, write_durably
from ..engine import Engine
from ..errors import RequestError
from ..model import DeviceState, Request
from ..omadm import Device, Server, TreeConfig
from ..omadm.accounts import SharedAccount
from ..omadm.auth import AuthType, Secret
from ..omadm.campaigns import (
    LIST,
    PLANNED,
    PLANS_FILE,
    ServedCampaign,
    digest_id,
    planned,
)
from ..omadm.campaigns import register as register_campaign
from ..omadm.database import is_url
from ..omadm.plans import check_sendable, plan_requests, read_sendable_plans
from ..omadm.session import Account, Outcome
from ..omadm.store import Store, StoreError
from . import options
from .common import (
    EXIT_OK,
    CliError,
    engine_from,
    spec_digest,
    state_from,
    trace_from,
)
from .dm_options import tree_from

DEMO = Account()
"""The well-known account of ``--insecure-demo`` (``mostate``/``mostate``): tutorials only."""


def register(family: Any) -> None:
    """Add ``dm serve`` and ``dm device`` (``dm fleet``: :mod:`.dm_fleet`)."""
    _serve_parser(family)
    _device_parser(family)


def read_secret(args: argparse.Namespace, which: str) -> str | None:
    """The ``client`` or ``server`` secret: from its ``--*-secret-file`` or its environment
    variable; None when neither is given."""
    path = getattr(args, f"{which}_secret_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(4096).rstrip("\r\n")
        except OSError as err:
            raise CliError(f"cannot read --{which}-secret-file {path}: {err.strerror}") from None
        if not text:
            raise CliError(f"--{which}-secret-file {path}: the file is empty")
        return text
    return os.environ.get(f"MOSTATE_{which.upper()}_SECRET") or None


def _needed(args: argparse.Namespace, which: str) -> str:
    secret = read_secret(args, which)
    if secret is None:
        raise CliError(
            f"no {which} secret: give --{which}-secret-file FILE or set "
            f"$MOSTATE_{which.upper()}_SECRET (or --insecure-demo for a tutorial)"
        )
    return secret


def shared_account(args: argparse.Namespace, name: str | None = None) -> Account:
    """One account from the options: the demo one, or the secrets given (``name`` is the
    client name when ``--client-name`` is not given)."""
    if args.insecure_demo:
        print("mostate: warning: --insecure-demo: the well-known demo account", file=sys.stderr)
        return DEMO
    return Account(
        server_id=args.server_id,
        client=Secret(args.client_name or name or "mostate", _needed(args, "client")),
        server=Secret(args.server_name or args.server_id, _needed(args, "server")),
        client_auth=AuthType.parse(args.client_auth),
        server_auth=AuthType.parse(args.server_auth),
    )


# --- dm serve ----------------------------------------------------------------------------------


def _serve_parser(family: Any) -> None:
    serve = family.add_parser(
        "serve",
        parents=[options.SPEC(), options.TREE(), options.SERVER_ACCOUNT()],
        allow_abbrev=False,  # --client-secret must not pass for --client-secret-file
        help="a DM server over HTTP(S): run campaigns on every device that connects",
        description=(
            "Serve OMA-DM over HTTP or HTTPS (XML and WBXML). Every device that opens a session "
            "and authenticates with its own account (mostate dm accounts) gets the steps of the "
            "campaigns it has not answered, in the order they were made: CAMPAIGN.jsonl's "
            "requests, the plans of --plans, or the plans kept in the store (--planned). Its "
            "DevInfo and each answer go to the store before the answer that ends its session. "
            "Needs aiohttp: pip install 'mostate[wire]'."
        ),
    )
    serve.add_argument("campaign", nargs="?", metavar="CAMPAIGN.jsonl", help="requests for all")
    serve.add_argument("--plans", metavar="PLANS.jsonl", help="each device's own plan (a file)")
    serve.add_argument(
        "--planned", action="store_true", help="each device's plans from the store's campaigns"
    )
    serve.add_argument(
        "--campaign-id",
        dest="campaign_ids",
        action="append",
        default=[],
        metavar="ID",
        help="the campaign's id (default: from its content); with --planned, the campaigns to "
        "serve (repeatable; default: all, in the order they were made)",
    )
    serve.add_argument(
        "--store",
        default="mostate-dm.sqlite",
        metavar="STORE",
        help="a SQLite file, or postgresql://USER@HOST[:PORT]/DB",
    )
    _listening(serve)
    serve.set_defaults(handler=_serve)


def _listening(serve: argparse.ArgumentParser) -> None:
    """Where and how ``dm serve`` listens, and for how long."""
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    serve.add_argument("--path", default="/", help="URL path of the endpoint")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate chain")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument(
        "--fleet-secret-file",
        metavar="FILE",
        help="one client secret for every device without an account of its own (explicit)",
    )
    serve.add_argument(
        "--sessions", type=int, metavar="N", help="stop after N finished sessions (default: never)"
    )
    serve.add_argument("--verbose", "-v", action="store_true", help="a line per finished session")
    serve.add_argument(
        "--dashboard",
        action="store_true",
        help="also serve each campaign's live page at /campaigns/ID (read-only)",
    )
    serve.add_argument(
        "--dashboard-token-file",
        metavar="FILE",
        help="the token a viewer of the pages must give (Bearer, or ?token=); needed to serve "
        "them on an address other than loopback",
    )


def _serve(args: argparse.Namespace) -> int:
    engine, tree = engine_from(args.spec), tree_from(args)
    tls = _server_tls(args)
    given = _given(args, engine, tree)
    if args.planned and not is_url(args.store) and not os.path.exists(args.store):
        raise CliError(f"{args.store}: no such store (campaign plan --store makes one)")
    store = open_store(args.store)
    try:
        campaigns = _campaigns(args, given, engine, tree, store)
        shared = _fleet(args, store)
        _warn_basic(args, store, shared, tls)
        key = store.key
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    _serve_until_done(args, engine, tree, campaigns, shared, key, tls)
    return EXIT_OK


def _serve_until_done(
    args: argparse.Namespace,
    engine: Engine,
    tree: TreeConfig,
    campaigns: list[ServedCampaign],
    shared: SharedAccount | None,
    key: bytes,
    tls: ssl.SSLContext | None,
) -> None:
    """Serve ``campaigns`` over HTTP(S), with the campaigns' pages if asked, until
    ``--sessions`` sessions are done (or forever)."""
    from ..omadm.dashboard import Dashboard, DashboardConfig
    from ..omadm.endpoint import DmEndpoint, start_site
    from ..omadm.worker import StoreWorker

    stop = asyncio.Event()

    def done(outcome: Outcome) -> None:
        # A line per session only when asked: a server whose stderr nobody reads would
        # otherwise stop when the pipe fills.
        if args.verbose:
            print(f"mostate: {outcome.device}: session done", file=sys.stderr)
        if args.sessions is not None and endpoint.finished >= args.sessions:
            stop.set()

    async def serve() -> None:
        runner, url = await start_site(
            endpoint, host=args.host, port=args.port, path=args.path, tls=tls, dashboard=pages
        )
        print(f"mostate: serving {url}", file=sys.stderr)
        if pages is not None:
            site = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
            print(f"mostate: campaign pages at {site}{pages.config.prefix}/", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    token = _dashboard_token(args)
    with StoreWorker(args.store) as worker:
        pages = Dashboard(worker, DashboardConfig(token=token)) if args.dashboard else None
        endpoint = DmEndpoint(
            engine,
            campaigns,
            worker,
            key,
            shared=shared,
            server_id=args.server_id,
            tree=tree,
            on_done=done,
        )
        asyncio.run(serve())


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _dashboard_token(args: argparse.Namespace) -> str | None:
    """The token of the pages (from its file); a dashboard on an address others can reach
    without one is refused: its pages list device ids."""
    if args.dashboard_token_file and not args.dashboard:
        raise CliError("--dashboard-token-file goes with --dashboard")
    if not args.dashboard:
        return None
    if args.dashboard_token_file:
        try:
            with open(args.dashboard_token_file, encoding="utf-8") as handle:
                token = handle.read(4096).strip()
        except OSError as err:
            raise CliError(f"cannot read --dashboard-token-file: {err.strerror}") from None
        if len(token) < 16:
            raise CliError("--dashboard-token-file: a token of 16 characters or more")
        return token
    if args.host not in LOOPBACK:
        raise CliError(
            f"--dashboard on {args.host}: the pages list device ids; give "
            "--dashboard-token-file FILE, or listen on 127.0.0.1"
        )
    return None


def _server_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError("give both --tls-cert and --tls-key, or neither")
    if not args.tls_cert:
        return None
    from ..omadm.http import server_tls

    try:
        return server_tls(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as err:
        raise CliError(f"cannot use --tls-cert/--tls-key: {err}") from None


def _fleet(args: argparse.Namespace, store: Store) -> SharedAccount | None:
    """The account every device without its own shares (explicitly), or None; refuses a
    server that no device could authenticate to, and one given default credentials."""
    if args.insecure_demo:
        return shared_account(args).shared()
    if args.fleet_secret_file:
        args.client_secret_file = args.fleet_secret_file
        return shared_account(args).shared()
    args.client_secret_file = None
    if not store.has_accounts():
        raise CliError(
            f"{store.where}: no device accounts: add them with `mostate dm accounts add` or "
            "`import`, or give one secret to the whole fleet with --fleet-secret-file "
            "(--insecure-demo: the demo account, for a tutorial)"
        )
    return None


def _warn_basic(
    args: argparse.Namespace, store: Store, shared: SharedAccount | None, tls: ssl.SSLContext | None
) -> None:
    basic = store.has_accounts(AuthType.BASIC) or (
        shared is not None and shared.client_auth is AuthType.BASIC
    )
    if basic and tls is None:
        print(
            "mostate: warning: devices authenticate with Basic over plain HTTP: their secrets "
            "cross the network in clear; serve HTTPS with --tls-cert and --tls-key",
            file=sys.stderr,
        )


def open_store(where: str) -> Store:
    """The server store at ``where`` (made, or migrated, when needed); exit 2 saying why not."""
    try:
        return Store(where)
    except StoreError as err:
        raise CliError(str(err)) from None


def _given(args: argparse.Namespace, engine: Engine, tree: TreeConfig) -> ServedCampaign | None:
    """The campaign a CAMPAIGN.jsonl or a --plans file gives, read and checked before the
    store is opened (None for --planned, whose campaigns are the store's)."""
    given = [args.campaign is not None, args.plans is not None, args.planned]
    if sum(given) != 1:
        raise CliError("give one of CAMPAIGN.jsonl, --plans PLANS.jsonl and --planned")
    if not args.planned and len(args.campaign_ids) > 1:
        raise CliError("one --campaign-id for a CAMPAIGN.jsonl or a --plans file")
    name = args.campaign_ids[0] if args.campaign_ids else None
    if args.plans is not None:
        plans, data = _plans_file(args.plans, engine, tree)
        return ServedCampaign(name or digest_id("plans", data), PLANS_FILE, plans=plans)
    if args.campaign is not None:
        requests = tuple(_list_campaign(args.campaign, engine, tree))
        text = json.dumps([r.to_json() for r in requests], sort_keys=True).encode()
        return ServedCampaign(name or digest_id("list", text), LIST, requests)
    return None


def _campaigns(
    args: argparse.Namespace,
    given: ServedCampaign | None,
    engine: Engine,
    tree: TreeConfig,
    store: Store,
) -> list[ServedCampaign]:
    """What ``dm serve`` runs: the campaign given, registered in the store, or the store's."""
    if given is None:
        return _planned(args, engine, tree, store)
    store.db.write(
        lambda cursor: register_campaign(cursor, given.campaign, given.kind, given.requests)
    )
    return [given]


def _list_campaign(path: str, engine: Engine, tree: TreeConfig) -> list[Request]:
    _, lines = trace_from(path, engine)
    bad = [line.error for line in lines if line.request is None]
    if bad:
        raise CliError(f"{path}: {bad[0]}")
    requests = [line.request for line in lines if line.request is not None]
    try:
        Server(engine, tree).build(requests)  # every request has a SyncML form
    except RequestError as err:
        raise CliError(f"{path}: {err}") from None
    return requests


def _plans_file(
    path: str, engine: Engine, tree: TreeConfig
) -> tuple[dict[str, tuple[Request, ...]], bytes]:
    try:
        plans, data = read_sendable_plans(path, engine, tree)
    except OSError as err:
        raise CliError(f"cannot read plans {path}: {err.strerror or err}") from None
    except (ValueError, RequestError) as err:
        raise CliError(f"{path}: {err}") from None
    return plans, data


def _planned(
    args: argparse.Namespace, engine: Engine, tree: TreeConfig, store: Store
) -> list[ServedCampaign]:
    """The store's planned campaigns, each distinct plan given its SyncML form first, so that
    a plan the server could not send is exit 2 before any device is served."""
    ids = planned(store.db, args.campaign_ids)
    if not ids:
        raise CliError(
            f"{store.where}: no campaign is planned in this store (campaign plan --store)"
        )
    texts: dict[str, tuple[str, str]] = {}
    for campaign, device, text in store.plan_texts(ids):
        texts.setdefault(text, (campaign, device))
    for text, (campaign, device) in texts.items():
        try:
            check_sendable(engine, tree, [(device, plan_requests(text))])
        except (ValueError, RequestError) as err:
            raise CliError(f"{store.where}: campaign {campaign}, {err}") from None
    _same_spec(args, store, ids)
    return [ServedCampaign(c, PLANNED) for c in ids]


def _same_spec(args: argparse.Namespace, store: Store, ids: Sequence[str]) -> None:
    """A run is served with the spec it was planned with (its digest), or not at all."""
    digest = spec_digest(args.spec)
    for campaign, definition in store.db.read("SELECT campaign, definition FROM campaign_runs"):
        recorded = json.loads(definition).get("spec_digest")
        if campaign in ids and recorded and recorded != digest:
            raise CliError(
                f"campaign {campaign} was planned with another spec (sha256 {recorded[:12]}; "
                f"this one is {digest[:12]}): serve it with the spec it was planned with"
            )


# --- dm device and dm fleet ------------------------------------------------------------------


def _device_parser(family: Any) -> None:
    device = family.add_parser(
        "device",
        parents=[options.SPEC(), options.TREE(), options.CONNECTION(), options.DEVICE_ACCOUNT()],
        allow_abbrev=False,  # --client-secret must not pass for --client-secret-file
        help="a simulated device: open a session with a DM server and do what it asks",
        description=(
            "Open an OMA-DM session with the server at --server as a device whose CCS state is "
            "in STATE.json (created when missing), run what the server sends, and write each new "
            "state back (atomically, under a lock) before answering. Needs aiohttp."
        ),
    )
    device.add_argument("--server", required=True, metavar="URL", help="the server's URL")
    device.add_argument("--state", required=True, metavar="STATE.json", help="the device's state")
    device.add_argument("--device-id", default="mostate-device", help="the device's DevId")
    device.set_defaults(handler=_device)


def client_tls_of(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context of a client of ``--server`` (None for http://), with ``--ca-file``."""
    if not args.server.startswith("https://"):
        if args.ca_file:
            raise CliError("--ca-file is for an https:// server")
        return None
    from ..omadm.http import client_tls

    try:
        return client_tls(args.ca_file)
    except (OSError, ssl.SSLError) as err:
        raise CliError(f"cannot use --ca-file {args.ca_file}: {err}") from None


def _device(args: argparse.Namespace) -> int:
    from aiohttp import ClientError, ClientSession

    from ..omadm.client import DeviceSession, standard_tree
    from ..omadm.http import SessionError, run_device

    engine, tree = engine_from(args.spec), tree_from(args)
    account = shared_account(args, name=args.device_id)
    tls = client_tls_of(args)

    def save(state: DeviceState) -> None:
        write_durably(args.state, json.dumps(state.to_json(), indent=2) + "\n")

    async def run(state: DeviceState) -> DeviceSession:
        fixed = standard_tree(args.device_id, account, args.server)
        session = DeviceSession(
            Device(engine, tree, fixed=fixed),
            state,
            account,
            args.device_id,
            server_url=args.server,
        )
        async with ClientSession() as http:
            return await run_device(
                http, args.server, session, wbxml=args.wbxml, save=save, tls=tls
            )

    with locked(args.state):
        start = state_from(args.state, engine) if os.path.exists(args.state) else DeviceState()
        try:
            session = asyncio.run(run(start))
        except (SessionError, ClientError, OSError) as err:
            raise CliError(f"{args.server}: {err}") from None
        if session.refused:
            raise CliError(f"{args.server}: {session.refused}")
        save(session.state)  # what this reports is on disk, changed or not
    print(f"mostate: session done; state in {args.state}", file=sys.stderr)
    return EXIT_OK
