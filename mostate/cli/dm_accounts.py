"""``mostate dm accounts add|import|list|remove``: the devices a DM server may talk to, each
with its own secret, kept in the server's store as keys (never in clear).

Secrets come from files or environment variables, never from the command line; an accounts
file (JSON lines, see :mod:`mostate.omadm.accounts`) holds them in clear for provisioning, so
``import`` warns when others may read it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import stat
import sys
from typing import Any

from rich.table import Table

from ..omadm.accounts import AccountError, AccountLine, check_device_id, read_account_lines
from ..omadm.auth import AuthType, Secret
from ..omadm.store import StoreError
from . import options
from .common import EXIT_OK, CliError, console, print_json
from .dm_serve import open_store, read_secret

BATCH = 5_000
"""Accounts per transaction of ``dm accounts import``."""


def register(family: Any) -> None:
    accounts = family.add_parser(
        "accounts",
        allow_abbrev=False,  # --client-secret must not pass for --client-secret-file
        help="the devices a DM server may talk to, each with its own secret",
        description=(
            "Add, import, list and remove device accounts in a dm serve store. The store keeps "
            "each secret's digest material (what MD5 and HMAC need), never the secret itself."
        ),
    )
    verbs = accounts.add_subparsers(dest="accounts_command", metavar="VERB", required=True)
    add = verbs.add_parser("add", allow_abbrev=False, help="add (or replace) one device's account")
    add.add_argument("device", metavar="DEVICE", help="the device id (its SyncHdr Source)")
    _store(add)
    add.add_argument("--server-id", default="mostate", help="the server's id (header Source)")
    kinds = [k.name.lower() for k in AuthType]
    add.add_argument(
        "--client-auth", choices=kinds, default="md5", help="how the device proves itself"
    )
    add.add_argument(
        "--server-auth", choices=["md5", "hmac"], default="md5", help="how the server proves itself"
    )
    add.add_argument("--client-name", help="the device's user name (default: the device id)")
    add.add_argument("--server-name", help="the server's user name (default: the server id)")
    add.add_argument("--client-secret-file", metavar="FILE", help="default: $MOSTATE_CLIENT_SECRET")
    add.add_argument("--server-secret-file", metavar="FILE", help="default: $MOSTATE_SERVER_SECRET")
    add.set_defaults(handler=_add)
    load = verbs.add_parser("import", help="add the accounts of a JSON-lines file")
    load.add_argument("file", metavar="ACCOUNTS.jsonl", help="one account per line")
    _store(load)
    load.add_argument("--server-id", default="mostate", help="the server id for every account")
    load.set_defaults(handler=_import)
    listing = verbs.add_parser(
        "list", parents=[options.FORMAT()], help="the accounts, without their secrets"
    )
    _store(listing)
    listing.set_defaults(handler=_list)
    remove = verbs.add_parser("remove", help="remove one device's account")
    remove.add_argument("device", metavar="DEVICE", help="the device id")
    _store(remove)
    remove.set_defaults(handler=_remove)


def _store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default="mostate-dm.sqlite", metavar="STORE", help="SQLite file or URL"
    )


def _add(args: argparse.Namespace) -> int:
    try:
        check_device_id(args.device)
    except AccountError as err:
        raise CliError(f"{args.device!r}: {err}") from None
    secrets = {}
    for which in ("client", "server"):
        secrets[which] = read_secret(args, which)
        if secrets[which] is None:
            raise CliError(
                f"no {which} secret: give --{which}-secret-file FILE or set "
                f"$MOSTATE_{which.upper()}_SECRET"
            )
    line = AccountLine(
        args.device,
        Secret(args.client_name or args.device, secrets["client"] or ""),
        Secret(args.server_name or args.server_id, secrets["server"] or ""),
        AuthType.parse(args.client_auth),
        AuthType.parse(args.server_auth),
    )
    _save(args.store, [line], args.server_id)
    console(stderr=True).print(f"account of {args.device} saved in {args.store}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    try:
        mode = os.stat(args.file).st_mode
        with open(args.file, encoding="utf-8") as handle:
            count = _save(args.store, read_account_lines(handle, args.server_id), args.server_id)
    except OSError as err:
        raise CliError(f"cannot read {args.file}: {err.strerror}") from None
    except (AccountError, UnicodeDecodeError) as err:
        raise CliError(f"{args.file}: {err}") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"mostate: warning: {args.file} holds secrets in clear and others may read it "
            "(chmod 600, or delete it once imported)",
            file=sys.stderr,
        )
    console(stderr=True).print(f"{count} accounts saved in {args.store}")
    return EXIT_OK


def _save(where: str, lines: Any, server_id: str) -> int:
    store = open_store(where)
    count = 0
    try:
        iterator = iter(lines)
        while batch := list(itertools.islice(iterator, BATCH)):
            nonces = [(line.device, line.nonce) for line in batch]
            store.add_accounts([line.for_server(server_id) for line in batch], nonces)
            count += len(batch)
    except AccountError as err:
        raise CliError(str(err)) from None
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    return count


def _list(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        rows = store.accounts()
    finally:
        store.close()
    if args.format == "json":
        print_json(rows)
        return EXIT_OK
    table = Table("device", "server id", "client auth", "client name", "server auth", "server name")
    for row in rows:
        table.add_row(*(str(row[k]) for k in list(row)[:6]))
    console().print(table)
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        gone = store.remove_account(args.device)
    finally:
        store.close()
    if not gone:
        raise CliError(f"{args.store}: no account for {args.device!r}")
    console(stderr=True).print(f"account of {args.device} removed")
    return EXIT_OK
