"""Rewrites of spec expressions that keep their meaning: constant folding and the *stutter* view.

A transition property evaluated on a step that changed nothing (a refusal, a declined request, a
query) reads the same state before and after. :func:`stutter` rewrites a property for that case
(primed reads become plain reads, ``unchanged(x)`` becomes ``true``) and :func:`fold` simplifies
the result; when a property folds to ``true`` the engine need not evaluate it on such steps. Both
are pure functions of the AST, so the speed-up is derived from the spec, never written by hand.

Only reads of the state are rewritten: what the request and its outcome give (the arguments,
``target``, ``actor``, ``status``, ``result``, ``declined``, ``declines``) is the same whatever
the step changed, so those leaves are kept as they are and read at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import attrs

from .rules import (
    BoolOp,
    Compare,
    Comparison,
    Connective,
    Count,
    Domain,
    Expr,
    Field,
    Ite,
    Lit,
    Not,
    Quant,
    Read,
    The,
    Type,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
    map_children,
)

Rewrite: TypeAlias = Callable[[Expr], Expr]


def stutter(expr: Expr) -> Expr:
    """``expr`` on a step whose state after equals its state before.

    >>> from mostate.syntax import parse_expr, Scope
    >>> from mostate.errors import Location
    >>> e = parse_expr("all(i, locked(i) -> unchanged(i))", Scope(primed=True), Location("-", 1, 1))
    >>> fold(stutter(e))
    Lit(value=True, type=<Type.BOOL: 'bool'>)
    """
    match expr:
        case Unchanged():
            return Lit(True, Type.BOOL, expr.loc)
        case Read(primed=True):
            return attrs.evolve(expr, of=stutter(expr.of), primed=False)
        case (
            Read()
            | Not()
            | BoolOp()
            | Compare()
            | Ite()
            | WithParam()
            | WithoutParam()
            | Quant()
            | Count()
            | The()
        ):
            return map_children(expr, stutter)
        case _:
            return expr


def local_frame(expr: Expr) -> Expr:
    """``expr`` for an operation whose effects all stay in the target's service.

    Such a step leaves every instance of every other service as it was, so inside a quantifier
    over ``others`` the bound instance is unchanged: its primed reads are plain reads and
    ``unchanged(i)`` is ``true``.
    """
    match expr:
        case Quant(domain=Domain.OTHERS) | Count(domain=Domain.OTHERS) | The(domain=Domain.OTHERS):
            return attrs.evolve(expr, body=_settle(expr.body, expr.var))
        case _:
            return map_children(expr, local_frame)


def unwritten(expr: Expr, written: frozenset[Field]) -> Expr:
    """``expr`` for an operation whose effects write only the fields ``written``.

    The state a step leaves (before it is normalised, as the checks read it) holds every other
    field as it was, on every instance: a primed read of such a field is a plain read. So a frame
    property (``all(i, default'(i) == default(i))`` of an operation that writes Active alone)
    folds to ``true`` where it cannot break.

    >>> from mostate.syntax import parse_expr, Scope
    >>> from mostate.errors import Location
    >>> e = parse_expr("all(i, default'(i) == default(i))", Scope(primed=True), Location("-", 1, 1))
    >>> fold(unwritten(e, frozenset({Field.ACTIVE})))
    Lit(value=True, type=<Type.BOOL: 'bool'>)
    >>> fold(unwritten(e, frozenset({Field.DEFAULT}))) == e
    True
    """
    match expr:
        case Read(primed=True, field=field) if field not in written:
            return attrs.evolve(expr, of=unwritten(expr.of, written), primed=False)
        case _:
            return map_children(expr, lambda child: unwritten(child, written))


def _settle(expr: Expr, var: str) -> Expr:
    """Treat instance ``var`` as unchanged by the step."""
    match expr:
        case Unchanged(of=Var(name=name)) if name == var:
            return Lit(True, Type.BOOL, expr.loc)
        case Read(primed=True, of=Var(name=name)) if name == var:
            return attrs.evolve(expr, primed=False)
        case _:
            return map_children(expr, lambda child: _settle(child, var))


def _bool(expr: Expr) -> bool | None:
    if isinstance(expr, Lit) and isinstance(expr.value, bool):
        return expr.value
    return None


def fold(expr: Expr) -> Expr:
    """Fold constants bottom-up: ``not true``, ``x -> true``, ``all(i, true)``, ``1 <= 2``..."""
    expr = map_children(expr, fold)
    match expr:
        case Not():
            value = _bool(expr.operand)
            return expr if value is None else Lit(not value, Type.BOOL, expr.loc)
        case BoolOp():
            return _fold_boolop(expr)
        case Compare(left=Lit(), right=Lit()):
            return Lit(_compare(expr), Type.BOOL, expr.loc)
        case Compare(op=Comparison.EQ | Comparison.LE | Comparison.GE) if expr.left == expr.right:
            # Expressions are pure, so a value always equals itself.
            return Lit(True, Type.BOOL, expr.loc)
        case Ite():
            cond = _bool(expr.cond)
            return expr if cond is None else (expr.then if cond else expr.orelse)
        case Quant():
            # Every domain holds at least the fresh name, so all/any of a constant is that constant.
            body = _bool(expr.body)
            return expr if body is None else Lit(body, Type.BOOL, expr.loc)
        case _:
            return expr


def _fold_boolop(expr: BoolOp) -> Expr:
    left, right = _bool(expr.left), _bool(expr.right)
    t, f = Lit(True, Type.BOOL, expr.loc), Lit(False, Type.BOOL, expr.loc)
    if expr.op is Connective.AND:
        if left is False or right is False:
            return f
        return expr.right if left is True else expr.left if right is True else expr
    if expr.op is Connective.OR:
        if left is True or right is True:
            return t
        return expr.right if left is False else expr.left if right is False else expr
    if left is False or right is True or expr.left == expr.right:
        return t
    if left is True:
        return expr.right
    return expr


def _compare(expr: Compare) -> bool:
    assert isinstance(expr.left, Lit) and isinstance(expr.right, Lit)
    a, b = expr.left.value, expr.right.value
    if expr.op is Comparison.EQ:
        return a == b
    if expr.op is Comparison.NE:
        return a != b
    assert isinstance(a, int) and isinstance(b, int)
    return {
        Comparison.LT: a < b,
        Comparison.LE: a <= b,
        Comparison.GT: a > b,
        Comparison.GE: a >= b,
    }[expr.op]


def is_true(expr: Expr) -> bool:
    """Whether ``expr`` is the literal ``true`` (after folding)."""
    return _bool(expr) is True
