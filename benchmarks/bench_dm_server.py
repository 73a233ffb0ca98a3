"""``dm serve`` under a fleet, as an operator would expose it: per-device MD5 credentials, HTTPS,
every acknowledged result durable; and how a locked store affects requests that need none.

    python benchmarks/bench_dm_server.py [--devices 2000] [--concurrency 100] [--lock 5]
                                         [--no-postgresql]

Part 1 runs ``mostate dm fleet`` (2,000 devices, each with its own account from the accounts
file the server imported, 100 sessions at once, over HTTPS with a certificate made for the run)
against three servers on the same campaign (add, set Active, Default, Locked): the baseline, a
server whose store is an in-memory SQLite database run on the event loop (no disk, no threads:
what the protocol costs alone), then ``mostate dm serve`` on a SQLite file and on a throwaway
PostgreSQL server. Each row gives sessions/s, each session's p50 and p99 (ms), the ratio of its
sessions/s to the baseline's, and whether the store holds every device's four 200s. Every
device's first session is challenged (no nonce yet), so a session is three HTTP exchanges.
Targets: SQLite at least 250 sessions/s, p99 under 1 s.

Part 2 starts ``mostate dm serve`` on a SQLite file (and on PostgreSQL), takes the store's
write lock from another connection (``BEGIN IMMEDIATE``; PostgreSQL: ``LOCK TABLE devices,
steps IN ACCESS EXCLUSIVE MODE``) for ``--lock`` seconds, and meanwhile times requests that need
no store (a wrong content type, a malformed package, a spent session token): their median and
worst time, against the same requests with the store free (the baseline). Target: every one
under 100 ms while the store is locked.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mostate import Engine, Request, load_spec  # noqa: E402
from mostate.omadm.accounts import AccountLine, read_account_lines  # noqa: E402
from mostate.omadm.database import Cursor, Database, connect  # noqa: E402
from mostate.omadm.store import Store  # noqa: E402

T = TypeVar("T")
MOSTATE = [sys.executable, "-m", "mostate"]
CAMPAIGN = [
    {"actor": "server", "service": "MMS", "instance": "op", "op": op, **extra}
    for op, extra in [("add", {}), ("set_active", {"value": True}),
                      ("set_default", {"value": True}), ("set_locked", {"value": True})]
]  # fmt: skip


def pki(folder: Path) -> dict[str, Path]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    paths = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["cert"]), append=True)
    return paths


def accounts_file(folder: Path, n: int, *, provisioned: bool = False) -> Path:
    """``n`` devices with secrets of their own (and, ``provisioned``, a nonce each, as a
    bootstrap sets: their first session then needs no challenge)."""
    path = folder / ("provisioned.jsonl" if provisioned else "accounts.jsonl")
    lines = [
        {"device": f"dev-{k:06d}", "client_secret": f"c-{k}-{os.urandom(4).hex()}",
         "server_secret": f"s-{k}-{os.urandom(4).hex()}"}
        | ({"client_nonce": base64.b64encode(os.urandom(16)).decode()} if provisioned else {})
        for k in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    path.chmod(0o600)
    return path


def import_accounts(where: str, accounts: Path) -> None:
    with accounts.open() as handle:
        lines = list(read_account_lines(handle, "mostate"))
    store = Store(where)
    try:
        store.add_accounts(
            (a.for_server("mostate") for a in lines), [(a.device, a.nonce) for a in lines]
        )
    finally:
        store.close()


def fleet(url: str, accounts: Path, ca: Path, concurrency: int) -> dict[str, Any]:
    done = subprocess.run(
        [*MOSTATE, "dm", "fleet", "--server", url, "--accounts", str(accounts), "--ca-file",
         str(ca), "--concurrency", str(concurrency), "--format", "json"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def right(where: str, n: int) -> int:
    store = Store(where)
    try:
        devices = store.devices()
    finally:
        store.close()
    return sum(1 for d in devices if [s["status"] for s in d["steps"]] == [200] * len(CAMPAIGN))


# --- the baseline: the store's queries on an in-memory database, on the event loop ----------


class InMemory:
    """The server's store calls run at once on one in-memory SQLite connection, on the event
    loop: no disk, no fsync, no thread. What a session costs without a store, in effect."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def read(self, query: Callable[[Database], T]) -> T:
        return query(self.db)

    async def write(self, work: Callable[[Cursor], T]) -> T:
        return self.db.write(work)


