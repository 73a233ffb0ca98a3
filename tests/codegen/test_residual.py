"""The residual language's structure: every node has its case in every backend, in the order the
language declares them, and every dispatcher over it ends in ``assert_never``.

The backends are the Python printer (:mod:`mostate.codegen.python`), the C printer
(:mod:`mostate.codegen.c`) and the array evaluator
(:mod:`mostate.explore.evaluator` for terms and loops, :mod:`mostate.explore.run` for
statements); the walks of :mod:`mostate.codegen.residual` and the dead-copy pass name every
node too. What each backend does with a node is held elsewhere: the printer byte for byte to
the snapshots (``test_snapshots.py``), the arrays to the printed Python
(``tests/explore/test_vectors.py``).
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from mostate.codegen import c, python, residual, unused
from mostate.codegen.residual import LOOP_NODES, STMT_NODES, TERM_NODES


def _cases(fn: object) -> tuple[list[str], bool]:
    """The classes the (first) ``match`` of ``fn`` names, in order, and whether it ends in
    ``case _: assert_never(...)``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
    match = next(node for node in ast.walk(tree) if isinstance(node, ast.Match))
    names: list[str] = []
    for case in match.cases:
        patterns = (
            case.pattern.patterns if isinstance(case.pattern, ast.MatchOr) else [case.pattern]
        )
        names += [p.cls.id for p in patterns if isinstance(p, ast.MatchClass)]  # type: ignore[attr-defined]
    last = match.cases[-1]
    closed = isinstance(last.pattern, ast.MatchAs) and last.pattern.pattern is None
    return names, closed and "assert_never" in ast.unparse(last)


def _names(nodes: tuple[type, ...]) -> list[str]:
    return [node.__name__ for node in nodes]


def _backends() -> dict[str, tuple[object, tuple[type, ...]]]:
    pytest.importorskip("numpy", reason="the array backend is numpy's")
    from mostate.explore import evaluator, loops, run

    return {
        "python terms": (python._Printer.term, TERM_NODES),
        "python loops": (python._Printer.loop, LOOP_NODES),
        "python statements": (python._Printer.statement, STMT_NODES),
        "c terms": (c.FunctionPrinter.term, TERM_NODES),
        "c loops": (c.FunctionPrinter.heads, LOOP_NODES),
        "c statements": (c.FunctionPrinter.statement, STMT_NODES),
        "arrays terms": (evaluator.Terms.term, TERM_NODES),
        "arrays loops": (loops.Loops.enter, LOOP_NODES),
        "arrays statements": (run.Run.statement, STMT_NODES),
    }


@pytest.mark.parametrize("backend", sorted(_backends()))
def test_every_node_has_its_case_in_every_backend_in_order(backend: str) -> None:
    fn, nodes = _backends()[backend]
    names, closed = _cases(fn)
    assert names == _names(nodes)
    assert closed, f"{backend} does not end in assert_never"


@pytest.mark.parametrize(
    ("walk", "nodes"),
    [
        (residual.term_children, TERM_NODES),
        (residual.loop_terms, LOOP_NODES),
        (residual.stmt_terms, STMT_NODES),
        (residual.stmt_bodies, STMT_NODES),
        (unused._inner, STMT_NODES),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_every_walk_names_every_node(walk: object, nodes: tuple[type, ...]) -> None:
    names, closed = _cases(walk)
    assert sorted(names) == sorted(_names(nodes)) and closed


def test_the_declared_unions_are_the_node_tuples() -> None:
    # The type aliases the backends match over list the same classes as the tuples.
    for alias, nodes in (("Term", TERM_NODES), ("Loop", LOOP_NODES), ("Stmt", STMT_NODES)):
        spelled = getattr(residual, alias)
        assert [n.strip() for n in spelled.split("|")] == _names(nodes)


def test_every_node_is_a_frozen_value() -> None:
    import attrs

    for node in (*TERM_NODES, *LOOP_NODES, *STMT_NODES):
        assert attrs.has(node), node
        assert node.__setattr__.__name__ == "_frozen_setattrs", node  # attrs.frozen
