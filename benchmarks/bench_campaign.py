"""Planning a campaign for a million devices: one process, a process pool, a Dask LocalCluster,
against calling :func:`mostate.explore.plan` once per device, all in the same run.

    python benchmarks/bench_campaign.py [--devices 1000000] [--sample 300] [--seed 1]

A synthetic fleet (``mostate campaign fleet``, timed apart, not counted) is planned by
``mostate campaign plan`` run as a user runs it (a new process, start-up included, plans written
to a file): in one process, and with ``--jobs 2``; the peak resident memory is the largest of
any one process (``ru_maxrss`` of the children). Then the same inventory is planned in this
process through a Dask ``LocalCluster`` of 2 single-threaded worker processes and, for the ratio
of the same work, in this process alone. The baseline plans ``--sample`` devices one by one with
:func:`mostate.explore.plan` (no cache) and is extrapolated to the whole fleet. Targets (issue
15): the one-process run under 60 s and under 1 GiB. Every output is checked to hold one line
per device, and the runs to agree with each other byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mostate import DeviceState, Engine, load_spec
from mostate.campaign import Campaign, plan_inventory, synthetic_inventory
from mostate.explore import Goal, plan

GOAL = "exists(target) and active(target)"


def generate(path: Path, devices: int, seed: int) -> float:
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        out.writelines(synthetic_inventory(Engine(load_spec()), devices, seed=seed))
    return time.perf_counter() - started


def cli_run(inventory: Path, out: Path, goal: str, *extra: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``mostate campaign plan`` in a new process."""
    argv = [sys.executable, "-m", "mostate", "campaign", "plan", str(inventory)]
    argv += ["--goal", goal, "--target", "new", "--out", str(out), "--format", "json", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"campaign plan failed ({done.returncode}): {done.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return seconds, peak / 1024


def in_process(inventory: Path, out: Path, goal: str, executor: object = None) -> float:
    started = time.perf_counter()
    with inventory.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as handle:
        plan_inventory(Campaign(goal, "new"), lines, handle.write, executor=executor)  # type: ignore[arg-type]
    return time.perf_counter() - started


def per_device(inventory: Path, goal: str, sample: int) -> float:
    """Seconds per device of mostate.explore.plan, on the first ``sample`` devices."""
    engine = Engine(load_spec())
    parsed = Goal.parse(goal, "MMS", "new")
    with inventory.open(encoding="utf-8") as lines:
        states = [
            DeviceState.from_json(json.loads(line)["state"])
            for line in itertools.islice(lines, sample)
        ]
    started = time.perf_counter()
    for state in states:
        plan(engine, state, parsed)
    return (time.perf_counter() - started) / len(states)


def digest(path: Path) -> tuple[int, str]:
    lines, sha = 0, hashlib.sha256()
    with path.open("rb") as handle:
        for line in handle:
            lines += 1
            sha.update(line)
    return lines, sha.hexdigest()[:12]


def dask_run(inventory: Path, out: Path, goal: str) -> float:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        return in_process(inventory, out, goal, client.get_executor())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--goal", default=GOAL)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    args = parser.parse_args()
    console = Console(width=150)
    n = args.devices
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        inventory = tmp / "fleet.jsonl"
        made = generate(inventory, n, args.seed)
        console.print(f"fleet of {n:,} devices written in {made:.1f} s (not counted)")
        rows: list[tuple[str, float, float | None]] = []
        outputs: dict[str, tuple[int, str]] = {}
        seconds, rss = cli_run(inventory, tmp / "one.jsonl", args.goal)
        rows.append(("campaign plan, one process", seconds, rss))
        outputs["one process"] = digest(tmp / "one.jsonl")
        seconds, rss = cli_run(inventory, tmp / "two.jsonl", args.goal, "--jobs", "2")
        rows.append(("campaign plan --jobs 2", seconds, rss))
        outputs["--jobs 2"] = digest(tmp / "two.jsonl")
        if not args.no_dask:
            alone = in_process(inventory, tmp / "alone.jsonl", args.goal)
            rows.append(("plan_inventory in this process", alone, None))
            outputs["this process"] = digest(tmp / "alone.jsonl")
            on_dask = dask_run(inventory, tmp / "dask.jsonl", args.goal)
            rows.append(("plan_inventory on Dask LocalCluster(2)", on_dask, None))
            outputs["Dask"] = digest(tmp / "dask.jsonl")
        each = per_device(inventory, args.goal, args.sample)
    baseline = each * n
    table = Table(
        title=f"campaign plan: {n:,} synthetic devices, goal {args.goal!r}, seed {args.seed}"
    )
    for column in ("run", "seconds", "devices/s", "peak RSS MiB", "x faster than plan per device"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for name, seconds, rss in rows:
        table.add_row(
            name,
            f"{seconds:.1f}",
            f"{n / seconds:,.0f}",
            "-" if rss is None else f"{rss:.0f}",
            f"{baseline / seconds:.0f}",
        )
    table.add_row(
        f"explore.plan per device ({args.sample} measured, extrapolated)",
        f"{baseline:.0f}",
        f"{1 / each:,.0f}",
        "-",
        "1",
    )
    console.print(table)
    one_s, one_rss = rows[0][1], rows[0][2] or 0.0
    console.print(
        f"target < 60 s: {'met' if one_s < 60 else 'MISSED'} ({one_s:.1f} s); "
        f"target < 1 GiB: {'met' if one_rss < 1024 else 'MISSED'} ({one_rss:.0f} MiB)"
    )
    if not args.no_dask:
        console.print(f"Dask LocalCluster(2) vs this process alone: x{rows[2][1] / rows[3][1]:.2f}")
    same = {v for v in outputs.values()}
    console.print(f"outputs ({n:,} lines each expected): {outputs}")
    if len(same) != 1 or next(iter(same))[0] != n:
        console.print("[red]the runs disagree or lost lines[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