def baseline_server(accounts: str, cert: str, key: str, ready: Any) -> None:
    """In a process of its own: the endpoint on an in-memory store, serving until killed."""
    from mostate.omadm.campaigns import LIST, ServedCampaign, register
    from mostate.omadm.endpoint import DmEndpoint, start_site
    from mostate.omadm.http import server_tls
    from mostate.omadm.schema import ensure
    from mostate.omadm.store import provision_nonces, put_accounts, server_key

    db = connect(":memory:")
    db.write(lambda c: ensure(c, db))
    with open(accounts) as handle:
        lines: list[AccountLine] = list(read_account_lines(handle, "mostate"))
    db.write(lambda c: put_accounts(c, [a.for_server("mostate") for a in lines]))
    db.write(lambda c: provision_nonces(c, [(a.device, a.nonce) for a in lines]))
    key_bytes = db.write(server_key)
    requests = tuple(Request.from_json(r) for r in CAMPAIGN)
    db.write(lambda c: register(c, "c1", LIST, requests))
    engine = Engine(load_spec())
    endpoint = DmEndpoint(engine, [ServedCampaign("c1", LIST, requests)], InMemory(db), key_bytes)

    async def main() -> None:
        _, url = await start_site(endpoint, tls=server_tls(cert, key))
        ready.send(url)
        await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def served(argv: list[str]) -> Iterator[str]:
    """``mostate dm serve`` running; its URL. Its stderr goes to a file, read for the URL."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        server = subprocess.Popen([*MOSTATE, "dm", "serve", *argv], stderr=log, text=True)
        try:
            deadline = time.monotonic() + 60
            while "serving " not in Path(log.name).read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            text = Path(log.name).read_text()
            yield text.split("serving ", 1)[1].split()[0]
        finally:
            server.kill()
            server.wait(timeout=30)


def part1(args: argparse.Namespace, folder: Path, keys: dict[str, Path], pg: str | None) -> Table:
    campaign = folder / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r) + "\n" for r in CAMPAIGN))
    table = Table(title=f"dm fleet: {args.devices:,} devices, per-device MD5, HTTPS, "
                  f"{args.concurrency} at once")  # fmt: skip
    for column in ("devices", "server", "done", "sessions/s", "p50 ms", "p99 ms",
                   "ratio to baseline", "stored right"):  # fmt: skip
        table.add_column(column)
    for provisioned in (True, False):
        accounts = accounts_file(folder, args.devices, provisioned=provisioned)
        who = "provisioned nonce (2 exchanges)" if provisioned else "first contact (3 exchanges)"
        rows = [
            ("no store (in memory, on the loop): baseline", baseline(accounts, keys, args), "-")
        ]
        for label, where in stores(folder, pg, "provisioned" if provisioned else "first"):
            import_accounts(where, accounts)
            tls = ["--tls-cert", str(keys["cert"]), "--tls-key", str(keys["key"])]
            with served([str(campaign), "--store", where, "--port", "0", *tls]) as url:
                result = fleet(url, accounts, keys["ca"], args.concurrency)
            rows.append((label, result, f"{right(where, args.devices):,}"))
        base = rows[0][1]["sessions_per_second"]
        for label, result, ok in rows:
            table.add_row(
                who,
                label,
                f"{result['done']:,}/{result['devices']:,}",
                f"{result['sessions_per_second']:,.0f}",
                f"{result['p50_ms']:.0f}",
                f"{result['p99_ms']:.0f}",
                f"{result['sessions_per_second'] / base:.2f}x",
                ok,
            )
    return table


def baseline(accounts: Path, keys: dict[str, Path], args: argparse.Namespace) -> dict[str, Any]:
    """The fleet against the in-memory server, run in a process of its own."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(
        target=baseline_server, args=(str(accounts), str(keys["cert"]), str(keys["key"]), theirs)
    )
    process.start()
    try:
        return fleet(mine.recv(), accounts, keys["ca"], args.concurrency)
    finally:
        process.kill()
        process.join()


