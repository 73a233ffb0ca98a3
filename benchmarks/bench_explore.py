"""The explorer against its anchors, measured in the same run (issue 11, part 5).

    python benchmarks/bench_explore.py [--spin-max 5] [--reference-max 3] [--symmetry-max 8]
                                       [--values 2] [--budget 600] [--repeat 3]

Three tables, every explorer run in a fresh subprocess (so its peak memory is its own):

* against SPIN (when ``spin`` and ``gcc`` are installed): the Promela model of the same table,
  ``benchmarks/ccs.pml``, with N instances and K values, no symmetry. SPIN's search time is what
  ``pan`` reports; its whole command is spin + gcc + pan, by the wall clock. The explorer's
  search is timed as pan's is, with its code generated and compiled first (a one-instance
  search with the same K, which generates every request's successor); its whole command is
  ``mostate explore --no-symmetry`` in a fresh interpreter, by the wall clock (start-up,
  imports, code generation, search and report). Up to N = 4 each side's time is the fastest
  of ``--repeat`` runs. The state counts must be equal (the run fails otherwise).
* against the networkx explorer this one replaced (:mod:`mostate.explore.reference`), on scopes
  small enough for it.
* with symmetry, N = 1 up to ``--symmetry-max``: orbits, the states they stand for, time and
  peak memory per orbit.

Bytes per state: the growth of the process's peak resident memory during the search (after the
spec is loaded and the engine built) over the states stored. A run whose predecessor, times
ten (about the growth from one N to the next), passes ``--budget`` seconds is skipped ("-").

Targets (issue 11): N = 4, K = 2 without symmetry within 1.5x SPIN's search and faster than its
whole command; N = 5 within 1.5x SPIN's search in under 200 bytes per state; with symmetry
N = 6 under 5 s and N = 8 under 60 s.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402  (the path above must come first)
from rich.table import Table  # noqa: E402

MODEL = Path(__file__).resolve().parent / "ccs.pml"


def one(instances: int, values: int, symmetry: bool, reference: bool) -> dict[str, object]:
    """Explore once in this process and describe the run."""
    from mostate import Engine, load_spec
    from mostate.explore import ExploreScope, explore
    from tests.explore.reference import explore_reference

    engine = Engine(load_spec())
    search = explore_reference if reference else explore
    # Generate and compile the code of every request of the scope first (its successors do
    # not depend on the names), as SPIN's model is compiled before pan's search is timed.
    search(engine, ExploreScope(1, values), symmetry=symmetry)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run = search(engine, ExploreScope(instances, values), symmetry=symmetry)
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    return {
        "states": run.stats.states,
        "represented": run.stats.represented,
        "edges": run.stats.edges,
        "seconds": seconds,
        "bytes_per_state": grown / run.stats.states,
        "violations": sorted(run.violations),
    }


def measure(
    instances: int, values: int, symmetry: bool, budget: float, reference: bool = False
) -> dict[str, object]:
    """:func:`one` in a fresh interpreter."""
    flags = [str(instances), str(values), str(int(symmetry)), str(int(reference))]
    argv = [sys.executable, __file__, "--one", *flags]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=budget * 10, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def spin(instances: int, values: int, budget: float) -> dict[str, float]:
    """SPIN on ``ccs.pml``: states stored, pan's search time and the whole command's time."""
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        defines = [f"-DN={instances}", f"-DK={values}"]
        subprocess.run(["spin", "-a", *defines, str(MODEL)], cwd=work, check=True, timeout=budget)
        compile_ = ["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-DMEMLIM=8000", "-o", "pan", "pan.c"]
        subprocess.run(compile_, cwd=work, check=True, timeout=budget)
        pan = subprocess.run(
            ["./pan", "-m10000000"], cwd=work, capture_output=True, text=True, timeout=budget
        )
        whole = time.perf_counter() - started
    return {
        "states": int(_grab(r"(\d+) states, stored", pan.stdout)),
        "search": float(_grab(r"pan: elapsed time ([\d.e+-]+) seconds", pan.stdout)),
        "whole": whole,
        "memory": float(_grab(r"([\d.]+)\s+total actual memory usage", pan.stdout)),
    }


def whole_command(instances: int, values: int, budget: float) -> float:
    """The wall-clock time of ``mostate explore`` without symmetry, in a fresh interpreter."""
    argv = [sys.executable, "-m", "mostate", "explore", "--no-symmetry", "--format", "json"]
    argv += ["--instances", str(instances), "--values", str(values)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=budget, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a property violated, still a whole search
        raise SystemExit(f"mostate explore failed:\n{done.stderr}")
    return seconds


def _grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"pan's output has no {pattern!r}:\n{text}")
    return found.group(1)


def spin_available() -> bool:
    """Whether ``spin`` and ``gcc`` are on the PATH."""
    return shutil.which("spin") is not None and shutil.which("gcc") is not None


def _f(value: object, spec: str = ".2f") -> str:
    return format(float(str(value)), spec)


def spin_table(args: argparse.Namespace) -> Table:
    table = Table(title=f"explorer vs SPIN 6 (benchmarks/ccs.pml), K = {args.values}, no symmetry")
    columns = ("N", "states", "SPIN states", "explorer s", "SPIN search s", "x SPIN search")
    wholes = ("explorer whole s", "SPIN whole s", "x SPIN whole", "bytes/state", "SPIN MB")
    for column in (*columns, *wholes):
        table.add_column(column, justify="right")
    skip = False
    for n in range(3, args.spin_max + 1):
        # The fastest of ``--repeat`` runs on each side (the machine's speed drifts by a
        # third within minutes); one run each for N = 5 and beyond, which take seconds.
        repeat = args.repeat if n <= 4 else 1
        anchors = [spin(n, args.values, args.budget) for _ in range(repeat)]
        anchor = min(anchors, key=lambda a: a["search"])
        anchor = {**anchor, "whole": min(a["whole"] for a in anchors)}
        mine = None
        if not skip:
            runs = [measure(n, args.values, False, args.budget) for _ in range(repeat)]
            mine = min(runs, key=lambda m: float(str(m["seconds"])))
        if mine is None:
            table.add_row(str(n), "-", f"{anchor['states']:,.0f}", "-", _f(anchor["search"]))
            continue
        if mine["states"] != anchor["states"]:
            raise SystemExit(f"N={n}: the explorer stores {mine['states']}, SPIN {anchor}")
        seconds = float(str(mine["seconds"]))
        whole = min(whole_command(n, args.values, args.budget) for _ in range(repeat))
        table.add_row(
            str(n),
            f"{mine['states']:,}",
            f"{anchor['states']:,.0f}",
            f"{seconds:.2f}",
            f"{anchor['search']:.2f}",
            f"{seconds / max(anchor['search'], 0.01):.1f}",
            f"{whole:.2f}",
            f"{anchor['whole']:.2f}",
            f"{whole / anchor['whole']:.2f}",
            _f(mine["bytes_per_state"], ",.0f"),
            f"{anchor['memory']:.0f}",
        )
        skip = 10 * seconds > args.budget
    return table


def reference_table(args: argparse.Namespace) -> Table:
    table = Table(title=f"explorer vs the networkx explorer it replaced, K = {args.values}")
    for column in ("N", "symmetry", "states", "edges", "explorer s", "networkx s", "speed-up"):
        table.add_column(column, justify="right")
    table.add_column("bytes/state (new / networkx)", justify="right")
    for n in range(2, args.reference_max + 1):
        for symmetry in (False, True):
            mine = measure(n, args.values, symmetry, args.budget)
            old = measure(n, args.values, symmetry, args.budget, reference=True)
            if (mine["states"], mine["edges"]) != (old["states"], old["edges"]):
                raise SystemExit(f"N={n}: the explorers disagree: {mine} {old}")
            new_s, old_s = float(str(mine["seconds"])), float(str(old["seconds"]))
            table.add_row(
                str(n),
                "on" if symmetry else "off",
                f"{mine['states']:,}",
                f"{mine['edges']:,}",
                f"{new_s:.2f}",
                f"{old_s:.2f}",
                f"{old_s / new_s:.1f}",
                f"{_f(mine['bytes_per_state'], ',.0f')} / {_f(old['bytes_per_state'], ',.0f')}",
            )
    return table


def symmetry_table(args: argparse.Namespace) -> Table:
    table = Table(title=f"explorer with symmetry, K = {args.values}")
    for column in ("N", "orbits", "represented", "edges", "time s", "edges/s", "bytes/orbit"):
        table.add_column(column, justify="right")
    table.add_column("violations")
    skip = False
    for n in range(1, args.symmetry_max + 1):
        found = None if skip else measure(n, args.values, True, args.budget)
        if found is None:
            table.add_row(str(n), *["-"] * 7)
            continue
        seconds = float(str(found["seconds"]))
        table.add_row(
            str(n),
            f"{found['states']:,}",
            f"{found['represented']:,}",
            f"{found['edges']:,}",
            f"{seconds:.2f}",
            f"{float(str(found['edges'])) / seconds:,.0f}",
            _f(found["bytes_per_state"], ",.0f"),
            ", ".join(found["violations"]) or "none",  # type: ignore[arg-type]  # names from JSON
        )
        skip = 10 * seconds > args.budget
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spin-max", type=int, default=5, help="largest N against SPIN")
    parser.add_argument("--reference-max", type=int, default=3, help="largest N vs networkx")
    parser.add_argument("--symmetry-max", type=int, default=8, help="largest N with symmetry")
    parser.add_argument("--values", type=int, default=2)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs a side for N <= 4 (best)")
    parser.add_argument("--one", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n, k, symmetry, reference = args.one
        print(json.dumps(one(n, k, bool(symmetry), bool(reference))))
        return
    console = Console(width=200)
    if spin_available():
        console.print(spin_table(args))
    else:
        console.print("SPIN or gcc is not installed: no SPIN anchor (apt-get install spin gcc)")
    console.print(reference_table(args))
    console.print(symmetry_table(args))


if __name__ == "__main__":
    main()
