"""The expression language: tokenizer, parser and type checker in one pass.

An expression string from a spec file becomes a typed :mod:`mostate.rules` tree, or a
:class:`~mostate.errors.SpecError` at the line and column of the offending token. Names are
resolved against a :class:`Scope`, which says what the place in the spec may read (the
operation's arguments, ``target``, the primed state, ``status``...). Nothing is ever evaluated
here, and spec text never reaches ``eval``.

Grammar (lowest precedence first)::

    expr    := "if" expr "then" expr "else" expr | implies
    implies := or ("->" implies)?
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := atom (("==" | "!=" | "<" | "<=" | ">" | ">=") atom)?
    atom    := "(" expr ")" | INT | STRING | "true" | "false" | "none" | "{}" | "user" | "server"
             | "if" ... | NAME | NAME ["'"] "(" args ")"
    quantifier call := ("all" | "any" | "count" | "the") "(" NAME ["in" DOMAIN] "," expr ")"
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping

import attrs

from .errors import Location, SpecError
from .frozenmap import FrozenMap
from .model import Role
from .rules import (
    Arg,
    BoolOp,
    Builtin,
    BuiltinName,
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
    Quantifier,
    Read,
    The,
    Type,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
    children,
)
from .suggest import closest, did_you_mean


@attrs.frozen
class Scope:
    """What an expression at some place of a spec may refer to.

    ``variables`` are instance variables already bound (``i`` in an effect); ``args`` the
    operation's arguments (in a property, those every operation it speaks of declares alike);
    ``primed`` allows reading the state after the step; ``status`` and ``declined`` put those
    terms of a transition property in scope; ``result`` is the type of the query result a
    property may read (``None``: no result in scope). ``arg_hints`` says, for an argument some
    operation declares but that is not in scope here, why not (for the error message).
    """

    args: Mapping[str, Type] = FrozenMap()
    variables: frozenset[str] = frozenset()
    target: bool = False
    target_optional: bool = False
    primed: bool = False
    status: bool = False
    declined: bool = False
    result: Type | None = None
    arg_hints: Mapping[str, str] = FrozenMap()

    def bind(self, name: str) -> Scope:
        return attrs.evolve(self, variables=self.variables | {name})


MAX_DIGITS = 9
"""The longest integer literal (a count or a status needs no more; Python's int() refuses
4,300 digits with a ValueError, which a spec author must see as a located error)."""

# Digits are ASCII only: Unicode digits (Arabic-Indic, superscripts) are not numbers here.
_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<int>[0-9]+)
      | (?P<str>"(?:[^"\\\n]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*'?)
      | (?P<op>->|==|!=|<=|>=|[()<>,{}])
    """,
    re.VERBOSE,
)

_KEYWORDS = frozenset(
    {"and", "or", "not", "if", "then", "else", "in", "true", "false", "none", "user", "server"}
)
_QUANTIFIERS = frozenset({"all", "any", "count", "the"})
_READS = {f.value: f for f in Field}
_COMPARISONS = {c.value: c for c in Comparison}


@attrs.frozen
class _Token:
    kind: str
    text: str
    loc: Location


def _tokenize(text: str, origin: Location) -> list[_Token]:
    tokens: list[_Token] = []
    pos, line, col = 0, origin.line, origin.column
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        loc = Location(origin.file, line, col)
        if match is None:
            raise SpecError(f"unexpected character {text[pos]!r}", loc, culprit=text[pos])
        kind = match.lastgroup or ""
        piece = match.group()
        if kind != "ws":
            tokens.append(_Token(kind, piece, loc))
        newlines = piece.count("\n")
        if newlines:
            line += newlines
            col = len(piece) - piece.rfind("\n")
        else:
            col += len(piece)
        pos = match.end()
    tokens.append(_Token("end", "", Location(origin.file, line, col)))
    return tokens


def parse_expr(text: str, scope: Scope, origin: Location, expect: Type | None = None) -> Expr:
    """Parse and type-check one expression of a spec.

    >>> from mostate.errors import Location
    >>> e = parse_expr("count(i, active(i)) <= 1", Scope(), Location("s.toml", 1, 1), Type.BOOL)
    >>> type(e).__name__, e.op.value
    ('Compare', '<=')
    >>> parse_expr("activ(target)", Scope(target=True), Location("s.toml", 4, 9))
    Traceback (most recent call last):
    ...
    mostate.errors.SpecError: s.toml:4:9: unknown function 'activ'; did you mean 'active'?
    """
    expr, typ = parse_typed(text, scope, origin)
    if expect is not None and not _assignable(typ, expect):
        raise SpecError(f"expected a {expect.value} expression, found {typ.value}", origin)
    return expr


