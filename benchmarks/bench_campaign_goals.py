"""Deep goals: a million devices planned toward one, two and three flags, the guided search
against the plain breadth-first search, in the same run.

    python benchmarks/bench_campaign_goals.py [--devices 1000000] [--baseline-devices 100000]
                                              [--seed 1] [--rounds 1]

A synthetic fleet (``mostate campaign fleet``: 1 to 4 MMS instances a device, random Active,
Default and Locked flags, MMSC values from a few; written once, not counted) is planned toward
each goal:

* by ``mostate campaign plan`` as a user runs it (a new process, start-up and the goal's proof
  included, plans written to a file), whose peak resident memory is that process's;
* by :func:`mostate.campaign.plan_inventory` in this process, guided (the campaign carrying
  what :func:`mostate.symbolic.progress.prove_goal` proves of its goal, as the CLI's does);
* the baseline: on the first ``--baseline-devices`` devices of the same inventory (the plain
  search takes about 18 minutes for the three-flag goal on a million), in this process,
  guided and without the proof, the plain breadth-first search every plan came
  from before, in the same run.

The outputs of one fleet must be the same byte for byte (the same plan for every device), and a
sample of plans is replayed through the engine to the goal. Target (issue 28): the three-flag
goal on 1,000,000 devices under 60 s, by ``campaign plan``. ``--rounds`` repeats the guided runs
and reports their median (the machine is shared: timings are noisy); the baseline runs once.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mostate import DeviceState, Engine, Request, Status, load_spec
from mostate.campaign import Campaign, plan_inventory, synthetic_inventory
from mostate.campaign.lines import worker_planner
from mostate.explore import Goal
from mostate.symbolic.progress import prove_goal

GOALS = (
    "exists(target) and active(target)",
    "active(target) and locked(target)",
    "active(target) and default(target) and locked(target)",
)
TARGET_S = 60.0


def generate(path: Path, devices: int, seed: int) -> float:
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        out.writelines(synthetic_inventory(Engine(load_spec()), devices, seed=seed))
    return time.perf_counter() - started


def cli_run(inventory: Path, out: Path, goal: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``mostate campaign plan`` in a new process."""
    argv = [sys.executable, "-m", "mostate", "campaign", "plan", str(inventory)]
    argv += ["--goal", goal, "--target", "new", "--out", str(out), "--format", "json"]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not all children's
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        assert child.stderr is not None
        raise SystemExit(f"campaign plan failed ({code}): {child.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def in_process(inventory: Path, out: Path, campaign: Campaign) -> float:
    """Seconds of plan_inventory here, from a cold start: the process keeps each campaign's
    planner, and with it the plans of every canonical state, for its next chunks."""
    worker_planner.cache_clear()
    started = time.perf_counter()
    with inventory.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as handle:
        plan_inventory(campaign, lines, handle.write)
    return time.perf_counter() - started


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:12]


def replayed(inventory: Path, plans: Path, goal_text: str, every: int) -> int:
    """Replay every ``every``-th plan through the engine; how many reached the goal (an
    assertion error names the first that does not)."""
    engine, goal = Engine(load_spec()), Goal.parse(goal_text, "MMS", "new")
    checked = 0
    with inventory.open(encoding="utf-8") as ins, plans.open(encoding="utf-8") as outs:
        for line, planned in itertools.islice(zip(ins, outs, strict=True), 0, None, every):
            state = DeviceState.from_json(json.loads(line)["state"])
            for request in json.loads(planned)["plan"]:
                outcome = engine.apply(state, Request.from_json(request))
                assert outcome.status == Status.OK, (planned, outcome.reason)
                state = outcome.state
            assert goal.holds(state), planned
            checked += 1
    return checked


def measure(
    tmp: Path, inventory: Path, subset: Path | None, goal: str, rounds: int
) -> dict[str, object]:
    cli = [cli_run(inventory, tmp / "cli.jsonl", goal) for _ in range(rounds)]
    proved = Campaign(goal, "new", progress=prove_goal(load_spec(), goal))
    guided = [in_process(inventory, tmp / "guided.jsonl", proved) for _ in range(rounds)]
    row: dict[str, object] = {
        "goal": goal,
        "cli": statistics.median(s for s, _ in cli),
        "rss": max(r for _, r in cli),
        "guided": statistics.median(guided),
        "same": digest(tmp / "cli.jsonl") == digest(tmp / "guided.jsonl"),
    }
    if subset is not None:
        row["small guided"] = in_process(subset, tmp / "small-guided.jsonl", proved)
        row["plain"] = in_process(subset, tmp / "plain.jsonl", Campaign(goal, "new"))
        row["same"] = row["same"] and digest(tmp / "plain.jsonl") == digest(
            tmp / "small-guided.jsonl"
        )
    row["replayed"] = replayed(inventory, tmp / "guided.jsonl", goal, every=997)
    return row


def show(console: Console, rows: list[dict[str, object]], n: int, small: int, seed: int) -> None:
    table = Table(title=f"campaign plan: {n:,} synthetic devices (seed {seed}), target 'new'")
    columns = (
        "goal", f"plain BFS s ({small:,})", f"guided s ({small:,})", "x faster",
        f"guided s ({n:,})", f"campaign plan s ({n:,})", "devices/s", "peak RSS MiB",
        "same plans", "replayed",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "goal" else "right")
    for row in rows:
        plain, small_s = row.get("plain"), row.get("small guided")
        guided, cli = float(row["guided"]), float(row["cli"])  # type: ignore[arg-type]
        table.add_row(
            str(row["goal"]),
            "-" if plain is None else f"{plain:.1f}",
            "-" if small_s is None else f"{small_s:.1f}",
            "-" if plain is None else f"{float(plain) / float(small_s):.1f}",  # type: ignore[arg-type]
            f"{guided:.1f}",
            f"{cli:.1f}",
            f"{n / cli:,.0f}",
            f"{row['rss']:.0f}",
            "yes" if row["same"] else "NO",
            str(row["replayed"]),
        )
    console.print(table)


def head(source: Path, out: Path, lines: int) -> Path:
    """The first ``lines`` lines of ``source``, written to ``out``."""
    with source.open(encoding="utf-8") as ins, out.open("w", encoding="utf-8") as handle:
        handle.writelines(itertools.islice(ins, lines))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="guided runs per goal (median)")
    parser.add_argument(
        "--baseline-devices", type=int, default=100_000, help="the plain search's fleet (0: none)"
    )
    parser.add_argument("--goal", action="append", help="a goal (repeatable; default: three)")
    args = parser.parse_args()
    console = Console(width=170)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        inventory = tmp / "fleet.jsonl"
        made = generate(inventory, args.devices, args.seed)
        console.print(f"fleet of {args.devices:,} devices written in {made:.1f} s (not counted)")
        small = min(args.baseline_devices, args.devices)
        subset = head(inventory, tmp / "small.jsonl", small) if small else None
        for goal in args.goal or GOALS:
            rows.append(measure(tmp, inventory, subset, goal, args.rounds))
            console.print(f"  {goal}: done")
    show(console, rows, args.devices, small, args.seed)
    deepest = next((r for r in rows if r["goal"] == GOALS[-1]), None)
    if deepest is not None:
        seconds = float(deepest["cli"])  # type: ignore[arg-type]
        verdict = "met" if seconds < TARGET_S else "MISSED"
        console.print(
            f"target: the three-flag goal under {TARGET_S:.0f} s: {verdict} ({seconds:.1f} s)"
        )
    if not all(r["same"] for r in rows):
        console.print("[red]the runs disagree: a plan differs[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
