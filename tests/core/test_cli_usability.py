"""A newcomer's first hour: version, typos, help on every option, pipes, missing files, and the
spec every report names."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mostate import __version__
from mostate.cli import build_parser, main, subcommands

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


def test_verify_takes_the_spec_either_way_but_not_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mutant = str(ROOT / "specs" / "mutants" / "user-can-lock.toml")
    assert main(["verify", "--depth", "0", "--spec", mutant]) == 1
    assert main(["verify", "--depth", "0", mutant]) == 1
    capsys.readouterr()
    assert main(["verify", mutant, "--spec", mutant]) == 2
    assert "give the spec once" in capsys.readouterr().err


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


def test_a_piped_table_keeps_whole_property_names(capsys: pytest.CaptureFixture[str]) -> None:
    main(["verify", "--depth", "0"])
    out = capsys.readouterr().out
    assert "user_sets_default_unless_locked" in out and "…" not in out
