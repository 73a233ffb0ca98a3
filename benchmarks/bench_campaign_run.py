"""What running a campaign as operators do costs: the bookkeeping of a run (waves, budget,
retries, outcomes and tally, settled in each session's transaction) against a plain planned
campaign on the same store, and ``campaign status`` on a million-device run.

    python benchmarks/bench_campaign_run.py [--devices 2000] [--repeat 3] [--status-devices 1000000]
                                            [--postgresql]

Part 1 plans the same campaign (add the instance, make it Active, Default and Locked) for
``--devices`` devices and serves it with ``mostate dm serve --planned`` to ``mostate dm fleet``
(per-device MD5 accounts, HTTPS with a certificate made for the run, 100 sessions at once),
three ways on fresh SQLite stores (and PostgreSQL with ``--postgresql``): as a plain planned
campaign (``campaign plan --store``: the baseline), as a run without read-back (``campaign
create``, ``verify = false``: the bookkeeping alone), and as a run with its read-back (one more
Get in each package). Each is run ``--repeat`` times; the table gives the median sessions/s and
its ratio to the baseline's. Target (issue 28): the run without read-back at least 0.8x.

Part 2 makes a run of ``--status-devices`` devices in a SQLite store (its rows written directly,
in batches, as ``campaign create`` writes them) and times ``mostate campaign status --format
json`` as an operator runs it (a new process), against the same command on a 1,000-device run
(the baseline: start-up and the spec). Target: under 1 s on a million devices.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_dm_server as dm  # noqa: E402

from mostate.omadm.rollout import Rollout  # noqa: E402
from mostate.omadm.runs import add_devices, create_run, start  # noqa: E402
from mostate.omadm.store import Store  # noqa: E402

GOAL = "active(target) and default(target) and locked(target)"


def inventory(folder: Path, accounts: Path) -> Path:
    path = folder / "fleet.jsonl"
    ids = [json.loads(line)["device"] for line in accounts.read_text().splitlines()]
    path.write_text("".join(json.dumps({"device": d, "state": {}}) + "\n" for d in ids))
    return path


def prepare(kind: str, where: str, fleet: Path, folder: Path) -> None:
    """The campaign, planned (``plain``) or created and started as a run."""
    if kind == "plain":
        argv = ["campaign", "plan", str(fleet), "--goal", GOAL, "--target", "op", "--store",
                where, "--campaign-id", "c1", "--out", str(folder / "plans.jsonl")]  # fmt: skip
    else:
        definition = folder / f"{kind}.toml"
        definition.write_text(
            f'id = "c1"\ngoal = "{GOAL}"\ntarget = "op"\nverify = {str(kind == "verify").lower()}\n'
        )
        argv = ["campaign", "create", str(fleet), "--definition", str(definition), "--store",
                where, "--start"]  # fmt: skip
    done = subprocess.run([*dm.MOSTATE, *argv], capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[:2]} failed: {done.stderr}")


def one(kind: str, where: str, folder: Path, keys: dict[str, Path], n: int, k: int) -> float:
    accounts = dm.accounts_file(folder, n)
    fleet = inventory(folder, accounts)
    prepare(kind, where, fleet, folder)
    dm.import_accounts(where, accounts)
    tls = ["--tls-cert", str(keys["cert"]), "--tls-key", str(keys["key"])]
    with dm.served(["--planned", "--store", where, "--port", "0", *tls]) as url:
        result = dm.fleet(url, accounts, keys["ca"], k)
    if result["done"] != n:  # said, not hidden: the table counts only complete rounds
        print(f"{kind}: {result['done']} of {n} sessions done: {result['errors'][:3]}")
        return float("nan")
    rate: float = result["sessions_per_second"]
    return rate


def part1(args: argparse.Namespace, keys: dict[str, Path], pg: str | None) -> Table:
    kinds = [("plain planned campaign (baseline)", "plain"), ("run, no read-back", "run"),
             ("run with read-back", "verify")]  # fmt: skip
    stores = ["SQLite"] + (["PostgreSQL"] if pg else [])
    table = Table(title=f"dm serve --planned: {args.devices:,} devices, per-device MD5, HTTPS, "
                  f"100 at once; median of {args.repeat} runs each")  # fmt: skip
    for column in ("store", "campaign", "sessions/s (median)", "runs", "ratio to baseline"):
        table.add_column(column)
    for store in stores:
        rates: dict[str, list[float]] = {kind: [] for _, kind in kinds}
        for _ in range(args.repeat):
            for _, kind in kinds:  # interleaved, so that the machine's noise falls on all three
                with tempfile.TemporaryDirectory() as folder:
                    where = str(Path(folder) / "dm.sqlite") if store == "SQLite" else _pg(pg)
                    rates[kind].append(one(kind, where, Path(folder), keys, args.devices, 100))
        base = statistics.median(r for r in rates["plain"] if r == r)
        for label, kind in kinds:
            median = statistics.median(r for r in rates[kind] if r == r)
            runs = ", ".join(f"{r:,.0f}" for r in rates[kind])
            table.add_row(store, label, f"{median:,.0f}", runs, f"{median / base:.2f}x")
    return table


def _pg(server: str | None) -> str:
    from tests.omadm.postgres import new_database_on

    assert server is not None
    return new_database_on(server)


def big_run(where: str, n: int) -> None:
    """A started run of ``n`` devices over three waves, its rows written in batches."""
    store = Store(where)
    waves = [{"percent": 1}, {"percent": 9}, {"percent": 90}]
    rollout = Rollout.from_json({"id": "big", "goal": GOAL, "target": "op", "waves": waves})
    store.db.write(lambda c: create_run(c, rollout, ()))
    batch = 50_000
    for first in range(0, n, batch):
        rows = [(f"dev-{k:07d}", 1 + (k % 100 > 0) + (k % 10 > 0), "pending")
                for k in range(first, min(n, first + batch))]  # fmt: skip
        store.db.write(lambda c, rows=rows: add_devices(c, "big", rows))  # type: ignore[misc]
    store.db.write(lambda c: start(c, "big"))
    store.close()


def status_seconds(where: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        done = subprocess.run(
            [*dm.MOSTATE, "campaign", "status", "big", "--store", where, "--format", "json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out.append(time.perf_counter() - began)
        assert json.loads(done.stdout)["state"] == "running"
    return out


def part2(args: argparse.Namespace) -> Table:
    table = Table(title="mostate campaign status (a new process, start-up included), median of 5")
    for column in ("run", "devices", "made in s", "status s (median)", "ratio to baseline"):
        table.add_column(column)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, n in (("baseline", 1000), ("large", args.status_devices)):
            where = str(Path(folder) / f"{n}.sqlite")
            began = time.perf_counter()
            big_run(where, n)
            made = time.perf_counter() - began
            rows.append((label, n, made, statistics.median(status_seconds(where, 5))))
    base = rows[0][3]
    for label, n, made, seconds in rows:
        table.add_row(label, f"{n:,}", f"{made:.1f}", f"{seconds:.3f}", f"{seconds / base:.2f}x")
    return table


@contextlib.contextmanager
def postgres(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from tests.omadm.postgres import throwaway_server

    with throwaway_server() as server:
        yield server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--status-devices", type=int, default=1_000_000)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--skip", choices=("sessions", "status"), action="append", default=[])
    args = parser.parse_args()
    console = Console(width=160)
    if "status" not in args.skip:
        console.print(part2(args))
    if "sessions" not in args.skip:
        with tempfile.TemporaryDirectory() as keys_folder, postgres(args.postgresql) as pg:
            keys = dm.pki(Path(keys_folder))
            console.print(part1(args, keys, pg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
