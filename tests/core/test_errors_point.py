"""Errors that point: every error of a spec at once, each with its line and a caret under the
culprit, "did you mean" for names, keys, operations, options and subcommands at every level,
and ``--format json`` errors a machine can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import SpecError, parse_spec
from mostate.cli import main
from mostate.errors import SpecErrors

ROOT = Path(__file__).resolve().parents[2]
CCS = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")

TYPOS = (
    CCS.replace('when = "exists(target)"', 'when = "exists(targt)"', 1)
    .replace('when = "locked(target)"', 'when = "lockd(target)"', 1)
    .replace('ops = ["add"]', 'ops = ["ad"]', 1)
    .replace("[ops.get]\n", '[ops.get]\nreslt = "target"\n', 1)
)


def test_every_error_of_a_spec_is_found_not_only_the_first() -> None:
    with pytest.raises(SpecErrors) as raised:
        parse_spec(TYPOS, "typos.toml")
    found = [(e.message, e.suggestion) for e in raised.value.errors]
    assert found == [
        ("unknown name 'targt'; did you mean 'target'?", "target"),
        ("unknown function 'lockd'; did you mean 'locked'?", "locked"),
        (
            "unknown key 'reslt'; did you mean 'result'? "
            "(expected one of: args, doc, result, steps, target)",
            "result",
        ),
        ("unknown operation 'ad'; did you mean 'add'?", "add"),
    ]
    lines = [e.location.line for e in raised.value.errors]
    assert lines == sorted(lines)


def test_every_toml_syntax_error_is_found() -> None:
    text = '[spec]\nname = "x\n[ops.a]\ndoc = = "y"\n'
    with pytest.raises(SpecErrors) as raised:
        parse_spec(text, "t.toml")
    assert [e.location.line for e in raised.value.errors] == [2, 4]


def test_a_bom_is_not_part_of_the_spec() -> None:
    assert parse_spec("\ufeff" + CCS) == parse_spec(CCS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('when = "any(j in devise, active(j))"', "unknown domain 'devise'"),
        ('when = "actve(target)"', "did you mean 'active'?"),
        ('actors = ["usr"]\nwhen = "true"', "did you mean 'user'?"),
        ('whn = "true"', "did you mean 'when'?"),
    ],
)
def test_did_you_mean_in_a_step(text: str, message: str) -> None:
    spec = f'[ops.a]\nargs = {{ value = "bool" }}\n[[ops.a.steps]]\nrefuse = 404\n{text}\n'
    with pytest.raises(SpecError) as raised:
        parse_spec(spec, "s.toml")
    assert any(message in e.message for e in raised.value.errors), raised.value


def test_a_spec_error_shows_the_line_and_a_caret_under_the_culprit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "typos.toml"
    spec.write_text(TYPOS)
    assert main(["verify", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:25:16: unknown name 'targt'; did you mean 'target'?" in err
    assert '25 | when = "exists(targt)"\n   |                ^^^^^\n' in err
    assert err.count("did you mean") == 4


def test_spec_errors_under_format_json_are_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "typos.toml"
    spec.write_text(TYPOS)
    assert main(["verify", str(spec), "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["errors"][0] == {
        "file": str(spec),
        "line": 25,
        "column": 16,
        "message": "unknown name 'targt'; did you mean 'target'?",
        "suggestion": "target",
    }
    assert len(report["errors"]) == 4


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["verfy"], "'verify'"),
        (["verify", "--strcit"], "'--strict'"),
        (["dm", "proces"], "'process'"),
        (["campaign", "plna"], "'plan'"),
        (["campaign", "plan", "fleet.jsonl", "--tagret", "x"], "'--target'"),
        (["explore", "--instanses", "3"], "'--instances'"),
        (["verify", "--format", "jsn"], "'json'"),
    ],
)
def test_did_you_mean_for_subcommands_and_options_at_every_level(
    argv: list[str], suggestion: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert f"did you mean {suggestion}?" in capsys.readouterr().err


def test_the_version_is_the_package_metadatas() -> None:
    from importlib import metadata

    import mostate

    assert mostate.__version__ == metadata.version("mostate")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{mostate.__version__}"' in pyproject
    assert f"({mostate.__version__})" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["compile", "--op", "set_actve"],
        ["diff", "specs/ccs.toml", "specs/ccs.toml", "--op", "set_actve"],
    ],
)
def test_did_you_mean_for_an_operation_named_on_the_command_line(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    assert "did you mean 'set_active'?" in capsys.readouterr().err
