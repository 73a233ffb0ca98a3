"""Engine.apply against the hand-written decision table, over the same random requests.

    python benchmarks/bench_engine.py [--requests 100000] [--seed 1]

Prints a table: requests/s for each, and the ratio engine / hand-written (target: <= 2x).
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
    args = parser.parse_args()
    requests = random_requests(args.requests, args.seed)
    spec = load_spec()
    base_time, base_state = time_handwritten(requests)
    engine_time, engine_state = time_engine(Engine(spec), requests)
    trusted_time, trusted_state = time_engine(Engine(spec, monitor=False), requests)
    if not base_state == engine_state == trusted_state:
        print("the engine and the hand-written table end in different states", file=sys.stderr)
        return 1
    table = Table(title=f"Engine.apply vs hand-written decision table ({len(requests):,} requests)")
    for column in ("implementation", "seconds", "requests/s", "ratio"):
        table.add_column(column, justify="right")
    table.add_row(
        "hand-written (baseline)", f"{base_time:.3f}", f"{len(requests) / base_time:,.0f}", "1.00x"
    )
    for label, seconds in (
        ("Engine.apply, monitored (default)", engine_time),
        ("Engine.apply, monitor=False (proved spec)", trusted_time),
    ):
        table.add_row(
            label,
            f"{seconds:.3f}",
            f"{len(requests) / seconds:,.0f}",
            f"{seconds / base_time:.2f}x",
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
