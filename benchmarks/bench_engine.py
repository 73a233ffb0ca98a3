"""Engine.apply against the hand-written decision table, over the same random requests.

    python benchmarks/bench_engine.py [--requests 100000] [--seed 1] [--repeat 3]

Prints a table: requests/s for each engine (generated code, monitored and not; the interpreter,
monitored and not) and its time as a ratio of the hand-written table's, measured in the same
run (the best of ``--repeat`` runs each, taken in turn, so a busy machine slows all alike).
Targets (issue 11): generated and monitored within 1.25x; ``monitor=False`` below 1x.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from handwritten import decide
from rich.console import Console
from rich.table import Table

from mostate import DeviceState, Engine, Request, load_spec

SERVICES = ("MMS", "WAP")
INSTANCES = ("a", "b", "c", "d")
OPS = tuple(load_spec().ops)  # every operation of the shipped spec


def random_requests(count: int, seed: int) -> list[Request]:
    """A reproducible mix of every operation, both actors, with and without confirmation."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        op = rng.choice(OPS)
        obj: dict[str, object] = {
            "actor": rng.choice(("user", "server")),
            "op": op,
            "service": rng.choice(SERVICES),
        }
        if op not in ("get_active", "in_use"):
            obj["instance"] = rng.choice(INSTANCES)
        if op.startswith("set_"):
            obj["value"] = rng.random() < 0.7
        if op == "replace":
            obj["param"], obj["value"] = rng.choice(("MMSC", "proxy")), rng.choice(("x", "y"))
        if op == "add" and rng.random() < 0.5:
            obj["params"] = {"MMSC": "http://mmsc"}
        if obj["actor"] == "server" and rng.random() < 0.2:
            obj["confirm"] = rng.choice(("accept", "decline"))
        out.append(Request.from_json(obj))
    return out


def time_engine(engine: Engine, requests: list[Request]) -> tuple[float, DeviceState]:
    state = DeviceState()
    start = time.perf_counter()
    for request in requests:
        state = engine.apply(state, request).state
    return time.perf_counter() - start, state


def time_handwritten(requests: list[Request]) -> tuple[float, DeviceState]:
    state = DeviceState()
    start = time.perf_counter()
    for request in requests:
        state = decide(state, request)[1]
    return time.perf_counter() - start, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    requests = random_requests(args.requests, args.seed)
    spec = load_spec()
    engines = {
        "generated, monitored (default)": Engine(spec),
        "generated, monitor=False (proved spec)": Engine(spec, monitor=False),
        "interpreted, monitored": Engine(spec, backend="interpreted"),
        "interpreted, monitor=False": Engine(spec, monitor=False, backend="interpreted"),
    }
    best = dict.fromkeys(["hand-written (baseline)", *engines], float("inf"))
    for _ in range(args.repeat):
        seconds, base_state = time_handwritten(requests)
        best["hand-written (baseline)"] = min(best["hand-written (baseline)"], seconds)
        for label, engine in engines.items():
            seconds, state = time_engine(engine, requests)
            if state != base_state:
                print(f"{label} and the hand-written table disagree", file=sys.stderr)
                return 1
            best[label] = min(best[label], seconds)
    base = best["hand-written (baseline)"]
    table = Table(title=f"Engine.apply vs hand-written decision table ({len(requests):,} requests)")
    for column in ("implementation", "seconds", "requests/s", "ratio"):
        table.add_column(column, justify="right")
    for label, seconds in best.items():
        table.add_row(
            label, f"{seconds:.3f}", f"{len(requests) / seconds:,.0f}", f"{seconds / base:.2f}x"
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
