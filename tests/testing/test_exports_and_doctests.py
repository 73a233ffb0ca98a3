"""The public names of mostate.testing, its doctests, and the import boundary."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import mostate.testing

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["conformance", "coverage", "reach", "run", "stateful", "strategies"]


def test_all_is_pinned() -> None:
    assert sorted(mostate.testing.__all__) == sorted(
        [
            "KIT_CHECKS", "Adapter", "AdapterFactory", "Answer", "Comparison", "Coverage",
            "CoverageReport", "Divergence", "Pools", "PropertyViolation", "Scope",
            "StepChecker", "Universe", "actors", "aim", "arg_values", "compare", "confirms",
            "conformance_machine", "conformance_test", "drawn_states", "engine_machine",
            "keeps_invariants", "load_factory", "malformed_requests", "names", "params",
            "project", "reached_states", "replay", "requests", "requests_for", "run_conformance",
            "run_suite", "scope_requests", "states", "valid_requests",
        ]
    )  # fmt: skip
    for name in mostate.testing.__all__:
        assert getattr(mostate.testing, name) is not None


def test_import_mostate_does_not_import_hypothesis() -> None:
    code = "import sys, mostate, mostate.cli; print('hypothesis' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.stdout.strip() == "False"


@pytest.mark.slow  # about 9 s here (2 cores)
@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the run doctest loads examples/ by a relative path
    module = importlib.import_module(f"mostate.testing.{name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .example() warns that it is for interactive use
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
