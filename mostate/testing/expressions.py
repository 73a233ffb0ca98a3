"""Hypothesis strategies for spec expressions: well-typed trees as the parser would build them.

:func:`expressions` draws a tree of any node of :mod:`mostate.rules` that the parser could have
produced in the :data:`PROPERTY_SCOPE` (a transition property of an operation with a target and
the arguments ``value: bool``, ``param: str``, ``params: params``): the types the parser gives
each node, quantifier variables that hide no name, ``the(...)`` only where no variable is
bound. The tests use them for round trips (``parse(show(e)) == e``) and for the formatter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import assert_never

from hypothesis import strategies as st

from ..frozenmap import FrozenMap
from ..model import Role
from ..rules import (
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
)
from ..syntax import Scope

PROPERTY_SCOPE = Scope(
    args=FrozenMap({"value": Type.BOOL, "param": Type.STR, "params": Type.PARAMS}),
    target=True,
    primed=True,
    status=True,
    declined=True,
    result=Type.OPT_INSTANCE,
)
"""Where :func:`expressions` draws from: every kind of name is in scope."""

_VARIABLES = ("i", "j", "k", "m")
_FLAGS = (Field.EXISTS, Field.ACTIVE, Field.DEFAULT, Field.LOCKED)
_ORDER = (Comparison.LT, Comparison.LE, Comparison.GT, Comparison.GE)
# String literals as the tokenizer reads them: anything but a newline, quotes and backslashes
# included (the printer escapes them).
_TEXT = st.text(st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=6)


def expressions(typ: Type = Type.BOOL, depth: int = 4) -> st.SearchStrategy[Expr]:
    """Trees of type ``typ`` at most ``depth`` levels deep, in :data:`PROPERTY_SCOPE`.

    >>> from mostate.printer import show
    >>> isinstance(show(expressions().example()), str)
    True
    """
    return _of(typ, depth, ())


@functools.cache
def _of(typ: Type, depth: int, bound: tuple[str, ...]) -> st.SearchStrategy[Expr]:
    leaves = _leaves(typ, bound)
    if depth <= 1:
        return leaves
    # deferred: the same strategy, and a short repr (the nested one_of's would run to 100 kB)
    return st.deferred(lambda: st.one_of(leaves, _inner(typ, depth - 1, bound)))


def _leaves(typ: Type, bound: tuple[str, ...]) -> st.SearchStrategy[Expr]:
    match typ:
        case Type.BOOL:
            return st.one_of(
                st.builds(Lit, st.booleans(), st.just(Type.BOOL)),
                st.just(Arg("value", Type.BOOL)),
                st.sampled_from([BuiltinName.DECLINED, BuiltinName.DECLINES]).map(
                    lambda name: Builtin(name, Type.BOOL)
                ),
            )
        case Type.INT:
            return st.one_of(
                st.integers(0, 999_999_999).map(lambda n: Lit(n, Type.INT)),
                st.just(Builtin(BuiltinName.STATUS, Type.INT)),
            )
        case Type.STR:
            return st.one_of(_TEXT.map(lambda s: Lit(s, Type.STR)), st.just(Arg("param", Type.STR)))
        case Type.PARAMS:
            return st.sampled_from([Lit(FrozenMap(), Type.PARAMS), Arg("params", Type.PARAMS)])
        case Type.INSTANCE:
            return st.sampled_from(
                [Builtin(BuiltinName.TARGET, Type.INSTANCE), *(Var(v) for v in bound)]
            )
        case Type.OPT_INSTANCE:
            return st.sampled_from(
                [Lit(None, Type.OPT_INSTANCE), Builtin(BuiltinName.RESULT, Type.OPT_INSTANCE)]
            )
        case Type.ACTOR:
            return st.sampled_from(
                [
                    Lit(Role.USER, Type.ACTOR),
                    Lit(Role.SERVER, Type.ACTOR),
                    Builtin(BuiltinName.ACTOR, Type.ACTOR),
                ]
            )
        case _:
            assert_never(typ)


def _inner(typ: Type, depth: int, bound: tuple[str, ...]) -> st.SearchStrategy[Expr]:
    """The compound nodes of type ``typ`` whose children are ``depth`` levels deep at most."""
    options = [_conditional(typ, depth, bound)]
    if typ is Type.BOOL:
        options.extend(_booleans(depth, bound))
    elif typ is Type.INT:
        options.append(_binding(depth, bound, lambda v, d, b: Count(v, d, b)))
    elif typ is Type.PARAMS:
        options.extend(_maps(depth, bound))
    elif typ is Type.OPT_INSTANCE and not bound:
        options.append(_binding(depth, bound, lambda v, d, b: The(v, d, b)))
    return st.one_of(options)


def _booleans(depth: int, bound: tuple[str, ...]) -> list[st.SearchStrategy[Expr]]:
    sub = _of(Type.BOOL, depth, bound)
    return [
        sub.map(Not),
        st.builds(BoolOp, st.sampled_from(Connective), sub, sub),
        st.one_of([_equality(t, depth, bound) for t in Type]),
        st.builds(
            Compare,
            st.sampled_from(_ORDER),
            _of(Type.INT, depth, bound),
            _of(Type.INT, depth, bound),
        ),
        st.builds(
            Read, st.sampled_from(_FLAGS), _of(Type.OPT_INSTANCE, depth, bound), st.booleans()
        ),
        _of(Type.INSTANCE, depth, bound).map(Unchanged),
        _binding(depth, bound, lambda v, d, b: Quant(Quantifier.ALL, v, d, b)),
        _binding(depth, bound, lambda v, d, b: Quant(Quantifier.ANY, v, d, b)),
    ]


def _equality(typ: Type, depth: int, bound: tuple[str, ...]) -> st.SearchStrategy[Expr]:
    side = _of(typ, depth, bound)
    return st.builds(Compare, st.sampled_from([Comparison.EQ, Comparison.NE]), side, side)


def _maps(depth: int, bound: tuple[str, ...]) -> list[st.SearchStrategy[Expr]]:
    params, text = _of(Type.PARAMS, depth, bound), _of(Type.STR, depth, bound)
    return [
        st.builds(Read, st.just(Field.PARAMS), _of(Type.INSTANCE, depth, bound), st.booleans()),
        st.builds(WithParam, params, text, text),
        st.builds(WithoutParam, params, text),
    ]


def _conditional(typ: Type, depth: int, bound: tuple[str, ...]) -> st.SearchStrategy[Expr]:
    cond = _of(Type.BOOL, depth, bound)
    if typ is Type.OPT_INSTANCE:
        # Branches of either instance type, one at least optional: the parser types an ``if``
        # as the join of its branches.
        either = st.one_of(_of(Type.INSTANCE, depth, bound), _of(Type.OPT_INSTANCE, depth, bound))
        optional = _of(Type.OPT_INSTANCE, depth, bound)
        pairs = st.one_of(st.tuples(optional, either), st.tuples(either, optional))
        return st.builds(lambda c, ab: Ite(c, ab[0], ab[1], typ), cond, pairs)
    branch = _of(typ, depth, bound)
    return st.builds(lambda c, a, b: Ite(c, a, b, typ), cond, branch, branch)


Binder = Callable[[str, Domain, Expr], Expr]


def _binding(depth: int, bound: tuple[str, ...], make: Binder) -> st.SearchStrategy[Expr]:
    """A quantifier, ``count`` or ``the`` over a variable that hides no name in scope."""
    free = [v for v in _VARIABLES if v not in bound]
    if not free:
        return st.nothing()

    def build(var: str) -> st.SearchStrategy[Expr]:
        body = _of(Type.BOOL, depth, (*bound, var))
        return st.builds(lambda d, b: make(var, d, b), st.sampled_from(Domain), body)

    # Two variables are enough to nest one binding inside another.
    return st.one_of([build(var) for var in free[:2]])
