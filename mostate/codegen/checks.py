"""The checks at an exit point of generated code: :meth:`Engine._check` specialised.

:func:`exit_checks` builds the :class:`~.residual.Check` of each clause the step may break:
the spec's invariants on the view after the step (when an effect ran), then the transition
properties of the operation and role, as the interpreter checks them (``Engine._check``),
folded by what the exit point knows.

On a ``point`` view (the step changed the target alone) an invariant is written twice
(:class:`~.residual.ValidSplit`: for a caller that knows the service kept every invariant
before the step, and for one that does not): ``all(i, P(i))`` with ``P`` reading ``i`` alone
is checked on the target and the fresh name only, and ``count(i, P(i)) <= k`` is counted only
when the target newly satisfies ``P`` (otherwise the count did not grow). Any other invariant
is checked whole either way, except, when the caller knows it kept them, one that reads no
field the operation's effects write (:func:`~mostate.rules.fields_read`): it holds after the
step as it held before, on a point view or a whole rewrite of the service alike.
"""

from __future__ import annotations

import attrs

from ..model import Clause, Status
from ..rules import (
    Compare,
    Comparison,
    Count,
    Domain,
    Expr,
    Field,
    Lit,
    Property,
    Quant,
    Quantifier,
    Spec,
    fields_read,
    has_the,
    reads_only,
)
from ..simplify import fold, stutter, unwritten
from .context import Cx
from .expr import code, conjoin, negate
from .residual import Check, If, Stmt, ValidSplit
from .values import BASE, Code, ViewCode


def exit_checks(
    spec: Spec,
    properties: list[Property],
    base: Cx,
    end: Cx,
    status: Status,
    view: ViewCode,
    written: frozenset[Field],
) -> list[Stmt]:
    """The checks at an exit point: ``base`` is the operation's context before its steps,
    ``end`` what the path to the exit established, ``view`` the service after the step, and
    ``written`` the fields the operation's effects write."""
    lines: list[Stmt] = []
    if not view.base:
        # CREATES_ONLY_TARGET (``_creations``) cannot break here: effects over the target's
        # service rewrite the names it held and the target, and an effect that makes its
        # fresh name exist stops the step before (``_unbounded``).
        lines += _invariants(spec, base, view, written)
    cx = attrs.evolve(end, pre=BASE, post=view, status=int(status))
    for prop in properties:
        expr = prop.expr
        if view.base and not has_the(expr):
            expr = fold(stutter(expr))
        elif not has_the(expr):  # a field no effect writes reads after as before
            expr = fold(unwritten(expr, written))
        lines += check(expr, cx, Clause("property", prop.name, prop.loc))
    return lines


def _invariants(spec: Spec, base: Cx, view: ViewCode, written: frozenset[Field]) -> list[Stmt]:
    """The invariants on the view after the step; when the caller says the state before kept
    them (``valid``), only what the step can break: none that reads no field it writes, and on
    a ``point`` view, only what the target's change can break."""
    after = attrs.evolve(base, pre=view, post=view)
    full: list[Stmt] = []
    quick: list[Stmt] = []
    shortened = False
    for inv in spec.invariants:
        clause = Clause("invariant", inv.name, inv.loc)
        whole = check(inv.expr, after, clause)
        full += whole
        if not fields_read(inv.expr) & written:
            shortened = shortened or bool(whole)
        elif view.point:
            lines, short = _quick_invariant(inv.expr, after, clause)
            quick += lines
            shortened = shortened or short
        else:
            quick += whole
    if not shortened:
        return full
    if base.unit.successor:  # given states that keep the invariants only
        return quick
    return [ValidSplit(tuple(quick), tuple(full))]


def _quick_invariant(expr: Expr, cx: Cx, clause: Clause) -> tuple[list[Stmt], bool]:
    """``expr`` on a ``point`` view of a state that keeps it, and whether that is shorter than
    checking it whole."""
    match expr:
        case Quant(kind=Quantifier.ALL, domain=Domain.SERVICE) if reads_only(expr.body, expr.var):
            return check(expr, attrs.evolve(cx, changed_only=True), clause), True
        case Compare() if (bound := _count_bound(expr)) is not None and cx.pre.fresh is None:
            grows = _grows(bound, cx)
            whole = check(expr, cx, clause)
            if grows.static:
                return (whole if grows.value else []), True
            assert grows.term is not None
            return [If(grows.term, tuple(whole))], True
        case _:
            return check(expr, cx, clause), False


def _count_bound(expr: Compare) -> Count | None:
    """The ``count`` of ``count(i, P(i)) <= k`` (``<``, or ``k >=``, ``k >``) over the service
    with ``P`` reading ``i`` alone and ``k`` an integer literal; ``None`` for other shapes."""
    match expr:
        case Compare(op=Comparison.LE | Comparison.LT, left=Count() as count, right=Lit() as k):
            pass
        case Compare(op=Comparison.GE | Comparison.GT, left=Lit() as k, right=Count() as count):
            pass
        case _:
            return None
    if type(k.value) is not int or count.domain is not Domain.SERVICE:
        return None
    return count if reads_only(count.body, count.var) else None


def _grows(count: Count, cx: Cx) -> Code:
    """Whether the target satisfies ``count``'s body after the step and not before."""
    assert cx.target is not None
    now = code(count.body, cx.bind(count.var, cx.target))
    before = attrs.evolve(cx, pre=BASE, post=BASE).bind(count.var, cx.target)
    return conjoin(now, negate(code(count.body, before)), cx)


def check(expr: Expr, cx: Cx, clause: Clause) -> list[Stmt]:
    """The check that ``clause`` is broken when ``expr`` does not hold in ``cx`` (none when
    it folds to true; a ``the`` that names several instances counts as broken)."""
    holds = code(expr, cx)
    if holds.static and holds.value:
        return []
    named = cx.unit.const(clause)
    if holds.static:
        return [Check(None, named)]
    return [Check(holds.term, named, guarded=holds.risky)]
