"""A closed pipe is exit 141 and no traceback, on every command; Ctrl-C stops a long command at
once with what it found ("INTERRUPTED"), a second Ctrl-C never hangs, and no finaliser speaks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mostate import load_spec
from mostate.cli import main
from mostate.cli.interrupts import answered
from mostate.mutation import analyse, generate

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("Traceback", "Exception ignored", "owner")


def closed_pipe(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``mostate ARGV`` with its standard output a pipe nobody reads (closed at once)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mostate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr is not None else ""
    proc.wait(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, "", err)


@pytest.mark.slow  # about 1 s each here (2 cores): a process started with a closed pipe
@pytest.mark.parametrize(
    "argv",
    [
        ["--print-completion", "bash"],
        ["compile"],
        ["scenario", "specs/scenarios/normal-flow.jsonl"],
        ["fmt", "--check"],
    ],
)
def test_a_closed_pipe_is_141_without_a_traceback(argv: list[str]) -> None:
    done = closed_pipe(*argv)
    assert done.returncode == 141, done.stderr
    assert not any(word in done.stderr for word in NOISE), done.stderr


@pytest.mark.slow  # about 8 s here (2 cores): three commands that prove or explore
@pytest.mark.parametrize(
    "argv",
    [
        ["verify"],
        ["explore", "--instances", "2", "--values", "1"],
        ["diff", "specs/ccs.toml", "specs/mutants/user-can-lock.toml"],
    ],
    ids=["verify", "explore", "diff"],
)
def test_a_closed_pipe_never_reads_as_a_violation(argv: list[str]) -> None:
    # rich's console used to answer a broken pipe with SystemExit(1): "a property is violated"
    done = closed_pipe(*argv)
    assert done.returncode == 141, done.stderr
    assert not any(word in done.stderr for word in NOISE), done.stderr


class _DiesWithCtrlC:
    """An object whose finaliser is where Ctrl-C lands (as in Z3's, which free objects often)."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs here, inside __del__


def test_ctrl_c_in_a_finaliser_is_not_lost() -> None:
    with answered(), pytest.raises(KeyboardInterrupt):
        _DiesWithCtrlC()
        time.sleep(2)  # by default Python swallows it in __del__ and this sleep runs out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_in_a_gc_callback_is_not_lost() -> None:
    # Hypothesis times the collector with a gc callback; Python swallows what a callback raises,
    # so a Ctrl-C that landed there was printed as "Exception ignored" and conform ran on.
    import gc

    fired: list[bool] = []

    def ctrl_c_inside(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here, inside the callback

    with answered(), pytest.raises(KeyboardInterrupt):
        gc.callbacks.append(ctrl_c_inside)
        try:
            gc.collect()
            time.sleep(2)  # without the hook, the Ctrl-C is gone and this sleep runs out
        finally:
            gc.callbacks.remove(ctrl_c_inside)
    assert fired


def test_ctrl_c_inside_a_long_solver_check_stops_it_at_once() -> None:
    # Z3 used to take SIGINT for itself during a check: the check answered "unknown
    # (interrupted from keyboard)", the run went on as if one query were merely undecided,
    # and a Ctrl-C that landed as a check answered anyway did nothing at all.
    import threading

    import z3

    from mostate.cli.interrupts import also_stop
    from mostate.symbolic import Budget, interrupt_checks
    from mostate.symbolic._z3 import Bool, Session, Solver

    z = Session()
    holes = [z3.Int(f"h{n}", z.ctx) for n in range(60)]  # 60 pigeons, 59 holes: slow to refute
    pigeons = [z3.Distinct(*holes), *(z3.And(h >= 0, h < 59) for h in holes)]
    solver = Solver(z, Budget(timeout_ms=60_000, rlimit=0))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    try:
        with answered(), pytest.raises(KeyboardInterrupt):
            also_stop(interrupt_checks)
            timer.start()
            solver.check([Bool(p) for p in pigeons])
            time.sleep(2)  # the check answered before the Ctrl-C (it should not): wait for it
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.0


def test_verify_interrupted_prints_what_it_proved(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mostate.symbolic import Verifier

    checks = Verifier.checks

    def five_then_ctrl_c(self: Verifier) -> object:
        for n, check in enumerate(checks(self)):
            if n == 5:
                raise KeyboardInterrupt
            yield check

    monkeypatch.setattr(Verifier, "checks", five_then_ctrl_c)
    previous = signal.getsignal(signal.SIGINT)
    try:
        assert main(["verify"]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    out = capsys.readouterr().out
    assert "5 proved, 0 violated, 404 unknown" in out and "INTERRUPTED after 5 of 409" in out


def test_ctrl_c_wrapped_by_ctypes_is_an_interrupt_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Ctrl-C that lands while ctypes converts an argument for Z3 comes out as
    # ctypes.ArgumentError("argument 1: KeyboardInterrupt: "): it was a traceback and exit 1.
    import ctypes

    from mostate.symbolic import Verifier

    checks = Verifier.checks

    def three_then_wrapped_ctrl_c(self: Verifier) -> object:
        for n, check in enumerate(checks(self)):
            if n == 3:
                raise ctypes.ArgumentError("argument 1: KeyboardInterrupt: ")
            yield check

    monkeypatch.setattr(Verifier, "checks", three_then_wrapped_ctrl_c)
    assert main(["verify"]) == 130
    assert "INTERRUPTED after 3 of 409" in capsys.readouterr().out


def test_diff_interrupted_prints_what_it_compared(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mostate.symbolic import SpecDiff

    rows = SpecDiff.rows

    def two_then_ctrl_c(self: SpecDiff, ops: object = None) -> object:
        for n, row in enumerate(rows(self, ops)):
            if n == 2:
                raise KeyboardInterrupt
            yield row

    monkeypatch.setattr(SpecDiff, "rows", two_then_ctrl_c)
    argv = ["diff", str(ROOT / "specs/ccs.toml"), str(ROOT / "specs/mutants/user-can-lock.toml")]
    assert main([*argv, "--format", "json"]) == 130
    shown = json.loads(capsys.readouterr().out)
    assert shown["exit"] == 130 and len(shown["ops"]) == 2
    assert main(argv) == 130
    assert "INTERRUPTED after 2 comparisons" in capsys.readouterr().out


def test_campaign_plan_interrupted_says_how_far_it_got_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mostate.cli.campaign as plan_cli
    from mostate.campaign import plan_inventory

    def three_then_ctrl_c(campaign: object, lines: object, write: object, **kw: object) -> object:
        progress = kw["progress"]
        assert callable(progress)
        for n, line in enumerate(lines):  # type: ignore[attr-defined]
            if n == 3:
                raise KeyboardInterrupt
            plan_inventory(campaign, [line], write)  # type: ignore[arg-type]
            progress(1)
        raise AssertionError("the inventory has more than three devices")

    monkeypatch.setattr(plan_cli, "plan_inventory", three_then_ctrl_c)
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text("".join(f'{{"device": "d{n}", "state": {{}}}}\n' for n in range(5)))
    out = tmp_path / "plans.jsonl"
    out.write_text("the old plans\n")
    argv = ["campaign", "plan", "--goal", "exists(target)", "--target", "new"]
    assert main([*argv, "--out", str(out), str(inventory)]) == 130
    err = capsys.readouterr().err
    assert f"INTERRUPTED after 3 devices; {out} left as it was" in err
    assert out.read_text() == "the old plans\n"


def test_a_mutation_run_interrupted_keeps_the_mutants_classified() -> None:
    spec = load_spec()
    seen: list[object] = []

    def third_then_ctrl_c(outcome: object) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            raise KeyboardInterrupt

    mutants = generate(spec, ["drop_refusal"])
    report = analyse(spec, mutants, progress=third_then_ctrl_c)
    assert report.interrupted and len(report.outcomes) == 3 and report.total == len(mutants)
    assert report.summary().endswith(f"INTERRUPTED after 3 of {len(mutants)} mutants")


@pytest.mark.slow  # about 12 s here (2 cores): two real mutation runs, stopped
@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c twice"])
def test_ctrl_c_stops_mutate_within_two_seconds(presses: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mostate", "mutate", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own process group: Ctrl-C reaches the workers too
    )
    time.sleep(4)  # past start-up: the workers are inside Z3
    pressed = time.monotonic()
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.05)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    took = time.monotonic() - pressed
    assert proc.returncode == 130
    assert took < 2.0, f"stopped {took:.1f} s after Ctrl-C"
    assert not any(word in err for word in NOISE), err
    if presses == 1:
        assert "INTERRUPTED after" in out and "of 523 mutants" in out
