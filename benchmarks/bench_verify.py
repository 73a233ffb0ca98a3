"""How long `mostate verify` takes: the whole shipped spec unbounded, and bounded for growing N.

    python benchmarks/bench_verify.py [--repeat 3] [--bounds 2,4,8,16,32,64]

Prints a table: checks, proved, wall-clock seconds (best of --repeat) for the unbounded proof
(the baseline, target < 1 s) and for each bound N (exactly N instance names), with the ratio
to the baseline measured in the same run, then the cost of the mutants (with the trace search).

The liveness rows time the witnesses that every rule can fire (``check_liveness``, the rules
table of ``mostate verify``; "checks" counts rules and premises, "proved" the live ones) at
--depth K, as verify runs it after a full proof and without one (then the search from the empty
device must check every step it takes), and the whole of ``mostate verify`` (proof + liveness,
target < 3 s).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mostate import load_spec
from mostate.rules import Spec
from mostate.symbolic import Live, Proved, Verifier, Violated, check_liveness

ROOT = Path(__file__).resolve().parent.parent


def timed(spec: Spec, bound: int | None, repeat: int, depth: int = 0) -> tuple[float, int, int]:
    """Best wall-clock time of ``repeat`` full verifications, with the check and proof counts."""
    best, checks, proved = float("inf"), 0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        results = list(Verifier(spec, bound=bound, depth=depth).checks())
        best = min(best, time.perf_counter() - start)
        checks, proved = len(results), sum(isinstance(c.verdict, Proved) for c in results)
    return best, checks, proved


def timed_liveness(spec: Spec, depth: int, proved: bool, repeat: int) -> tuple[float, int, int]:
    """Best wall-clock time of ``repeat`` liveness runs, with the rule and live counts."""
    best, rules, live = float("inf"), 0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = check_liveness(spec, depth=depth, proved=proved)
        best = min(best, time.perf_counter() - start)
        rules, live = len(rows), sum(isinstance(r.verdict, Live) for r in rows)
    return best, rules, live


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bounds", default="2,4,8,16,32,64")
    parser.add_argument("--depth", type=int, default=4, help="liveness search depth (verify's)")
    args = parser.parse_args()
    spec = load_spec()
    table = Table(title="mostate verify on the shipped spec (ccs.toml)")
    for column in ("mode", "checks", "proved", "seconds", "x unbounded"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    base, checks, proved = timed(spec, None, args.repeat)
    table.add_row("unbounded", str(checks), str(proved), f"{base:.3f}", "1.00")
    for proof in (True, False):
        seconds, rules, live = timed_liveness(spec, args.depth, proof, args.repeat)
        mode = f"liveness depth {args.depth}" + (", proved" if proof else ", unproved")
        table.add_row(mode, str(rules), str(live), f"{seconds:.3f}", f"{seconds / base:.2f}")
        if proof:
            whole = base + seconds
            mode = "verify = proof + liveness"
            table.add_row(mode, "", "", f"{whole:.3f}", f"{whole / base:.2f}")
    for bound in (int(b) for b in args.bounds.split(",")):
        seconds, checks, proved = timed(spec, bound, max(1, args.repeat if bound <= 16 else 1))
        table.add_row(
            f"bound N={bound}", str(checks), str(proved), f"{seconds:.3f}", f"{seconds / base:.2f}"
        )
    Console().print(table)
    _mutants(base)


def _mutants(base: float) -> None:
    table = Table(title="mutants: unbounded proof + trace search from the empty device (depth 4)")
    for column in ("mutant", "violated", "reachable", "seconds", "x shipped spec"):
        table.add_column(column, justify="left" if column in ("mutant", "violated") else "right")
    for path in sorted((ROOT / "specs" / "mutants").glob("*.toml")):
        if path.name == "manifest.toml":
            continue
        start = time.perf_counter()
        checks = list(Verifier(load_spec(path), depth=4).checks())
        seconds = time.perf_counter() - start
        bad = [c for c in checks if isinstance(c.verdict, Violated)]
        reach = sum(
            isinstance(c.verdict, Violated) and c.verdict.reachable is not None for c in bad
        )
        names = ", ".join(sorted({c.name for c in bad}))
        table.add_row(
            path.stem, names, f"{reach}/{len(bad)}", f"{seconds:.2f}", f"{seconds / base:.1f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
