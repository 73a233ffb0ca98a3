"""How long `mostate verify --complete` and `mostate verify --cross-check` take on the shipped
spec, each as a ratio to plain `mostate verify` measured in the same run.

    PYTHONPATH=. python benchmarks/bench_verify_modes.py [--repeat 5] [--depth 4]

Each row runs the command whole, in this process (`mostate.cli.main`, its output thrown away:
parsing, the proofs, the rules table and what the option adds), --repeat times, and shows the
median, the fastest and the slowest wall-clock seconds (the machine is shared: the median is the
number to read) and the median's ratio to plain verify's. Targets: --complete under 5x,
--cross-check (cvc5 asked every query Z3 decided) under 10x.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

from rich.console import Console
from rich.table import Table

from mostate.cli import main

MODES = {
    "verify (baseline)": [],
    "verify --complete": ["--complete"],
    "verify --cross-check": ["--cross-check"],
}
TARGETS = {"verify --complete": 5.0, "verify --cross-check": 10.0}


def timed(argv: list[str], repeat: int) -> list[float]:
    """The wall-clock seconds of ``repeat`` runs of ``mostate ARGV`` (each must exit 0)."""
    out: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
        out.append(time.perf_counter() - start)
        if code != 0:
            raise SystemExit(f"mostate {' '.join(argv)} exited {code}")
    return out


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--depth", default="4", help="verify's --depth (default 4, as it runs)")
    args = parser.parse_args()
    table = Table(title="mostate verify on specs/ccs.toml: the options against plain verify")
    for column in ("run", "median s", "min s", "max s", "x verify", "target"):
        table.add_column(column, justify="left" if column == "run" else "right")
    base = 0.0
    # Rounds rather than one mode after another: a slow spell of the shared machine then
    # touches every mode alike.
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(max(1, args.repeat)):
        for mode, extra in MODES.items():
            times[mode] += timed(["verify", "--depth", args.depth, *extra], 1)
    for mode, runs in times.items():
        median = statistics.median(runs)
        base = base or median
        target = TARGETS.get(mode)
        table.add_row(
            mode,
            f"{median:.2f}",
            f"{min(runs):.2f}",
            f"{max(runs):.2f}",
            f"{median / base:.2f}",
            f"< {target:g}x" if target else "",
        )
    Console().print(table)


if __name__ == "__main__":
    main_()
