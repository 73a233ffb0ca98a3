"""A newcomer's first hour: version, typos, help on every option, pipes, missing files, and the
spec every report names."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mostate import __version__
from mostate.cli import build_parser, main, progress, subcommands

ROOT = Path(__file__).resolve().parents[2]
ADD = {"actor": "server", "op": "add", "service": "MMS", "instance": "a"}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mostate {__version__}"


def test_a_mistyped_command_gets_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verfy"])
    assert exited.value.code == 2
    assert "did you mean 'verify'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["verify", "--nope"], "usage: mostate verify"),
        (["explore", "--instanses", "3"], "usage: mostate explore"),
        (["dm", "build", "t.jsonl", "--nope"], "usage: mostate dm build"),
    ],
)
def test_a_mistyped_flag_prints_the_subcommands_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and "unrecognized arguments" in err


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._SubParsersAction)]


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    parsers = {"mostate": parser, **subcommands(parser)}
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, p in parsers.items()
        for action in _options(p)
        if not action.help
    ]
    assert not missing, missing
    assert {"verify", "explore", "plan", "dm process", "dm build", "mutate"} <= set(parsers)


@pytest.mark.slow  # about 1 s here (2 cores)
def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    trace = tmp_path / "big.jsonl"
    lines = [{**ADD, "instance": f"i{n}"} for n in range(3000)]
    trace.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mostate", "run", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert json.loads(first)["status"] == 200
    assert "Traceback" not in err


def test_a_missing_spec_names_the_file_without_a_fake_position(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["verify", "nothere.toml"]) == 2
    err = capsys.readouterr().err
    assert "nothere.toml: cannot read the spec" in err and "nothere.toml:1:1" not in err


@pytest.mark.slow  # about 2 s here (2 cores)
def test_verify_takes_the_spec_either_way_but_not_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mutant = str(ROOT / "specs" / "mutants" / "user-can-lock.toml")
    assert main(["verify", "--depth", "0", "--spec", mutant]) == 1
    assert main(["verify", "--depth", "0", mutant]) == 1
    capsys.readouterr()
    assert main(["verify", mutant, "--spec", mutant]) == 2
    assert "give the spec once" in capsys.readouterr().err


@pytest.mark.slow  # about 3 s here (2 cores)
def test_every_report_names_the_spec_file_it_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "edited.toml"
    spec.write_text((ROOT / "specs" / "ccs.toml").read_text())
    main(["verify", str(spec), "--depth", "0"])
    assert str(spec) in capsys.readouterr().out.splitlines()[0]
    main(["verify", str(spec), "--depth", "0", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["spec"] == str(spec)
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({**ADD, "expect": {"status": 200}}) + "\n")
    main(["check", "--spec", str(spec), str(log)])
    assert f"(spec {spec})" in capsys.readouterr().out
    main(["check", "--spec", str(spec), str(log), "--format", "json"])
    assert json.loads(capsys.readouterr().out)["spec"] == str(spec)


@pytest.mark.slow  # about 3 s here (2 cores)
def test_a_piped_table_keeps_whole_property_names(capsys: pytest.CaptureFixture[str]) -> None:
    main(["verify", "--depth", "0"])
    out = capsys.readouterr().out
    assert "user_sets_default_unless_locked" in out and "…" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explore", "--graph", "/nonexistent/g.dot"], "--graph /nonexistent/g.dot: there is no"),
        (["explore", "--export-traces", "{file}"], "exists and is not a folder"),
        (["conform", "examples/adapters.py:AcmeAdapter", "--out", "/nonexistent/b.jsonl"], "--out"),
    ],
    ids=["graph", "export-traces", "conform-out"],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_work(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "afile"
    existing.write_text("")
    started = time.perf_counter()
    assert main([str(existing) if a == "{file}" else a for a in argv]) == 2
    assert time.perf_counter() - started < 5  # refused up front, not after the exploration
    out, err = capsys.readouterr()
    assert message in err and out == ""


@pytest.mark.slow  # about 4 s here (2 cores)
def test_ctrl_c_during_explore_prints_the_statistics_so_far() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mostate", "explore", "-n", "5", "--services", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "INTERRUPTED after" in out and "states/s" in out
    assert "Traceback" not in err


@pytest.mark.slow  # about 2 s here (2 cores)
def test_progress_shows_in_a_log_as_plain_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress, "EVERY", 0.0)
    assert main(["verify", "--depth", "0"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) > 2 and all(line.startswith("mostate: proving: ") for line in err)
    assert "%" in err[0] and "left" in err[0] and err[-1].split(": ")[2].startswith("409/409")


@pytest.mark.slow  # about 2 s here (2 cores)
def test_shipped_mutants_and_scenarios_by_name_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["verify", "mutant:user-can-lock", "--depth", "0"]) == 1
    assert "user-can-lock.toml" in capsys.readouterr().out.splitlines()[0]
    assert main(["scenario", "scenario:normal-flow", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["scenarios"][0]["expectations"] > 0
    assert main(["verify", "mutant:user-can-lok"]) == 2
    assert "did you mean mutant:user-can-lock?" in capsys.readouterr().err


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_knows_every_command_and_option(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--print-completion", shell])
    assert exited.value.code == 0
    script = capsys.readouterr().out
    parsers = subcommands(build_parser())
    for name in ("verify", "mutate", "explore", "plan", "dm"):
        assert name in script
    assert all(flag in script for flag in ("--depth", "--every-kill", "--answer", "--max-states"))
    assert len(parsers) >= 12


def test_completion_offers_paths_only_where_a_path_goes(capsys: pytest.CaptureFixture[str]) -> None:
    parsers = subcommands(build_parser())
    complete = {
        (name, a.dest): getattr(a, "complete", None)
        for name, sub in parsers.items()
        for a in sub._actions
    }
    assert complete["dm process", "package"] is not None  # PACKAGE.xml
    assert complete["run", "state"] is not None  # STATE.json
    assert complete["explore", "export_traces"] != complete["run", "state"]  # a folder
    assert complete["verify", "depth"] is None and complete["dm serve", "port"] is None
    with pytest.raises(SystemExit):
        main(["--print-completion", "bash"])
    script = capsys.readouterr().out
    assert "_shtab_compgen_files" in script and "_shtab_compgen_dirs" in script
