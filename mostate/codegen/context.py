"""The context the partial evaluator works in: what is known statically at one point of a step.

:class:`Unit` is the module being generated (its constants and the local names it has handed
out); :class:`Cx` is what holds at one point of one operation for one role: the views that plain
and primed reads see, the facts the path has established (a refusal that did not fire, the left
side of an ``and``), and the outcome of the step when a property is checked at an exit point.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..frozenmap import FrozenMap
from ..model import Role
from ..rules import BoolOp, Compare, Comparison, Connective, Expr, Not
from .residual import Const, Lit, Local, Term, constant_key
from .values import BASE, Code, Named, Ref, ViewCode


class Unit:
    """One generated module: the values its code names, and its local names.

    Literals (bools, ints, strings, ``None``, finite floats) are :class:`~.residual.Lit`
    terms; every other value (a clause, a status, a parameter map) is a
    :class:`~.residual.Const`, given the next name of the module's namespace the first time.

    >>> unit = Unit()
    >>> unit.literal("a'b"), unit.literal(Role.USER)
    (Lit(value="a'b"), Const(value=<Role.USER: 'user'>))
    >>> unit.namespace["_k0"]
    <Role.USER: 'user'>
    """

    def __init__(self, successor: bool = False) -> None:
        self.successor = successor
        """Whether this is a successor module (the explorer's): its functions are only given
        states that keep the invariants (the checks for any other state are left out), and
        parameter maps are built through its interning ``_with_param`` and
        ``_without_param`` (records too: :func:`~mostate.codegen.runtime.interned_values`),
        so that the explorer codes them by identity."""
        self.namespace: dict[str, Any] = {}
        self._names: dict[tuple[type, Any], str] = {}
        self._counter = 0

    def const(self, obj: Any) -> Const:
        """``obj`` as a constant, named in the module (one name per distinct hashable value)."""
        key = constant_key(obj)
        if key not in self._names:
            name = self._names[key] = f"_k{len(self._names)}"
            self.namespace[name] = obj
        return Const(obj)

    def literal(self, value: Any) -> Term:
        """A term that evaluates to ``value``."""
        if value is None or isinstance(value, bool | str):
            return Lit(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return Lit(value)
        if isinstance(value, float) and math.isfinite(value):
            return Lit(value)
        return self.const(value)

    def scratch(self) -> Unit:
        """A copy to try code in: what it registers or hands out stays out of this unit."""
        copy = Unit(self.successor)
        copy.namespace, copy._names = dict(self.namespace), dict(self._names)
        copy._counter = self._counter
        return copy

    def fresh(self, prefix: str) -> Local:
        """A local name not handed out before (``prefix`` is the generator's own, e.g. ``n``)."""
        self._counter += 1
        return Local(f"{prefix}{self._counter}")

    def src(self, code: Code) -> Term:
        """The term of a value, static or not."""
        if code.static:
            return self.literal(code.value)
        assert code.term is not None
        return code.term


@attrs.frozen
class Cx:
    """What is known at one point of an operation, for one role.

    ``changed_only``: a quantifier over the request's service walks the target and the fresh
    name alone, the other names being known to satisfy its body (an invariant, checked on a
    ``point`` view of a state known to keep it).
    """

    unit: Unit = attrs.field(eq=False)
    role: Role
    args: FrozenMap[str, Code]
    target: Named | None
    pre: ViewCode = BASE
    post: ViewCode = BASE
    vars: FrozenMap[str, Ref] = FrozenMap()
    facts: FrozenMap[Expr, bool] = FrozenMap()
    status: int | None = None
    declined: bool = False
    declines: Code = Code.known(False)
    result: Ref | None = None
    changed_only: bool = False

    def bind(self, var: str, ref: Ref) -> Cx:
        return attrs.evolve(self, vars=self.vars.set(var, ref))

    def assume(self, expr: Expr, value: bool) -> Cx:
        """The context once ``expr`` is known to evaluate to ``value``."""
        return attrs.evolve(self, facts=_with_fact(self.facts, expr, value))


def _with_fact(facts: FrozenMap[Expr, bool], expr: Expr, value: bool) -> FrozenMap[Expr, bool]:
    """``facts`` with ``expr`` = ``value`` and what follows from it at once (the parts of an
    ``and`` that holds, of an ``or`` that fails, the other form of an equality)."""
    out = _bound(facts, expr, value)
    match expr:
        case Not():
            out = _with_fact(out, expr.operand, not value)
        case BoolOp(op=Connective.AND) if value:
            out = _with_fact(_with_fact(out, expr.left, True), expr.right, True)
        case BoolOp(op=Connective.OR) if not value:
            out = _with_fact(_with_fact(out, expr.left, False), expr.right, False)
        case BoolOp(op=Connective.IMPLIES) if not value:
            out = _with_fact(_with_fact(out, expr.left, True), expr.right, False)
        case Compare(op=Comparison.EQ | Comparison.NE):
            same = value if expr.op is Comparison.EQ else not value
            for op, holds in ((Comparison.EQ, same), (Comparison.NE, not same)):
                for left, right in ((expr.left, expr.right), (expr.right, expr.left)):
                    out = _bound(out, Compare(op, left, right), holds)
        case _:
            pass  # nothing else follows from it at once
    return out


def _bound(facts: FrozenMap[Expr, bool], expr: Expr, value: bool) -> FrozenMap[Expr, bool]:
    """``facts.set(expr, value)``, left out of key order: facts are only looked up, and
    putting expressions in order prints each one (``FrozenMap`` orders keys by ``str``),
    which was most of the time generating code took."""
    return FrozenMap._adopt({**facts._data, expr: value})
