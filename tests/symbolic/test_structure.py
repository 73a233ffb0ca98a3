"""The compiler mirrors the concrete evaluator, and the package exports what it says."""

from __future__ import annotations

import inspect

import mostate.codegen.expr as codegen
import mostate.concrete as concrete
import mostate.symbolic as symbolic
import mostate.symbolic.compiler as compiler
from mostate.rules import EXPR_NODES


def _helpers(module: object) -> list[str]:
    """The ``_compile_*`` functions of a module, in source order."""
    found = [
        (inspect.getsourcelines(fn)[1], name)
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("_compile_") and fn.__module__ == module.__name__  # type: ignore[attr-defined]
    ]
    return [name for _, name in sorted(found)]


def test_every_node_has_a_helper_in_every_back_end_in_the_same_order() -> None:
    expected = [f"_compile_{node.__name__.lower()}" for node in EXPR_NODES]
    assert _helpers(concrete) == expected
    assert _helpers(compiler) == expected
    assert _helpers(codegen) == expected


def test_the_dispatchers_list_the_nodes_in_the_same_order() -> None:
    def cases(fn: object) -> list[str]:
        source = inspect.getsource(fn)  # type: ignore[arg-type]
        return [
            line.split("case ")[1].split("(")[0] for line in source.splitlines() if "case " in line
        ]

    assert cases(compiler.compile_expr) == [node.__name__ for node in EXPR_NODES]
    assert cases(compiler.compile_expr) == cases(concrete.compile_expr)
    assert cases(codegen.compile_expr) == cases(concrete.compile_expr)


def test_exports_are_pinned() -> None:
    assert sorted(symbolic.__all__) == [
        "Branch",
        "Budget",
        "Check",
        "CompiledSpec",
        "Dead",
        "Different",
        "Equivalent",
        "Live",
        "Liveness",
        "NeedsBound",
        "NotReached",
        "OpDiff",
        "Proved",
        "Reach",
        "Searcher",
        "SpecDiff",
        "Undecided",
        "Verifier",
        "Violated",
        "Witness",
        "check_liveness",
        "diff_specs",
    ]
    for name in symbolic.__all__:
        assert getattr(symbolic, name).__name__ == name


def test_only_the_wrapper_module_imports_z3() -> None:
    for module in ("compiler", "transition", "queries", "decode", "verifier", "bmc", "liveness"):
        source = inspect.getsource(getattr(symbolic, module))
        assert "import z3" not in source, module
    assert "import z3" in inspect.getsource(symbolic._z3)