def stores(folder: Path, pg: str | None, name: str) -> list[tuple[str, str]]:
    out = [("dm serve, SQLite file", str(folder / f"{name}.sqlite"))]
    if pg is not None:
        from tests.omadm.postgres import new_database_on

        out.append(("dm serve, PostgreSQL", new_database_on(pg)))
    return out


# --- part 2: requests that need no store, while the store is locked ---------------------------


async def no_store_requests(url: str, n: int, tls: Any) -> list[float]:
    from aiohttp import ClientSession, TCPConnector

    kinds = [("text/plain", b"x", ""), ("application/vnd.syncml.dm+xml", b"<SyncML>", ""),
             ("application/vnd.syncml.dm+xml", spent_token_message(), "?s=spent")]  # fmt: skip
    times: list[float] = []
    async with ClientSession(connector=TCPConnector(ssl=tls)) as http:
        for k in range(n):
            kind, data, query = kinds[k % len(kinds)]
            began = time.perf_counter()
            async with http.post(url + query, data=data, headers={"Content-Type": kind}) as r:
                await r.read()
            times.append(time.perf_counter() - began)
    return times


def spent_token_message() -> bytes:
    from mostate import DeviceState
    from mostate.omadm import Device, write_package
    from mostate.omadm.client import DeviceSession
    from mostate.omadm.session import Account

    device = DeviceSession(Device(Engine(load_spec())), DeviceState(), Account(), "dev-000000")
    return write_package(device.first()).encode()


@contextlib.contextmanager
def locked(where: str) -> Iterator[None]:
    """The store's write lock (and, on PostgreSQL, its tables) held by another connection."""
    if "://" not in where:
        db = sqlite3.connect(where, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    import psycopg

    with psycopg.connect(where) as db:
        db.execute("LOCK TABLE devices, steps IN ACCESS EXCLUSIVE MODE")
        yield
        db.rollback()


def part2(args: argparse.Namespace, folder: Path, keys: dict[str, Path], pg: str | None) -> Table:
    from mostate.omadm.http import client_tls

    accounts = accounts_file(folder, 10)
    campaign = folder / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r) + "\n" for r in CAMPAIGN))
    tls = ["--tls-cert", str(keys["cert"]), "--tls-key", str(keys["key"])]
    table = Table(title=f"requests that need no store, while another connection holds the "
                  f"store's lock for {args.lock:g} s")  # fmt: skip
    for column in ("store", "store", "requests", "median ms", "worst ms", "answered in the lock"):
        table.add_column(column)
    stores = [("SQLite file", str(folder / "lock.sqlite"))]
    if pg is not None:
        from tests.omadm.postgres import new_database_on

        stores.append(("PostgreSQL", new_database_on(pg)))
    context = client_tls(str(keys["ca"]))
    for label, where in stores:
        import_accounts(where, accounts)
        with served([str(campaign), "--store", where, "--port", "0", *tls]) as url:
            free = asyncio.run(no_store_requests(url, 30, context))
            table.add_row(label, "free (baseline)", "30", _ms(statistics.median(free)),
                          _ms(max(free)), "-")  # fmt: skip
            with locked(where):
                began = time.monotonic()
                held = asyncio.run(no_store_requests(url, 30, context))
                inside = time.monotonic() - began < args.lock
                rest = args.lock - (time.monotonic() - began)
                if rest > 0:
                    time.sleep(rest)
            table.add_row(label, f"locked {args.lock:g} s", "30", _ms(statistics.median(held)),
                          _ms(max(held)), "yes" if inside else "NO")  # fmt: skip
    return table


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--lock", type=float, default=5.0)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--skip", choices=("fleet", "lock"), action="append", default=[])
    args = parser.parse_args()
    out = Console(width=150)
    with contextlib.ExitStack() as stack:
        pg = None
        if not args.no_postgresql:
            from tests.omadm.postgres import throwaway_server

            try:
                pg = stack.enter_context(throwaway_server())
            except RuntimeError as err:
                out.print(f"[yellow]no PostgreSQL: {err}[/]")
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        keys = pki(folder)
        if "fleet" not in args.skip:
            out.print(part1(args, folder, keys, pg))
        if "lock" not in args.skip:
            out.print(part2(args, folder, keys, pg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