def parse_typed(text: str, scope: Scope, origin: Location) -> tuple[Expr, Type]:
    """Parse one expression and return it with its type."""
    parser = _Parser(_tokenize(text, origin))
    expr, typ = parser.expr(scope)
    end = parser.peek()
    if end.kind != "end":
        raise SpecError(f"unexpected {end.text!r} after the expression", end.loc)
    if depth(expr) > MAX_DEPTH:
        raise SpecError(
            f"the expression is nested more than {MAX_DEPTH} levels deep (a long chain of "
            "'and', 'or' or '->' counts one level per operator): split it",
            origin,
        )
    return expr, typ


MAX_NESTING = 40
"""How deeply parentheses, 'not', 'if' and '->' may nest while parsing (each level costs the
recursive-descent parser a few Python frames; a deeper input is a located error, not a
RecursionError)."""

MAX_DEPTH = 120
"""How deep a parsed expression may be: every later pass (type check, Z3, the engine's closures,
the simplifier) walks the tree recursively."""


def depth(expr: Expr) -> int:
    """The number of levels of ``expr``'s tree, counted without recursion.

    >>> from mostate.errors import Location
    >>> depth(parse_expr("not not true", Scope(), Location("s.toml", 1, 1)))
    3
    """
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest


def _assignable(actual: Type, wanted: Type) -> bool:
    return actual == wanted or (actual, wanted) == (Type.INSTANCE, Type.OPT_INSTANCE)


def _comparable(a: Type, b: Type) -> bool:
    instances = {Type.INSTANCE, Type.OPT_INSTANCE}
    return a == b or (a in instances and b in instances)


