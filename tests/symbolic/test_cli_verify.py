"""``mostate verify`` end to end: exit codes, the table, JSON, and traces `mostate run` takes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate.cli import main
from mostate.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
CCS = str(ROOT / "specs" / "ccs.toml")
MUTANT = str(ROOT / "specs" / "mutants" / "delete-keeps-lock.toml")


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_shipped_spec_proves_with_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "PROVED" in out and "VIOLATED" not in out.split("\n")[-2]
    assert "locks_never_block_server" in out and "default_when_none_active" in out


@pytest.mark.slow  # about 5 s here (2 cores)
def test_a_mutant_exits_1_with_a_trace_that_mostate_run_replays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["verify", MUTANT, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    bad = [c for c in report["checks"] if c["verdict"] == "VIOLATED"]
    assert {c["property"] for c in bad} == {"flags_need_instance"}
    example = bad[0]["counterexample"]
    assert example["reachable"] is not None
    trace = tmp_path / "cex.jsonl"
    trace.write_text(Trace.from_json(example["reachable"]).to_jsonl(), encoding="utf-8")
    assert main(["run", "--spec", MUTANT, str(trace)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # The engine guards the device: the last step would break the invariant, so it answers 500.
    assert lines[-1]["status"] == 500 and "flags_need_instance" in lines[-1]["reason"]


@pytest.mark.slow  # about 1 s here (2 cores)
def test_the_text_report_shows_the_counterexample_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", MUTANT, "--depth", "0"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATED flags_need_instance: delete as server" in out
    assert "before:" in out and "request:" in out and "after:" in out
    assert "counterexample to" in out and "search further with --depth N" in out
    # the counterexample reads like the spec's examples: service MMS, instance a, no noise
    assert '"service": "MMS", "instance": "a"' in out and '"confirm"' not in out


def test_unknown_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", CCS, "--rlimit", "1", "--format", "json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert any(c["verdict"] == "UNKNOWN" for c in report["checks"])


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--bound", "0"],
        ["verify", "--depth", "-1"],
        ["verify", "--timeout", "zero"],
        ["verify", "--format", "yaml"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_a_missing_or_broken_spec_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["verify", str(tmp_path / "nope.toml")]) == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[ops.add]\nargs = 3\n", encoding="utf-8")
    assert main(["verify", str(broken)]) == 2
    assert "broken.toml:" in capsys.readouterr().err


@pytest.mark.slow  # about 4 s here (2 cores)
def test_bounded_mode_proves_the_shipped_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--bound", "2"]) == 0
    assert "exactly 2 instance names" in capsys.readouterr().out


@pytest.mark.slow  # about 13 s here (2 cores)
def test_a_replay_failure_is_reported_loudly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mostate.cli.verify as cli_verify
    from mostate import Engine, load_spec
    from mostate.symbolic import Verifier

    class Disagreeing(Verifier):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self.engine = Engine(load_spec())  # the fixed spec's engine sees no violation

    monkeypatch.setattr(cli_verify, "Verifier", Disagreeing)
    assert main(["verify", MUTANT, "--depth", "0"]) == 3
    # an internal error, or (asked again with names to spare) a check that stays UNKNOWN and
    # says the solver's model did not replay: never a pass
    out = capsys.readouterr()
    assert "INTERNAL ERROR" in out.err or "did not replay" in " ".join(out.out.split())


@pytest.mark.slow  # a full verify and a cut one: about 3 s here
def test_a_time_limit_reports_what_was_not_decided_as_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["verify", "--format", "json"]) == 0
    full = json.loads(capsys.readouterr().out)["checks"]
    assert main(["verify", "--format", "json", "--time-limit", "0.3"]) == 3
    cut = json.loads(capsys.readouterr().out)["checks"]
    key = lambda c: (c["property"], c["op"] or "", c["actor"] or "")  # noqa: E731
    assert sorted(map(key, cut)) == sorted(map(key, full))  # every check is accounted for
    late = [c for c in cut if c["verdict"] == "UNKNOWN"]
    assert late and all("time limit of 0.3 s reached" in (c.get("reason") or "") for c in late)
    assert not any(c["verdict"] == "VIOLATED" for c in cut)


@pytest.mark.slow  # a full verify: about 1 s here
def test_the_planned_checks_are_the_checks() -> None:
    from mostate import load_spec
    from mostate.symbolic import Verifier

    verifier = Verifier(load_spec())
    made = [(c.name, c.kind, c.op, c.branch) for c in verifier.checks()]
    assert verifier.planned() == made


def test_the_time_limit_is_reported_when_z3_wraps_the_alarm() -> None:
    """The alarm can ring inside a ctypes call into Z3, which re-raises it wrapped in
    ctypes.ArgumentError: still the time limit (UNKNOWN), never a traceback; an error raised
    before the alarm rings is not mistaken for it."""
    import ctypes
    import time

    import mostate.cli.verify as cli_verify
    from mostate.cli import limits
    from mostate.symbolic import Check, Proved

    class Wrapping:
        def planned(self) -> list[tuple[str, str, str, str]]:
            return [("p", "property", "add", "user"), ("q", "property", "add", "user")]

        def checks(self):  # type: ignore[no-untyped-def]
            yield Check("p", "property", "add", "user", Proved(), 0.0)
            try:
                time.sleep(5)
            except limits.TimeUp as up:  # what ctypes does to an exception in a callback
                raise ctypes.ArgumentError(f"argument 1: {type(up).__name__}: ") from None

    out = cli_verify._run(Wrapping(), show_progress=False, limit=0.05)  # type: ignore[arg-type]
    assert [c.name for c in out] == ["p", "q"]
    assert "time limit of 0.05 s reached" in str(out[1].verdict)

    class Broken(Wrapping):
        def checks(self):  # type: ignore[no-untyped-def]
            raise ctypes.ArgumentError("a real error")
            yield

    with pytest.raises(ctypes.ArgumentError, match="a real error"):
        cli_verify._run(Broken(), show_progress=False, limit=5.0)  # type: ignore[arg-type]


def test_the_alarm_never_raises_in_a_function_a_finaliser_calls() -> None:
    """Python swallows an exception raised under ``__del__`` at any depth (Z3's finaliser
    calls ``Z3_solver_dec_ref``), printing "Exception ignored": the alarm must see the
    finaliser anywhere in the stack, not only in the interrupted frame."""
    import sys

    from mostate.cli.interrupts import in_finaliser

    seen: list[bool] = []

    def release() -> None:  # what a finaliser calls
        seen.append(in_finaliser(sys._getframe()))

    class Held:
        def __del__(self) -> None:
            release()

    Held()
    release()
    assert seen == [True, False]


@pytest.mark.slow  # about 4 s here (2 cores): two proofs
def test_verify_out_writes_a_trace_that_run_replays(tmp_path: Path) -> None:
    from mostate import Engine, load_spec

    out, mutant = tmp_path / "bug.jsonl", ROOT / "specs" / "mutants" / "user-can-lock.toml"
    assert main(["verify", str(mutant), "--depth", "2", "--out", str(out)]) == 1
    trace = Trace.from_jsonl(out.read_text(encoding="utf-8"), "user_never_locks")
    trace.confirm(Engine(load_spec(mutant)))  # the file's last step breaks the property
    assert main(["run", "--spec", str(mutant), str(out)]) == 0
    assert main(["verify", "--depth", "0", "--out", str(out)]) == 0 and not out.exists()


# -- budgets that hold -------------------------------------------------------------------------

DEEP = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8") + (
    "\n[properties.four_locked_is_not_a_refusal_of_999]\n"
    'doc = "A premise only a long trace reaches: four Locked instances."\n'
    'expr = "count(i, locked(i)) >= 4 -> status != 999"\n'
)
"""A spec whose rules table takes minutes at depth 10: the search from the empty device for a
state with four Locked instances unrolls ten requests."""


@pytest.mark.slow  # the run is cut at 3 s: about 3 s here (2 cores)
def test_verify_holds_its_time_limit_with_the_rules_table_included(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The rules table once ran on past --time-limit (27 s for 2 s; this one: minutes).
    import time

    spec = tmp_path / "deep.toml"
    spec.write_text(DEEP, encoding="utf-8")
    start = time.monotonic()
    code = main(["verify", str(spec), "--depth", "10", "--format", "json", "--time-limit", "3"])
    assert time.monotonic() - start < 4.0
    report = json.loads(capsys.readouterr().out)
    late = [c for c in report["checks"] if c["verdict"] == "UNKNOWN"]
    assert code == (3 if late else 0)
    assert all(c["reason"] == "time limit of 3 s reached" for c in late)
    rules = report["liveness"]
    cut = [r for r in rules if r["verdict"] == "UNKNOWN" or r["witness"]["search_gave_up"]]
    assert cut, "the search for a trace to four Locked instances was not cut short"
    for row in cut:
        why = row.get("reason") or row["witness"]["search_gave_up"]
        assert why == "time limit of 3 s reached"


@pytest.mark.parametrize("command", [["verify"], ["diff", CCS, CCS], ["mutate"]])
def test_verify_diff_and_mutate_have_a_default_overall_limit(command: list[str]) -> None:
    from mostate.cli import build_parser
    from mostate.cli.options import DEFAULT_TIME_LIMIT

    args = build_parser().parse_args(command)
    assert args.time_limit == DEFAULT_TIME_LIMIT == 300.0


# Run as the command runs, in a fresh process: inside pytest's process late in the suite (560 MB,
# the pool's workers forked from it) the same run once took 4.2 s, against 3.1-3.2 s as a command.
_TIMED_MUTATE = """
import contextlib, io, json, sys, time
from mostate.cli import main
start = time.monotonic()
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["mutate", "--time-limit", "3", "--jobs", "2", "--format", "json"])
print(json.dumps({"code": code, "seconds": time.monotonic() - start, "report": out.getvalue()}))
"""


@pytest.mark.slow  # about 4 s: a mutation run cut short by its time limit
def test_mutate_leaves_what_the_time_limit_cut_unknown() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _TIMED_MUTATE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    run = json.loads(done.stdout)
    assert run["code"] == 1
    assert run["seconds"] < 4.0  # nothing runs more than 1 s past the time limit
    report = json.loads(run["report"])
    late = [m for m in report["mutants"] if m["verdict"] == "unknown"]
    assert late and all(m["reason"].endswith("time limit of 3 s reached") for m in late)
    assert report["counts"]["survived"] == 0


def test_diff_leaves_what_the_time_limit_cut_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    other = str(ROOT / "specs" / "mutants" / "in-use-prefers-default.toml")
    assert main(["diff", CCS, other, "--time-limit", "0.001", "--format", "json"]) == 3
    rows = json.loads(capsys.readouterr().out)["ops"]
    assert rows and {r["verdict"] for r in rows} == {"UNKNOWN"}
    assert {r["reason"] for r in rows} == {"time limit of 0.001 s reached"}
