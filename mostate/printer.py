"""Spec expressions printed back in the spec's own syntax: one line, or laid out to a width.

The inverse of :mod:`mostate.syntax`: for every tree ``e`` the parser produces,
``parse(show(e)) == e`` and ``parse("\\n".join(layout(e, w))) == e`` for any width ``w``
(locations aside), which ``tests/core/test_printer.py`` checks on expressions Hypothesis draws.
The printer covers every node of :mod:`mostate.rules` (an exhaustive match) and writes the
parentheses a reader needs: every operand of ``->`` that is not itself an implication is bare
(``->`` binds loosest), ``and``/``or`` chains group to the left, and a mix of ``and`` and
``or``, a nested ``->``, an ``if`` or a comparison inside another is parenthesised even where
the precedence would not need it, so the text reads without knowing the table.

:func:`layout` breaks a long expression at its top-level connectives (``->``, then each
``and``/``or`` of a chain, then an ``if``'s ``else`` branches, then a quantifier's body), each
continuation indented by two; it is what ``mostate fmt`` writes into a multi-line string.
"""

from __future__ import annotations

from typing import assert_never

from .frozenmap import FrozenMap
from .model import Role
from .rules import (
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

INDENT = "  "
"""What each level of a laid-out expression is indented by."""


def show(expr: Expr) -> str:
    """``expr`` as spec text, on one line.

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
    >>> show(parse_expr("(value and true) -> (false or value)", scope, Location("-", 1, 1)))
    'value and true -> false or value'
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
            left = show(expr.left) if _bare(expr.left, expr, True) else _paren(expr.left)
            right = show(expr.right) if _bare(expr.right, expr) else _paren(expr.right)
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


def layout(expr: Expr, width: int = 96) -> list[str]:
    """``expr`` as lines of at most ``width`` characters where it can be broken (a single name
    or call longer than that stays whole), continuations indented.

    >>> from mostate.syntax import Scope, parse_expr
    >>> from mostate.errors import Location
    >>> e = parse_expr("locked(target) or any(j, active(j) and locked(j) and j != target)",
    ...                Scope(target=True), Location("-", 1, 1))
    >>> for line in layout(e, 40): print(line)
    locked(target)
      or any(j, active(j) and locked(j)
        and j != target)
    """
    flat = show(expr)
    if len(flat) <= width:
        return [flat]
    match expr:
        case BoolOp() if expr.op is Connective.IMPLIES:
            return _implication(expr, width)
        case BoolOp():
            return _chain(expr, width)
        case Ite():
            return _conditional(expr, width)
        case Compare():
            return _comparison(expr, width)
        case Not():
            return _prefixed("not ", _operand_lines(expr.operand, width - 4))
        case Quant() | Count() | The():
            kind = "count" if isinstance(expr, Count) else "the"
            if isinstance(expr, Quant):
                kind = expr.kind.value
            head = f"{kind}({_binder(expr.var, expr.domain)}, "
            return _closed(_prefixed(head, layout(expr.body, width - len(head))), ")")
        case _:
            return [flat]


def _implication(expr: BoolOp, width: int) -> list[str]:
    left = _side_lines(expr.left, expr, width, True)
    right = _side_lines(expr.right, expr, width - len(INDENT), False)
    return [*left[:-1], left[-1] + " ->", *_indented(right)]


def _chain(expr: BoolOp, width: int) -> list[str]:
    """A left-grouped chain ``a and b and c``: as many operands on a line as fit, each line
    after the first starting with the connective."""
    operands = [expr.right]
    node: Expr = expr.left
    while isinstance(node, BoolOp) and node.op is expr.op:
        operands.append(node.right)
        node = node.left
    operands.append(node)
    operands.reverse()
    word = expr.op.value + " "
    lines = _side_lines(operands[0], expr, width, True)
    for operand in operands[1:]:
        inner = _side_lines(operand, expr, width - len(INDENT) - len(word), False)
        joined = f"{lines[-1]} {word}{inner[0]}"
        if len(inner) == 1 and len(joined) <= width:
            lines[-1] = joined
        else:
            lines.extend(_indented(_prefixed(word, inner)))
    return lines


def _comparison(expr: Compare, width: int) -> list[str]:
    """``a == b`` too long for a line: ``b`` (in parentheses, broken) goes on after ``a ==``."""
    left = _operand_lines(expr.left, width)
    head = f"{left[-1]} {expr.op.value} "
    # The right side's continuation lines start at the indentation, not after ``a ==``.
    right = _operand_lines(expr.right, width - len(INDENT))
    return [*left[:-1], head + right[0], *right[1:]]


def _conditional(expr: Ite, width: int) -> list[str]:
    """``if c then a``, ``else if d then b``..., ``else z``, each on its own line."""
    lines: list[str] = []
    node: Expr = expr
    lead = "if "
    while isinstance(node, Ite):
        cond = layout(node.cond, width - len(lead))
        then = layout(node.then, width - len(INDENT) - 5)
        head = _prefixed(lead, cond)
        if len(then) == 1 and len(head[-1]) + 6 + len(then[0]) <= width:
            lines.extend([*head[:-1], f"{head[-1]} then {then[0]}"])
        else:
            lines.extend([*head[:-1], head[-1] + " then", *_indented(then)])
        node, lead = node.orelse, "else if "
    return [*lines, *_prefixed("else ", layout(node, width - 5))]


def _side_lines(child: Expr, parent: BoolOp, width: int, left: bool) -> list[str]:
    if _bare(child, parent, left):
        return layout(child, width)
    return _paren_lines(child, width)


def _operand_lines(expr: Expr, width: int) -> list[str]:
    if isinstance(expr, BoolOp | Compare | Ite | Not):
        return _paren_lines(expr, width)
    return layout(expr, width)


def _paren_lines(expr: Expr, width: int) -> list[str]:
    inner = layout(expr, width - 2)
    return _closed(["(" + inner[0], *(" " + line for line in inner[1:])], ")")


def _prefixed(prefix: str, lines: list[str]) -> list[str]:
    """``prefix`` before the first line (the others carry their own indentation)."""
    return [prefix + lines[0], *lines[1:]]


def _closed(lines: list[str], closing: str) -> list[str]:
    return [*lines[:-1], lines[-1] + closing]


def _indented(lines: list[str]) -> list[str]:
    return [INDENT + line for line in lines]


def _operand(expr: Expr) -> str:
    return _paren(expr) if isinstance(expr, BoolOp | Compare | Ite | Not) else show(expr)


def _paren(expr: Expr) -> str:
    return f"({show(expr)})"


def _bare(child: Expr, parent: BoolOp, left: bool = False) -> bool:
    """Whether ``child`` prints without parentheses beside ``parent``'s connective: ``->`` binds
    loosest, so any other operand of it is bare; ``and``/``or`` chains group to the left; a
    comparison or a negation binds tighter than any connective; an ``if`` always has them."""
    if isinstance(child, BoolOp):
        if parent.op is Connective.IMPLIES:
            return child.op is not Connective.IMPLIES
        return left and child.op is parent.op
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
