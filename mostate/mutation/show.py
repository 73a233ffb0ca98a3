"""Spec expressions printed back in the spec's own syntax, for one-line mutant descriptions.

The printer covers every node of :mod:`mostate.rules` (an exhaustive match) and parenthesises
every nested binary operator, so the text reads unambiguously without knowing the precedences.
It is for people: the spec loader, not this module, is the parser.
"""

from __future__ import annotations

from typing import assert_never

from ..frozenmap import FrozenMap
from ..model import Role
from ..rules import (
    Arg,
    BoolOp,
    Builtin,
    Compare,
    Connective,
    Count,
    Domain,
    Expr,
    Ite,
    Lit,
    Not,
    Quant,
    Read,
    The,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
)


def show(expr: Expr) -> str:
    """``expr`` as spec text.

    >>> from mostate.syntax import Scope, parse_expr
    >>> from mostate.errors import Location
    >>> from mostate.rules import Type
    >>> text = "not locked(target) and any(j, active(j) and j != target)"
    >>> show(parse_expr(text, Scope(target=True), Location("-", 1, 1)))
    'not locked(target) and any(j, active(j) and j != target)'
    >>> scope = Scope(args=FrozenMap({"value": Type.BOOL}), target=True)
    >>> show(parse_expr("(value or locked(target)) and not (value -> true)", scope,
    ...                 Location("-", 1, 1)))
    '(value or locked(target)) and not (value -> true)'
    """
    match expr:
        case Lit():
            return _literal(expr.value)
        case Var() | Arg():
            return expr.name
        case Builtin():
            return expr.name.value
        case Not():
            return f"not {_operand(expr.operand)}"
        case BoolOp():
            left = show(expr.left) if _binds_tighter(expr.left, expr, True) else _paren(expr.left)
            right = show(expr.right) if _binds_tighter(expr.right, expr) else _paren(expr.right)
            return f"{left} {expr.op.value} {right}"
        case Compare():
            return f"{_operand(expr.left)} {expr.op.value} {_operand(expr.right)}"
        case Ite():
            return f"if {show(expr.cond)} then {show(expr.then)} else {show(expr.orelse)}"
        case Read():
            return f"{expr.field.value}{chr(39) if expr.primed else ''}({show(expr.of)})"
        case Unchanged():
            return f"unchanged({show(expr.of)})"
        case WithParam():
            return f"with({show(expr.params)}, {show(expr.key)}, {show(expr.value)})"
        case WithoutParam():
            return f"without({show(expr.params)}, {show(expr.key)})"
        case Quant():
            return f"{expr.kind.value}({_binder(expr.var, expr.domain)}, {show(expr.body)})"
        case Count():
            return f"count({_binder(expr.var, expr.domain)}, {show(expr.body)})"
        case The():
            return f"the({_binder(expr.var, expr.domain)}, {show(expr.body)})"
        case _:
            assert_never(expr)


def _operand(expr: Expr) -> str:
    return _paren(expr) if isinstance(expr, BoolOp | Compare | Ite | Not) else show(expr)


def _paren(expr: Expr) -> str:
    return f"({show(expr)})"


def _binds_tighter(child: Expr, parent: BoolOp, left: bool = False) -> bool:
    """Whether ``child`` prints bare beside ``parent``'s connective: comparisons and negations
    bind tighter than any connective, and ``and``/``or`` chains group to the left."""
    if isinstance(child, BoolOp):
        return left and child.op is parent.op and parent.op is not Connective.IMPLIES
    return not isinstance(child, Ite)


def _binder(var: str, domain: Domain) -> str:
    return var if domain is Domain.SERVICE else f"{var} in {domain.value}"


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, Role):
        return value.value
    if isinstance(value, FrozenMap):
        return "{}"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def brief(expr: Expr, width: int = 40) -> str:
    """``expr`` as spec text, cut to ``width`` characters (for one-line descriptions).

    >>> from mostate.rules import Lit, Not, Type
    >>> brief(Not(Lit(True, Type.BOOL))), len(brief(Not(Not(Not(Lit(True, Type.BOOL)))), 12))
    ('not true', 12)
    """
    text = show(expr)
    return text if len(text) <= width else text[: width - 3] + "..."
