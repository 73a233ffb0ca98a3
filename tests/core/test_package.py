"""The package's shape: its public names, what importing it pulls in, and its doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mostate
from mostate import concrete, rules

EXPECTED_API = {
    "Actor",
    "Answer",
    "Clause",
    "Confirm",
    "DeviceState",
    "Engine",
    "FrozenMap",
    "Instance",
    "Location",
    "MostateError",
    "Outcome",
    "ReplayError",
    "Request",
    "RequestError",
    "Role",
    "Service",
    "SolversDisagree",
    "Spec",
    "SpecError",
    "Status",
    "Trace",
    "Transition",
    "default_spec_path",
    "load_spec",
    "parse_spec",
    "specs_dir",
}


def test_public_api_is_pinned() -> None:
    assert set(mostate.__all__) == EXPECTED_API
    for name in mostate.__all__:
        assert getattr(mostate, name) is not None


def test_importing_mostate_loads_neither_z3_nor_networkx_nor_hypothesis() -> None:
    code = (
        "import sys, mostate, mostate.engine;"
        "mostate.Engine(mostate.load_spec());"
        "print(sorted(m for m in ('z3', 'networkx', 'hypothesis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_evaluator_handles_every_node_type() -> None:
    handled = {name for name in dir(concrete) if name.startswith("_compile_")}
    expected = {"_compile_" + node.__name__.lower() for node in rules.EXPR_NODES}
    assert expected <= handled, expected - handled


def test_errors_subclass_the_builtins_they_refine() -> None:
    assert issubclass(mostate.SpecError, ValueError)
    assert issubclass(mostate.RequestError, ValueError)
    assert issubclass(mostate.ReplayError, AssertionError)


MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(mostate.__path__, "mostate.")
    if not m.name.endswith("__main__")
)


@pytest.mark.slow  # about 9 s here (2 cores)
@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"


def test_an_installed_copy_finds_its_specs_from_any_folder(tmp_path: Path) -> None:
    # Lay the package out as pip does (specs/ inside mostate/), away from the checkout.
    import shutil

    root = Path(mostate.__file__).resolve().parent
    shutil.copytree(root, tmp_path / "mostate", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root.parent / "specs", tmp_path / "mostate" / "specs")
    code = "import mostate; print(mostate.default_spec_path()); print(mostate.load_spec().name)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    ).stdout.split()
    assert out == [str(tmp_path / "mostate" / "specs" / "ccs.toml"), "ccs"]
