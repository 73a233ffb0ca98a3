"""``mostate dm fleet``: simulated devices against a DM server, for a load test or a campaign's
rehearsal: each device with its account, its inventory state and a way of misbehaving
(:mod:`mostate.omadm.fleet`), for one or more rounds of sessions, each device keeping its state
from one round to the next."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ..errors import RequestError
from ..model import DeviceState
from ..omadm.accounts import AccountError, AccountLine, read_account_lines
from ..omadm.session import Account, Nonces
from . import options
from .common import EXIT_OK, EXIT_VIOLATED, CliError, console, engine_from, print_json
from .dm_options import tree_from
from .dm_serve import client_tls_of, shared_account

if TYPE_CHECKING:  # aiohttp (mostate[wire]) is imported when a fleet runs, not with the CLI
    from ..omadm.fleet import FleetRun

COLUMNS = ("devices", "done", "refused", "failed", "seconds", "sessions_per_second", "p50_ms",
           "p99_ms")  # fmt: skip


def register(family: Any) -> None:
    """Add ``dm fleet``."""
    fleet = family.add_parser(
        "fleet",
        parents=[
            options.SPEC(),
            options.TREE(),
            options.CONNECTION(),
            options.FORMAT(),
            options.DEVICE_ACCOUNT(),
        ],
        allow_abbrev=False,  # --client-secret must not pass for --client-secret-file
        help="N simulated devices at once against a DM server (a load test, a rehearsal)",
        description=(
            "Run simulated devices against the server at --server, at most --concurrency at a "
            "time, for --rounds rounds (each device keeps its state from one to the next), and "
            "report how many sessions completed, how fast, and each session's time (p50, p99). "
            "Each device takes its id and secrets from --accounts (the file `dm accounts "
            "import` read), or shares one secret. A device starts from its state in --inventory "
            "(else the empty state) and misbehaves as --behaviour says. Needs aiohttp."
        ),
    )
    fleet.add_argument("--server", required=True, metavar="URL", help="the server's URL")
    fleet.add_argument("--devices", type=int, metavar="N", help="how many devices (default 100, "
                       "or every device of --accounts, else of --inventory)")  # fmt: skip
    fleet.add_argument("--accounts", metavar="ACCOUNTS.jsonl", help="each device's id and secrets")
    state = 'each device\'s state: {"device": ID, "state": STATE} lines'
    fleet.add_argument("--inventory", metavar="INVENTORY.jsonl", help=state)
    fleet.add_argument("--behaviour", metavar="BEHAVIOUR.jsonl", help='how devices misbehave: '
                       '{"device": ID, "declines": true, "fails": N (-1: always), "lies": true, '
                       '"zone": "Europe/Paris"} lines')  # fmt: skip
    fleet.add_argument("--rounds", type=int, default=1, metavar="R", help="sessions per device")
    fleet.add_argument("--concurrency", type=int, default=100, metavar="K", help="sessions at once")
    fleet.set_defaults(handler=_fleet)


def _fleet(args: argparse.Namespace) -> int:
    if (args.devices is not None and args.devices < 0) or args.concurrency < 1 or args.rounds < 1:
        raise CliError("--devices must be 0 or more, --concurrency and --rounds 1 or more")
    from ..omadm.fleet import Behaviour, SimDevice

    engine, tree = engine_from(args.spec), tree_from(args)
    states = _keyed(args.inventory, "--inventory", lambda d: DeviceState.from_json(d["state"]))
    for state in states.values():
        _valid(engine, state, args.inventory)
    behaviours = _keyed(args.behaviour, "--behaviour", Behaviour.from_json)
    sims = [
        SimDevice(
            device,
            account,
            states.get(device, DeviceState()),
            behaviours.get(device, Behaviour()),
            nonces,
        )
        for device, account, nonces in _accounts(args, states)
    ]
    tls = client_tls_of(args)

    async def rounds() -> list[FleetRun]:
        from ..omadm import Device
        from ..omadm.fleet import run_fleet

        base, done = Device(engine, tree), []
        async with _session(args.concurrency) as http:
            for _ in range(args.rounds):
                done.append(await run_fleet(http, args.server, base, sims,
                                            concurrency=args.concurrency, wbxml=args.wbxml,
                                            tls=tls))  # fmt: skip
        return done

    runs = asyncio.run(rounds())
    _show(args, runs)
    return EXIT_OK if all(r.done == r.devices for r in runs) else EXIT_VIOLATED


def _session(concurrency: int) -> Any:
    from aiohttp import ClientSession

    from ..omadm.fleet import connector

    return ClientSession(connector=connector(concurrency))


def _valid(engine: Any, state: DeviceState, where: str) -> None:
    try:
        engine.validate(state)
    except RequestError as err:
        raise CliError(f"{where}: {err}") from None


def _keyed(path: str | None, option: str, read: Any) -> dict[str, Any]:
    """What each line of ``path`` (JSON lines with a "device") says, by device id; a bad line
    is a usage error naming its line."""
    if path is None:
        return {}
    out: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                try:
                    data = json.loads(text)
                    out[_device_of(data)] = read(data)
                except (ValueError, KeyError, TypeError, RequestError) as err:
                    raise CliError(f"{path}:{number}: {err}") from None
    except OSError as err:
        raise CliError(f"cannot read {option} {path}: {err.strerror}") from None
    return out


def _device_of(data: Mapping[str, Any]) -> str:
    device = data.get("device") if isinstance(data, Mapping) else None
    if not isinstance(device, str) or not device:
        raise ValueError('each line needs a "device": its id')
    return device


def _accounts(
    args: argparse.Namespace, states: Mapping[str, DeviceState]
) -> list[tuple[str, Account, Nonces]]:
    """Each device's id, account and nonces: from --accounts, else one shared account for the
    devices of --inventory, else for ``sim-000000`` and on."""
    if args.accounts:
        try:
            with open(args.accounts, encoding="utf-8") as handle:
                lines = list(read_account_lines(handle, args.server_id))
        except OSError as err:
            raise CliError(f"cannot read --accounts {args.accounts}: {err.strerror}") from None
        except AccountError as err:
            raise CliError(f"{args.accounts}: {err}") from None
        return [(a.device, _device_view(a, args.server_id), Nonces(for_client=a.nonce))
                for a in lines[: args.devices]]  # fmt: skip
    account = shared_account(args)
    names: Iterable[str] = list(states)[: args.devices] if states else (
        f"sim-{n:06d}" for n in range(100 if args.devices is None else args.devices)
    )  # fmt: skip
    return [(name, account, Nonces()) for name in names]


def _device_view(line: AccountLine, server_id: str) -> Account:
    return Account(server_id, line.client, line.server, line.client_auth, line.server_auth)


def _show(args: argparse.Namespace, runs: list[FleetRun]) -> None:
    """The last round's numbers (and each round's, when there were several)."""
    last = runs[-1].to_json()
    if args.format == "json":
        print_json(last if len(runs) == 1 else {**last, "rounds": [r.to_json() for r in runs]})
        return
    table = Table("round", *(c.replace("_per_second", "/s").replace("_ms", " (ms)")
                             for c in COLUMNS))  # fmt: skip
    for k, run in enumerate(runs, 1):
        numbers = run.to_json()
        table.add_row(str(k), *(str(numbers[c]) for c in COLUMNS))
    console().print(table)
    for line in last["errors"]:
        print(f"mostate: {line}", file=sys.stderr)
