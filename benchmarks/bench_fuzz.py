"""Hostile input, counted: every kind of input mostate reads, mutated, and what came of it.

    python benchmarks/bench_fuzz.py [--count 2000] [--seed 1] [--writers 50]

For each class of input (spec text, trace files, state files, SyncML in XML, SyncML in WBXML)
it feeds ``--count`` mutations of a valid input to the code that reads it, and counts results,
clean refusals, tracebacks (must be 0) and inputs that took over 10 s (hangs: must be 0). The
baseline, measured in the same run, is the valid input itself: the table gives each class's mean
time per input as a ratio to it. Then ``--writers`` pairs of concurrent ``dm process`` runs on one
state file each, counting lost updates (must be 0).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.bench_omadm import campaign
from benchmarks.bench_omadm import mutate as mutate_bytes
from mostate import DeviceState, Engine, SpecError, load_spec
from mostate.cli import main as cli
from mostate.omadm import Device, Server, write_package, write_wbxml
from mostate.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
HANG_S = 10.0
JUNK = ["(", ")", "[", "]", '"', "\\", "->", "and", "not", "==", ",", "\n", "#", "١٢", "9" * 30]


def mutate_text(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        at, span = rng.randrange(len(text) + 1), rng.randint(1, 80)
        match rng.randrange(5):
            case 0:
                text = text[:at] + text[at + span :]
            case 1:
                text = text[:at] + text[at : at + span] * 2 + text[at + span :]
            case 2:
                piece, rest = text[at : at + span], text[:at] + text[at + span :]
                to = rng.randrange(len(rest) + 1)
                text = rest[:to] + piece + rest[to:]
            case 3:
                text = text[:at] + rng.choice(JUNK) + text[at:]
            case _:
                depth = rng.randint(20, 3000)
                text = text[:at] + "(" * depth + "x" + ")" * depth + text[at:]
    return text


Outcome = str  # "result", "refused" or "traceback: ..."


Class = tuple[Any, Callable[[random.Random, Any], Any], Callable[[Any], Outcome]]


def classes(tmp: Path) -> dict[str, Class]:
    """Each class: the valid input, how to mutate it, how to feed one input."""
    engine = Engine(load_spec())
    device = Device(engine)
    start = DeviceState.from_json({"MMS": {"a": {"active": True, "locked": True}}})
    built = Server(engine).build(campaign())[0]

    def spec(text: Any) -> Outcome:
        try:
            parse_spec(str(text), "<fuzz>")
        except SpecError:
            return "refused"
        return "result"

    def run_file(name: str, args: list[str]) -> Callable[[object], Outcome]:
        def feed(text: Any) -> Outcome:
            path = tmp / name
            path.write_text(str(text), errors="surrogatepass")
            quiet = io.StringIO()
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                code = cli([*args, str(path)] if name.endswith(".jsonl") else args)
            return "result" if code in (0, 1) else "refused"

        return feed

    trace = tmp / "t.jsonl"
    trace.write_text(
        json.dumps({"actor": "server", "op": "add", "service": "MMS", "instance": "z"})
    )

    def package(data: Any) -> Outcome:
        after, answer = device.process(start, data)
        if answer.statuses()[0].code == 200:
            return "result"
        return "refused" if after == start else "traceback: a refusal changed the state"

    scenario = (ROOT / "specs" / "scenarios" / "normal-flow.jsonl").read_text()
    state = json.dumps({"MMS": {"a": {"active": True, "params": {"MMSC": "x"}}, "b": {}}})

    def text(rng: random.Random, value: Any) -> str:
        return mutate_text(rng, str(value))

    def raw(rng: random.Random, value: Any) -> bytes:
        return mutate_bytes(rng, bytes(value))

    with_state = ["run", str(trace), "--state", str(tmp / "state.json")]
    return {
        "spec text": ((ROOT / "specs" / "ccs.toml").read_text(), text, spec),
        "trace files": (scenario, text, run_file("trace.jsonl", ["check"])),
        "state files": (state, text, run_file("state.json", with_state)),
        "SyncML XML": (write_package(built).encode(), raw, package),
        "SyncML WBXML": (write_wbxml(built), raw, package),
    }  # fmt: skip


def fuzz(count: int, seed: int) -> Table:
    table = Table(title=f"{count:,} mutated inputs per class, seed {seed}")
    for column in ("class", "results", "refused", "tracebacks", f"over {HANG_S:.0f} s",
                   "ms/input", "ratio to the valid input"):  # fmt: skip
        table.add_column(column)
    with tempfile.TemporaryDirectory() as folder:
        for name, (valid, mutate, feed) in classes(Path(folder)).items():
            rng = random.Random(seed)
            assert feed(valid) == "result", name  # the baseline is a valid input (warmed up)
            began = time.perf_counter()
            for _ in range(5):
                feed(valid)
            base = (time.perf_counter() - began) / 5
            tally = {"result": 0, "refused": 0, "traceback": 0, "hang": 0}
            total = 0.0
            for _ in range(count):
                data = mutate(rng, valid)
                began = time.perf_counter()
                try:
                    outcome = feed(data)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except Exception as err:  # counted: the point is that there are none
                    outcome = f"traceback: {type(err).__name__}"
                spent = time.perf_counter() - began
                total += spent
                tally["hang"] += spent > HANG_S
                tally[outcome.split(":")[0]] += 1
            mean = total / count
            table.add_row(name, f"{tally['result']:,}", f"{tally['refused']:,}",
                          str(tally["traceback"]), str(tally["hang"]), f"{mean * 1000:.2f}",
                          f"{mean / base:.2f}x")  # fmt: skip
    return table


def writers(pairs: int) -> Table:
    """``pairs`` state files, each given two concurrent dm process runs adding a and b."""
    mostate = [sys.executable, "-m", "mostate"]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        packages = []
        for name in ("a", "b"):
            trace = tmp / f"{name}.jsonl"
            line = {"actor": "server", "op": "add", "service": "MMS", "instance": name}
            trace.write_text(json.dumps(line) + "\n")
            built = subprocess.run([*mostate, "dm", "build", str(trace)], capture_output=True,
                                   text=True, check=True)  # fmt: skip
            (tmp / f"{name}.xml").write_text(built.stdout)
            packages.append(tmp / f"{name}.xml")
        states = [tmp / f"s{n}.json" for n in range(pairs)]
        for state in states:
            state.write_text("{}\n")
        jobs = [(p, s) for s in states for p in packages]
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda job: subprocess.run(
                [*mostate, "dm", "process", str(job[0]), "--state", str(job[1])],
                capture_output=True).returncode, jobs))  # fmt: skip
        seconds = time.perf_counter() - began
        lost = sum(sorted(json.loads(s.read_text()).get("MMS", {})) != ["a", "b"] for s in states)
    table = Table(title=f"{pairs} state files, two concurrent dm process runs each")
    for column in ("runs", "exit 0", "lost updates", "seconds"):
        table.add_column(column)
    table.add_row(str(len(jobs)), str(codes.count(0)), str(lost), f"{seconds:.1f}")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000, help="mutations per class")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--writers", type=int, default=50, help="state files written twice at once")
    args = parser.parse_args()
    out = Console()
    out.print(fuzz(args.count, args.seed))
    if args.writers:
        out.print(writers(args.writers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
