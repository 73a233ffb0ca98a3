"""The compiler mirrors the concrete evaluator, and the package exports what it says."""

from __future__ import annotations

import importlib
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
            line.split("case ")[1].split("(")[0]
            for line in source.splitlines()
            if "case " in line and "case _:" not in line  # the closing assert_never
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
        "StateWitness",
        "Undecided",
        "Verifier",
        "Violated",
        "Witness",
        "check_liveness",
        "diff_specs",
        "interrupt_checks",
    ]
    for name in symbolic.__all__:
        assert getattr(symbolic, name).__name__ == name


def test_only_the_wrapper_module_imports_z3() -> None:
    modules = ("compiler", "transition", "queries", "decode", "verifier", "bmc", "liveness")
    for module in (*modules, "monitor", "diff", "completeness", "crosscheck", "_cvc5"):
        source = inspect.getsource(importlib.import_module(f"mostate.symbolic.{module}"))
        assert "import z3" not in source, module
    assert "import z3" in inspect.getsource(symbolic._z3)


def _step_cases(fn: object) -> list[str]:
    """The step classes a function's ``match`` names, in order (the engine's compiled steps
    by the rule they compile: ``_Refuse`` is a Refusal's), and whether it ends in
    ``case _: assert_never(...)``."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
    compiled = {"_Refuse": "Refusal", "_Confirm": "Confirmation", "_Effect": "Effect"}
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Match):
            continue
        names = [
            compiled.get(c.pattern.cls.id, c.pattern.cls.id)  # type: ignore[attr-defined]
            for c in node.cases
            if isinstance(c.pattern, ast.MatchClass) and isinstance(c.pattern.cls, ast.Name)
        ]
        if set(names) & {"Refusal", "Confirmation", "Effect"}:
            last = node.cases[-1]
            ends = isinstance(last.pattern, ast.MatchAs) and last.pattern.pattern is None
            never = ends and "assert_never" in ast.unparse(last)
            found += [*names, "assert_never" if never else "falls through"]
    return found


def test_the_step_level_is_mirrored_in_the_same_order() -> None:
    import mostate.codegen.operation as specialiser
    import mostate.engine as engine
    import mostate.independence as independence
    import mostate.mutation.operators as operators
    import mostate.rules as rules
    import mostate.symbolic.transition as transition

    expected = [node.__name__ for node in rules.STEP_NODES] + ["assert_never"]
    dispatchers = {
        "engine._compile_step": engine._compile_step,
        "engine.Engine._run_steps": engine.Engine._run_steps,
        "transition.CompiledSpec._compile_op": transition.CompiledSpec._compile_op,
        "transition.CompiledSpec.run_step": transition.CompiledSpec.run_step,
        "specialiser._Function._steps": specialiser._Function._steps,
        "rules.step_exprs": rules.step_exprs,
        "independence.reads_field": independence.reads_field,
        "operators._slots": operators._slots,
    }
    for name, fn in dispatchers.items():
        assert _step_cases(fn) == expected, name


def test_only_the_second_wrapper_module_imports_cvc5() -> None:
    modules = ("_z3", "compiler", "transition", "queries", "verifier", "diff", "crosscheck")
    for module in modules:
        source = inspect.getsource(importlib.import_module(f"mostate.symbolic.{module}"))
        assert "import cvc5" not in source, module
    assert "import cvc5" in inspect.getsource(importlib.import_module("mostate.symbolic._cvc5"))
