"""A plain install is the engine, the CLI basics and the OMA-DM binding; each checker's library
is an extra, and a command whose extra is missing says which to install."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CHECKERS = {"z3": "verify", "networkx": "explore", "hypothesis": "conform"}

# Runs mostate's CLI with the checkers' libraries made unimportable, as in a plain install.
WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from mostate.cli import main
sys.exit(main(sys.argv[2:]))
"""


def mostate_without(blocked: list[str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, ",".join(blocked), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_a_plain_install_pulls_no_checker_library() -> None:
    names = {d.split(">")[0].split("[")[0].strip() for d in PROJECT["dependencies"]}
    assert names == {"attrs", "rich", "shtab"}
    extras = PROJECT["optional-dependencies"]
    assert extras["verify"] == ["z3-solver>=4.12"]
    assert extras["explore"] == ["networkx>=3.1", "numpy>=1.24"]
    assert extras["conform"] == ["hypothesis>=6.90"] and "mostate[all]" in extras["test"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--status-only", "specs/scenarios/normal-flow.jsonl"],
        ["check", "specs/scenarios/normal-flow.jsonl"],
        ["scenario", "specs/scenarios/normal-flow.jsonl"],
        ["dm", "build", "specs/scenarios/normal-flow.jsonl"],
        ["--version"],
    ],
    ids=["run", "check", "scenario", "dm-build", "version"],
)
def test_the_basics_work_without_any_checker_library(argv: list[str]) -> None:
    done = mostate_without(list(CHECKERS), *argv)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "package"),
    [
        (["verify"], "z3"),
        (["diff", "specs/ccs.toml", "specs/ccs.toml"], "z3"),
        (["mutate"], "z3"),
        (["explore"], "networkx"),
        (["plan", "--goal", "active(target)", "--target", "a"], "networkx"),
        (["conform", "examples/adapters.py:AcmeAdapter"], "hypothesis"),
    ],
)
def test_a_checker_without_its_library_says_which_extra_to_install(
    argv: list[str], package: str
) -> None:
    done = mostate_without(list(CHECKERS), *argv)
    assert done.returncode == 2
    assert f"needs {package}: pip install 'mostate[{CHECKERS[package]}]'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # about 5 s here (2 cores)
def test_each_checker_needs_only_its_own_extra() -> None:
    others = {package: [p for p in CHECKERS if p != package] for package in CHECKERS}
    assert mostate_without(others["z3"], "verify", "--depth", "0").returncode == 0
    assert mostate_without(others["networkx"], "explore", "-n", "1").returncode == 0
    conform = ["conform", "examples/adapters.py:AcmeAdapter", "--examples", "3"]
    assert mostate_without(others["hypothesis"], *conform).returncode == 0


def test_explore_without_numpy_searches_state_by_state() -> None:
    """numpy only speeds the explorer's bookkeeping up: without it the search runs state by
    state and finds the same."""
    pytest.importorskip("networkx", reason="the explore extra is not installed")
    argv = ["explore", "--instances", "2", "--values", "1", "--format", "json"]
    done = mostate_without(["numpy"], *argv)
    assert done.returncode == 0, done.stderr
    with_numpy = mostate_without([], *argv)
    assert with_numpy.returncode == 0, with_numpy.stderr
    report, again = json.loads(done.stdout), json.loads(with_numpy.stdout)
    for key in ("states", "edges", "depth", "violations"):
        assert report[key] == again[key]
    assert report["states"] > 20
