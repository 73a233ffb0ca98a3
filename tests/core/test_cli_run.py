"""``mostate run``, ``check`` and ``scenario`` on trace files, good and malformed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mostate.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "specs" / "scenarios").glob("*.jsonl"))

ADD = {"actor": "server", "op": "add", "service": "MMS", "instance": "a"}
ACTIVATE = {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a", "value": True}


def write_lines(path: Path, *lines: object) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_run_prints_one_line_per_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_lines(tmp_path / "t.jsonl", ADD, ACTIVATE, {**ADD, "op": "get"})
    code, lines = run_json(capsys, "run", "--full-state", str(trace))
    assert code == 0
    assert [line["status"] for line in lines] == [200, 200, 200]
    assert lines[1]["state"] == {
        "MMS": {"a": {"active": True, "default": False, "locked": False, "params": {}}}
    }
    assert lines[2]["result"] == {"active": True, "default": False, "locked": False, "params": {}}


def test_malformed_lines_get_400_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_lines(
        tmp_path / "t.jsonl",
        ADD,
        "{not json",
        "[1, 2]",
        {"actor": "user"},
        {**ADD, "op": "nope"},
        ACTIVATE,
    )
    code = main(["run", "--status-only", str(trace)])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2  # every line answered, but some could not be read
    assert "4 line(s) could not be read" in err and "the first: line 2" in err
    assert [line["status"] for line in lines] == [200, 400, 400, 400, 400, 200]
    assert "line 2" in str(lines[1]["reason"]) and "not JSON" in str(lines[1]["reason"])
    assert all("state" not in line for line in lines)


def test_state_is_unchanged_by_a_malformed_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_lines(tmp_path / "t.jsonl", ADD, {**ACTIVATE, "value": "yes"})
    _, lines = run_json(capsys, "run", "--full-state", str(trace))
    assert lines[1]["status"] == 400 and lines[1]["state"] == lines[0]["state"]
    _, lines = run_json(capsys, "run", str(trace))
    assert lines[1]["status"] == 400 and lines[1]["changes"] == {}


def test_run_from_a_state_file_and_a_start_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"MMS": {"a": {"locked": True}}}))
    trace = write_lines(tmp_path / "t.jsonl", {**ACTIVATE, "actor": "user"})
    _, lines = run_json(capsys, "run", "--state", str(state), str(trace))
    assert lines[0]["status"] == 425
    started = write_lines(
        tmp_path / "u.jsonl",
        {"start": {"MMS": {"a": {"locked": True}}}},
        {**ACTIVATE, "actor": "user"},
    )
    _, lines = run_json(capsys, "run", str(started))
    assert lines[0]["status"] == 425


def test_check_reports_divergences_with_line_and_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(
        tmp_path / "device.jsonl",
        {**ADD, "expect": {"status": 200}},
        {
            **ACTIVATE,
            "actor": "user",
            "expect": {"status": 200, "state": {"MMS": {"a": {"active": False}}}},
        },
        {**ADD, "expect": {"status": 200}},
    )
    code = main(["check", str(log)])
    out = capsys.readouterr().out
    assert code == 1
    assert "device.jsonl:2" in out and "state differs" in out and '"active": true' in out
    assert "device.jsonl:3" in out and "device 200, spec 418" in out
    code = main(["check", "--format", "json", str(log)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and [d["line"] for d in report["divergences"]] == [2, 3]


def test_a_users_line_carrying_confirm_is_400_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only a server's request asks the user; a user's "decline" was once silently ignored and
    # the step carried out. It is a line that does not read now: 400, the state kept.
    declined = {**ACTIVATE, "actor": "user", "confirm": "decline"}
    trace = write_lines(tmp_path / "t.jsonl", ADD, declined, {**ADD, "op": "get"})
    code, lines = run_json(capsys, "run", str(trace))
    assert code == 2 and [line["status"] for line in lines] == [200, 400, 200]
    assert "line 2: 'confirm' is the user's answer to a server's request" in str(lines[1]["reason"])
    assert lines[2]["result"] == {"active": False, "default": False, "locked": False, "params": {}}
    log = write_lines(tmp_path / "log.jsonl", ADD, {**declined, "expect": {"status": 400}})
    assert main(["check", str(log)]) == 0


def test_check_passes_a_log_that_agrees(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_lines(
        tmp_path / "ok.jsonl",
        {**ADD, "expect": {"status": 200}},
        {**ADD, "expect": {"status": 418}},
    )
    assert main(["check", str(log)]) == 0
    assert "0 divergences" in capsys.readouterr().out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.stem for s in SCENARIOS])
def test_every_shipped_scenario_passes(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "--format", "json", str(scenario)]) == 0
    report = json.loads(capsys.readouterr().out)["scenarios"][0]
    assert report["expectations"] >= 5 and report["divergences"] == []


def test_a_scenario_against_a_mutant_diverges(capsys: pytest.CaptureFixture[str]) -> None:
    mutant = ROOT / "specs" / "mutants" / "switch-away-from-locked.toml"
    flow = ROOT / "specs" / "scenarios" / "alternative-1-default-locked.jsonl"
    assert main(["scenario", "--spec", str(mutant), str(flow)]) == 1
    # The mutant would let the user switch away; the engine's run-time check refuses the step
    # that breaks the property instead (500), and names it.
    out = capsys.readouterr().out
    assert "device 425, spec 500" in out and "user_respects_lock" in out
    quiet = ROOT / "specs" / "mutants" / "in-use-prefers-default.toml"
    assert main(["scenario", "--spec", str(quiet), str(flow)]) == 1


@pytest.mark.slow  # about 2 s here (2 cores)
def test_bad_spec_exits_2_with_location_and_no_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "bogus(target)"\n')
    trace = write_lines(tmp_path / "t.jsonl", ADD)
    for argv in (
        ["run", "--spec", str(spec), str(trace)],
        ["check", "--spec", str(spec), str(trace)],
        ["scenario", "--spec", str(spec), str(trace)],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mostate", *argv], capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 2
        assert f"{spec}:4:9: unknown function 'bogus'" in done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read trace" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "check", "scenario"):
        assert command in out


# -- a checker never passes input it could not read ------------------------------------------


def test_check_counts_an_unreadable_line_as_a_divergence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The 4th line was cut off mid-write, the 5th is garbage: both diverge, none is skipped.
    log = write_lines(
        tmp_path / "b3.jsonl",
        {**ADD, "expect": {"status": 200}},
        {**ACTIVATE, "expect": {"status": 200}},
        {**ADD, "expect": {"status": 418}},
        json.dumps({**ADD, "op": "delete", "actor": "user", "expect": {"status": 425}})[:-1],
        "garbage",
    )
    assert main(["check", str(log), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["divergences"]
    assert [(d["line"], d["message"].split(" (")[0]) for d in found] == [
        (4, "could not be read"),
        (5, "could not be read"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        {**ACTIVATE, "op": "set_actve"},
        {**ACTIVATE, "value": "yes"},
        {"actor": "server", "op": "__class__", "service": "MMS"},
    ],
    ids=["misspelt-op", "wrong-type", "dunder-op"],
)
def test_check_reads_a_line_as_run_does_and_a_400_without_expect_diverges(
    line: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # These lines parse as JSON requests, so check once let them through ("0 expectations,
    # 0 divergences", exit 0) while run answers them 400: the log was not read, it failed.
    log = write_lines(tmp_path / "log.jsonl", ADD, line)
    code, lines = run_json(capsys, "run", str(log))
    assert code == 2 and [x["status"] for x in lines] == [200, 400]
    assert main(["check", str(log), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["divergences"]
    assert [(d["line"], d["message"].split(" (")[0]) for d in found] == [(2, "could not be read")]
    assert "line 2" not in found[0]["message"]  # the line is named once, by the location


def test_a_malformed_request_that_expects_400_is_checked_not_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(tmp_path / "t.jsonl", {"actor": "user", "expect": {"status": 400}})
    assert main(["check", str(log)]) == 0
    log = write_lines(tmp_path / "u.jsonl", {"actor": "user", "expect": {"status": 200}})
    assert main(["check", str(log)]) == 1


def test_a_scenario_with_an_unreadable_line_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_lines(tmp_path / "s.jsonl", {**ADD, "expect": {"status": 200}}, "{oops")
    assert main(["scenario", str(scenario), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [d["line"] for d in report["scenarios"][0]["divergences"]] == [2]


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_start_line_that_does_not_read_is_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(
        tmp_path / "t.jsonl",
        {"start": {"MMS": {"a": {"active": "yes"}}}},
        {**ADD, "expect": {"status": 200}},
    )
    assert main([command, str(log)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "line 1: bad start state" in err and "t.jsonl" in err


def test_run_exits_2_on_a_file_that_is_no_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(ROOT / "specs" / "ccs.toml")]) == 2
    assert "could not be read" in capsys.readouterr().err


INVALID = {"MMS": {"a": {"active": True, "default": True}, "b": {"active": True, "default": True}}}


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--state", "{state}", "{trace}"],
        ["check", "--state", "{state}", "{trace}"],
        [
            "plan",
            "--state",
            "{state}",
            "--goal",
            "active(target)",
            "--service",
            "MMS",
            "--target",
            "a",
        ],
        ["run", "{started}"],
    ],
    ids=["run", "check", "plan", "start-line"],
)
def test_a_state_that_breaks_an_invariant_is_exit_2_naming_it(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    state.write_text(json.dumps(INVALID))
    trace = write_lines(tmp_path / "t.jsonl", {**ADD, "instance": "c"})
    started = write_lines(tmp_path / "u.jsonl", {"start": INVALID}, {**ADD, "instance": "c"})
    paths = {"{state}": str(state), "{trace}": str(trace), "{started}": str(started)}
    assert main([paths.get(a, a) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "invariant one_active" in err and "invariant one_default" in err
    assert "on service MMS: a (active, default), b (active, default)" in err


# -- hostile input: bounded, and never a traceback ----------------------------------------------


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (
            '{"actor": "server", "op": "add", "service": "MMS", "instance": "a", "n": '
            + "1" * 5000
            + "}",
            "too many digits",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ],
    ids=["5000-digits", "100k-deep"],
)
def test_a_hostile_line_is_a_400_and_the_run_goes_on(
    line: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_lines(tmp_path / "t.jsonl", line, ADD)
    assert main(["run", "--status-only", str(trace)]) == 2
    out, err = capsys.readouterr()
    statuses = [json.loads(x)["status"] for x in out.splitlines()]
    assert statuses == [400, 200] and why in err and "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000 + "]" * 100_000, '{"MMS": {"a": {"n": ' + "1" * 5000 + "}}}"],
    ids=["100k-deep", "5000-digits"],
)
def test_a_hostile_state_file_is_exit_2(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s.json"
    state.write_text(content)
    trace = write_lines(tmp_path / "t.jsonl", ADD)
    assert main(["run", "--state", str(state), str(trace)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and str(state) in err


def test_an_endless_file_is_refused_not_read_until_memory_runs_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "/dev/zero"]) == 2
    assert "larger than 64 MiB" in capsys.readouterr().err


def test_a_status_expected_as_a_string_is_a_divergence_not_a_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(tmp_path / "t.jsonl", {**ADD, "expect": {"status": "200"}})
    assert main(["check", str(log), "--format", "json"]) == 1
    (found,) = json.loads(capsys.readouterr().out)["divergences"]
    assert found["line"] == 1 and 'must be a number, not "200"' in found["message"]


def test_plan_refuses_a_target_no_request_could_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--goal", "active(target)", "--target", "a/b"]) == 2
    assert "--target 'a/b' must not contain" in capsys.readouterr().err


def test_a_key_given_twice_is_malformed_not_read_one_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = '{"actor": "server", "op": "add", "service": "MMS", "instance": "a", "op": "delete"}'
    trace = write_lines(tmp_path / "t.jsonl", twice)
    assert main(["run", "--status-only", str(trace)]) == 2
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["status"] == 400 and "the key 'op' appears twice" in line["reason"]
    state = tmp_path / "s.json"
    state.write_text('{"MMS": {"a": {"locked": true, "locked": false}}}')
    assert main(["run", "--state", str(state), str(write_lines(tmp_path / "u.jsonl", ADD))]) == 2
    assert "the key 'locked' appears twice" in capsys.readouterr().err