class _Parser:
    """Recursive descent; each method returns the node and its type."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.nesting = 0

    @contextlib.contextmanager
    def deeper(self) -> Iterator[None]:
        """One more level of recursion; a located error beyond MAX_NESTING."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise SpecError(f"nested more than {MAX_NESTING} levels deep", self.peek().loc)
        try:
            yield
        finally:
            self.nesting -= 1

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("name", "op"):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text:
            found = repr(token.text) if token.kind != "end" else "the end of the expression"
            raise SpecError(f"expected {text!r}, found {found}", token.loc)
        return token

    def expr(self, scope: Scope) -> tuple[Expr, Type]:
        with self.deeper():
            if self.peek().text == "if":
                return self.ite(scope)
            return self.implies(scope)

    def ite(self, scope: Scope) -> tuple[Expr, Type]:
        start = self.expect("if")
        cond = self.typed(scope, Type.BOOL, "the condition of 'if'")
        self.expect("then")
        then, t1 = self.expr(scope)
        where = self.expect("else")
        orelse, t2 = self.expr(scope)
        if not _comparable(t1, t2):
            raise SpecError(f"'then' is {t1.value} but 'else' is {t2.value}", where.loc)
        typ = t1 if t1 == t2 else Type.OPT_INSTANCE
        return Ite(cond, then, orelse, typ, start.loc), typ

    def typed(self, scope: Scope, wanted: Type, what: str) -> Expr:
        loc = self.peek().loc
        expr, typ = self.expr(scope)
        if not _assignable(typ, wanted):
            raise SpecError(f"{what} must be {wanted.value}, not {typ.value}", loc)
        return expr

    def _boolean(self, expr: Expr, typ: Type, loc: Location, op: str) -> None:
        if typ != Type.BOOL:
            raise SpecError(f"'{op}' needs bool operands, not {typ.value}", loc)

    def implies(self, scope: Scope) -> tuple[Expr, Type]:
        loc = self.peek().loc
        left, typ = self.or_(scope)
        op = self.peek()
        if op.text != "->":
            return left, typ
        self.next()
        self._boolean(left, typ, loc, "->")
        rloc = self.peek().loc
        with self.deeper():
            right, rtyp = self.implies(scope) if self.peek().text != "if" else self.ite(scope)
        self._boolean(right, rtyp, rloc, "->")
        return BoolOp(Connective.IMPLIES, left, right, op.loc), Type.BOOL

    def _chain(self, scope: Scope, word: str, connective: Connective) -> tuple[Expr, Type]:
        sub = self.and_ if connective is Connective.OR else self.not_
        loc = self.peek().loc
        left, typ = sub(scope)
        while self.peek().text == word and self.peek().kind == "name":
            op = self.next()
            self._boolean(left, typ, loc, word)
            loc = self.peek().loc
            if self.peek().text == "if":
                right, rtyp = self.ite(scope)
            else:
                right, rtyp = sub(scope)
            self._boolean(right, rtyp, loc, word)
            left, typ = BoolOp(connective, left, right, op.loc), Type.BOOL
        return left, typ

    def or_(self, scope: Scope) -> tuple[Expr, Type]:
        return self._chain(scope, "or", Connective.OR)

    def and_(self, scope: Scope) -> tuple[Expr, Type]:
        return self._chain(scope, "and", Connective.AND)

    def not_(self, scope: Scope) -> tuple[Expr, Type]:
        token = self.peek()
        if token.text == "not" and token.kind == "name":
            self.next()
            loc = self.peek().loc
            with self.deeper():
                operand, typ = self.not_(scope)
            self._boolean(operand, typ, loc, "not")
            return Not(operand, token.loc), Type.BOOL
        return self.cmp(scope)

    def cmp(self, scope: Scope) -> tuple[Expr, Type]:
        left, ltyp = self.atom(scope)
        token = self.peek()
        if token.kind != "op" or token.text not in _COMPARISONS:
            return left, ltyp
        self.next()
        right, rtyp = self.atom(scope)
        op = _COMPARISONS[token.text]
        if op in (Comparison.EQ, Comparison.NE):
            if not _comparable(ltyp, rtyp):
                raise SpecError(f"cannot compare {ltyp.value} with {rtyp.value}", token.loc)
        elif ltyp != Type.INT or rtyp != Type.INT:
            raise SpecError(f"'{token.text}' compares int values only", token.loc)
        return Compare(op, left, right, token.loc), Type.BOOL

    def atom(self, scope: Scope) -> tuple[Expr, Type]:
        token = self.peek()
        if token.text == "if" and token.kind == "name":
            return self.ite(scope)
        self.next()
        if token.kind == "int":
            if len(token.text) > MAX_DIGITS:
                raise SpecError(f"an integer of more than {MAX_DIGITS} digits", token.loc)
            return Lit(int(token.text), Type.INT, token.loc), Type.INT
        if token.kind == "str":
            return Lit(_unquote(token.text), Type.STR, token.loc), Type.STR
        if token.text == "(":
            inner = self.expr(scope)
            self.expect(")")
            return inner
        if token.text == "{":
            self.expect("}")
            return Lit(FrozenMap(), Type.PARAMS, token.loc), Type.PARAMS
        if token.kind == "name":
            if self.peek().text == "(":
                return self.call(token, scope)
            return self.name(token, scope)
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise SpecError(f"expected an expression, found {found}", token.loc)

    def name(self, token: _Token, scope: Scope) -> tuple[Expr, Type]:
        text, loc = token.text, token.loc
        constants: dict[str, tuple[Expr, Type]] = {
            "true": (Lit(True, Type.BOOL, loc), Type.BOOL),
            "false": (Lit(False, Type.BOOL, loc), Type.BOOL),
            "none": (Lit(None, Type.OPT_INSTANCE, loc), Type.OPT_INSTANCE),
            "user": (Lit(Role.USER, Type.ACTOR, loc), Type.ACTOR),
            "server": (Lit(Role.SERVER, Type.ACTOR, loc), Type.ACTOR),
            "actor": (Builtin(BuiltinName.ACTOR, Type.ACTOR, loc), Type.ACTOR),
        }
        if text in constants:
            return constants[text]
        if text in scope.variables:
            return Var(text, loc), Type.INSTANCE
        if text in scope.args:
            return Arg(text, scope.args[text], loc), scope.args[text]
        if text == "target" and scope.target:
            typ = Type.OPT_INSTANCE if scope.target_optional else Type.INSTANCE
            return Builtin(BuiltinName.TARGET, typ, loc), typ
        if text == "status" and scope.status:
            return Builtin(BuiltinName.STATUS, Type.INT, loc), Type.INT
        if text == "result" and scope.result is not None:
            return Builtin(BuiltinName.RESULT, scope.result, loc), scope.result
        if text == "declined" and scope.declined:
            return Builtin(BuiltinName.DECLINED, Type.BOOL, loc), Type.BOOL
        if text == "declines" and scope.declined:
            return Builtin(BuiltinName.DECLINES, Type.BOOL, loc), Type.BOOL
        if text in _KEYWORDS:
            raise SpecError(f"unexpected keyword {text!r}", loc, culprit=text)
        if text.endswith("'"):
            raise SpecError(
                f"{text!r}: only reads like active'(x) can be primed", loc, culprit=text
            )
        hint = _hint(text, scope)
        suggestion = None if hint else closest(text, _names_in(scope, constants))
        raise SpecError(
            f"unknown name {text!r}{hint or did_you_mean(suggestion)}",
            loc,
            culprit=text,
            suggestion=suggestion,
        )

    def call(self, token: _Token, scope: Scope) -> tuple[Expr, Type]:
        name, loc = token.text, token.loc
        primed = name.endswith("'")
        base = name.rstrip("'")
        self.expect("(")
        if base in _QUANTIFIERS and not primed:
            return self.quantifier(base, loc, scope)
        if base in _READS:
            if primed and not scope.primed:
                raise SpecError(f"{name!r}: the state after the step is not in scope here", loc)
            field = _READS[base]
            if field is Field.PARAMS:
                of = self.typed(scope, Type.INSTANCE, f"the argument of {name!r}")
                self.expect(")")
                return Read(field, of, primed, loc), Type.PARAMS
            of = self.typed(scope, Type.OPT_INSTANCE, f"the argument of {name!r}")
            self.expect(")")
            return Read(field, of, primed, loc), Type.BOOL
        if base == "unchanged" and not primed:
            if not scope.primed:
                raise SpecError("'unchanged' needs the state after the step in scope", loc)
            of = self.typed(scope, Type.INSTANCE, "the argument of 'unchanged'")
            self.expect(")")
            return Unchanged(of, loc), Type.BOOL
        if base == "with" and not primed:
            params = self.typed(scope, Type.PARAMS, "the first argument of 'with'")
            self.expect(",")
            key = self.typed(scope, Type.STR, "the key of 'with'")
            self.expect(",")
            value = self.typed(scope, Type.STR, "the value of 'with'")
            self.expect(")")
            return WithParam(params, key, value, loc), Type.PARAMS
        if base == "without" and not primed:
            params = self.typed(scope, Type.PARAMS, "the first argument of 'without'")
            self.expect(",")
            key = self.typed(scope, Type.STR, "the key of 'without'")
            self.expect(")")
            return WithoutParam(params, key, loc), Type.PARAMS
        suggestion = closest(name, _FUNCTIONS)
        raise SpecError(
            f"unknown function {name!r}{did_you_mean(suggestion)}",
            loc,
            culprit=name,
            suggestion=suggestion,
        )

    def quantifier(self, kind: str, loc: Location, scope: Scope) -> tuple[Expr, Type]:
        var = self.next()
        if var.kind != "name" or var.text in _KEYWORDS or var.text.endswith("'"):
            raise SpecError(f"{kind}(...) needs a variable name first", var.loc)
        if var.text in scope.variables or var.text in scope.args or var.text == "target":
            raise SpecError(f"variable {var.text!r} hides a name already in scope", var.loc)
        if kind == "the" and scope.variables:
            # One meaning in every checker: a the(...) that a bound variable could make ambiguous
            # for some values only would need the engine's lazy evaluation order in Z3.
            bound = ", ".join(sorted(scope.variables))
            raise SpecError(
                f"the(...) cannot be used where a variable is bound ({bound}): it must name one "
                "instance of the whole state",
                loc,
            )
        domain = Domain.SERVICE
        if self.accept("in"):
            word = self.next()
            try:
                domain = Domain(word.text)
            except ValueError:
                names = ", ".join(d.value for d in Domain)
                suggestion = closest(word.text, [d.value for d in Domain])
                raise SpecError(
                    f"unknown domain {word.text!r} (one of: {names}){did_you_mean(suggestion)}",
                    word.loc,
                    culprit=word.text,
                    suggestion=suggestion,
                ) from None
        self.expect(",")
        body = self.typed(scope.bind(var.text), Type.BOOL, f"the body of {kind}(...)")
        self.expect(")")
        if kind == "count":
            return Count(var.text, domain, body, loc), Type.INT
        if kind == "the":
            return The(var.text, domain, body, loc), Type.OPT_INSTANCE
        return Quant(Quantifier(kind), var.text, domain, body, loc), Type.BOOL


_FUNCTIONS = (*_QUANTIFIERS, *_READS, "unchanged", "with", "without")
"""Every name that may stand before "(": what an unknown function is compared with."""


def _names_in(scope: Scope, constants: Mapping[str, object]) -> list[str]:
    """Every name an expression at this place may use, for "did you mean"."""
    builtins = {
        "target": scope.target,
        "status": scope.status,
        "result": scope.result is not None,
        "declined": scope.declined,
        "declines": scope.declined,
    }
    return [*constants, *scope.variables, *scope.args, *(n for n, on in builtins.items() if on)]


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _hint(name: str, scope: Scope) -> str:
    if name == "target":
        return " (this operation names no instance)"
    if name in ("status", "result", "declined", "declines"):
        return f" ('{name}' is only in scope in transition properties)"
    if name in scope.arg_hints:
        return f" ({scope.arg_hints[name]})"
    return ""
