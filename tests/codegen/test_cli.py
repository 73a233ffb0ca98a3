"""``mostate compile``: the generated source printed for every shipped spec, and its errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mostate.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPECS = [ROOT / "specs" / "ccs.toml", *sorted((ROOT / "specs" / "mutants").glob("*.toml"))]
SPECS = [s for s in SPECS if s.name != "manifest.toml"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_compile_prints_python_for_every_operation(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(path), "--emit", "python"]) == 0
    out = capsys.readouterr().out
    tree = ast.parse(out)
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert defined <= {"_user", "_server"}
    # One module per operation: generated (two functions) or said to be interpreted.
    assert out.count("written by mostate.codegen") + out.count(": interpreted, not generated") == (
        out.count("# operation ")
    )


def test_compile_one_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "--operation", "get_active"]) == 0
    out = capsys.readouterr().out
    assert out.count("# operation ") == 1 and "'get_active'" in out
    assert "def _user(state, request, check, valid=False):" in out


@pytest.mark.parametrize("path", [SPECS[0], ROOT / "specs" / "mutants" / "switch-over-device.toml"])
def test_compile_prints_the_explorers_successors(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(path), "--emit", "successor"]) == 0
    out = capsys.readouterr().out
    tree = ast.parse(out)
    steps = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    assert steps and {node.name for node in steps} == {"_step"}
    assert [a.arg for a in steps[0].args.args] == ["svcs", "S", "N", "pre"]
    assert "arguments {'value': True}, declines: True" in out  # a server's declined request
    assert ("interpreted, not generated" in out) == (path.stem == "switch-over-device")


def test_compile_an_unknown_operation_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "--operation", "frobnicate"]) == 2
    assert "no operation 'frobnicate'" in capsys.readouterr().err
