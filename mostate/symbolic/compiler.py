"""The symbolic meaning of spec expressions: each AST node compiled once into a closure that
builds Z3 terms.

This mirrors :mod:`mostate.concrete` function for function (``_compile_lit`` there,
``_compile_lit`` here, in the order of :data:`mostate.rules.EXPR_NODES`); a test fails when one
module handles a node the other does not. Values: an instance is an :class:`SRef` (a presence
flag, a service term and an instance term; ``none`` is an absent ref), a parameter map an array
term, an actor the Bool "is a server", an int an Int term and ``count`` an :class:`SCount`.

Unbounded (the default), a quantifier becomes a Z3 quantifier over the uninterpreted sorts, and
``count`` can only be compared with an integer literal (``count(i, P) <= 1`` holds exactly when
no two distinct instances satisfy ``P``); with a bound, instance quantifiers expand over the
enumerated names and ``count`` is a sum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, assert_never

from ..model import Role
from ..rules import (
    EXPR_NODES,
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
from ._z3 import Bool, Term
from .values import (
    FieldFn as FieldFn,
)
from .values import (
    NeedsBound as NeedsBound,
)
from .values import (
    SCount,
    SEnv,
    SRef,
    none_ref,
    quantify,
    ref_eq,
)

Compiled: TypeAlias = Callable[[SEnv], Any]


def compile_expr(expr: Expr) -> Compiled:
    """Compile an expression into a closure over an :class:`SEnv` (mirrors the engine's).

    >>> from mostate.syntax import Scope, parse_expr
    >>> from mostate.errors import Location
    >>> from mostate.symbolic._z3 import Session
    >>> from mostate.symbolic.values import SEnv, empty_state
    >>> e = parse_expr("not true", Scope(), Location("x", 1, 1))
    >>> z = Session()
    >>> str(compile_expr(e)(SEnv(z, empty_state(z), z.const("s", z.svc), Role.USER)))
    'Not(True)'
    """
    match expr:
        case Lit():
            return _compile_lit(expr)
        case Var():
            return _compile_var(expr)
        case Arg():
            return _compile_arg(expr)
        case Builtin():
            return _compile_builtin(expr)
        case Not():
            return _compile_not(expr)
        case BoolOp():
            return _compile_boolop(expr)
        case Compare():
            return _compile_compare(expr)
        case Ite():
            return _compile_ite(expr)
        case Read():
            return _compile_read(expr)
        case Unchanged():
            return _compile_unchanged(expr)
        case WithParam():
            return _compile_withparam(expr)
        case WithoutParam():
            return _compile_withoutparam(expr)
        case Quant():
            return _compile_quant(expr)
        case Count():
            return _compile_count(expr)
        case The():
            return _compile_the(expr)
        case _:
            assert_never(expr)


HANDLED_NODES = EXPR_NODES


def _compile_lit(expr: Lit) -> Compiled:
    value = expr.value
    if expr.type is Type.OPT_INSTANCE:
        return lambda env: none_ref(env.z)
    if isinstance(value, Role):
        is_server = value is Role.SERVER
        return lambda env: env.z.bool_val(is_server)
    if isinstance(value, bool):
        return lambda env: env.z.bool_val(value)
    if isinstance(value, int):
        return lambda env: env.z.int_val(value)
    if isinstance(value, str):
        return lambda env: env.z.string(value)
    assert value is not None and not value, "a params literal is always {}"
    return lambda env: env.z.empty_params()


def _compile_var(expr: Var) -> Compiled:
    name = expr.name
    return lambda env: env.vars[name]


def _compile_arg(expr: Arg) -> Compiled:
    name = expr.name
    return lambda env: env.args[name]


def _compile_builtin(expr: Builtin) -> Compiled:
    getters: dict[BuiltinName, Compiled] = {
        BuiltinName.TARGET: lambda env: env.target,
        BuiltinName.ACTOR: lambda env: env.z.bool_val(env.role is Role.SERVER),
        BuiltinName.STATUS: lambda env: env.status,
        BuiltinName.RESULT: lambda env: env.result,
        BuiltinName.DECLINED: lambda env: env.declined,
        BuiltinName.DECLINES: lambda env: env.declines,
    }
    return getters[expr.name]


def _compile_not(expr: Not) -> Compiled:
    operand = compile_expr(expr.operand)
    return lambda env: env.z.not_(operand(env))


def _compile_boolop(expr: BoolOp) -> Compiled:
    # The right operand sees the guard under which the engine's short-circuit evaluates it.
    left, right = compile_expr(expr.left), compile_expr(expr.right)
    if expr.op is Connective.AND:

        def and_(env: SEnv) -> Bool:
            a = left(env)
            return env.z.and_(a, right(env.guarded(a)))

        return and_
    if expr.op is Connective.OR:

        def or_(env: SEnv) -> Bool:
            a = left(env)
            return env.z.or_(a, right(env.guarded(env.z.not_(a))))

        return or_

    def implies(env: SEnv) -> Bool:
        a = left(env)
        return env.z.implies(a, right(env.guarded(a)))

    return implies


_FLIPPED = {
    Comparison.EQ: Comparison.EQ,
    Comparison.NE: Comparison.NE,
    Comparison.LT: Comparison.GT,
    Comparison.LE: Comparison.GE,
    Comparison.GT: Comparison.LT,
    Comparison.GE: Comparison.LE,
}


def _compile_compare(expr: Compare) -> Compiled:
    left, right, op = compile_expr(expr.left), compile_expr(expr.right), expr.op
    if (
        isinstance(expr.left, Lit)
        and isinstance(expr.left.value, int)
        and expr.left.type is Type.INT
    ):
        literal, flipped = expr.left.value, _FLIPPED[op]
        return lambda env: _compare(env, flipped, right(env), literal)
    if isinstance(expr.right, Lit) and expr.right.type is Type.INT:
        assert isinstance(expr.right.value, int)
        literal = expr.right.value
        return lambda env: _compare(env, op, left(env), literal)
    return lambda env: _compare(env, op, left(env), right(env))


def _compare(env: SEnv, op: Comparison, a: Any, b: Any) -> Bool:
    z = env.z
    if isinstance(a, SCount) and isinstance(b, int):
        return _count_vs_literal(a, op, b)
    if isinstance(b, int):
        b = z.int_val(b)
    if isinstance(a, SCount):
        a = a.total()
    if isinstance(b, SCount):
        b = b.total()
    if isinstance(a, SRef):
        same = ref_eq(z, a, b)
        return same if op is Comparison.EQ else z.not_(same)
    return z.compare(op.value, a, b)


def _count_vs_literal(count: SCount, op: Comparison, k: int) -> Bool:
    z = count.env.z
    if z.inst_values() and count.domain is Domain.SERVICE:
        return z.compare(op.value, count.total(), z.int_val(k))
    at_least = count.at_least
    match op:
        case Comparison.LE:
            return z.not_(at_least(k + 1))
        case Comparison.LT:
            return z.not_(at_least(k))
        case Comparison.GE:
            return at_least(k)
        case Comparison.GT:
            return at_least(k + 1)
        case Comparison.EQ:
            return z.and_(at_least(k), z.not_(at_least(k + 1)))
        case Comparison.NE:
            return z.not_(z.and_(at_least(k), z.not_(at_least(k + 1))))
        case _:
            assert_never(op)


def _compile_ite(expr: Ite) -> Compiled:
    cond, then, orelse = compile_expr(expr.cond), compile_expr(expr.then), compile_expr(expr.orelse)

    def ite(env: SEnv) -> Any:
        z = env.z
        c = cond(env)
        a, b = then(env.guarded(c)), orelse(env.guarded(z.not_(c)))
        if isinstance(a, SRef):
            return SRef(
                Bool(z.ite(c, a.some, b.some)), z.ite(c, a.svc, b.svc), z.ite(c, a.inst, b.inst)
            )
        if isinstance(a, SCount) or isinstance(b, SCount):
            a = a.total() if isinstance(a, SCount) else a
            b = b.total() if isinstance(b, SCount) else b
        return z.ite(c, a, b)

    return ite


def _compile_read(expr: Read) -> Compiled:
    of, field, primed = compile_expr(expr.of), expr.field, expr.primed

    def read(env: SEnv) -> Term:
        ref: SRef = of(env)
        state = env.post if primed else env.pre
        assert state is not None, "a primed read outside a transition property"
        value = state.field(field)(ref.svc, ref.inst)
        if field is Field.PARAMS:
            return value
        return env.z.and_(ref.some, Bool(value))

    return read


def _compile_unchanged(expr: Unchanged) -> Compiled:
    of = compile_expr(expr.of)

    def unchanged(env: SEnv) -> Bool:
        ref: SRef = of(env)
        assert env.post is not None, "unchanged() outside a transition property"
        z, pre, post = env.z, env.pre, env.post
        return z.and_(
            *[
                z.eq(pre.field(f)(ref.svc, ref.inst), post.field(f)(ref.svc, ref.inst))
                for f in Field
            ]
        )

    return unchanged


def _compile_withparam(expr: WithParam) -> Compiled:
    params, key, value = compile_expr(expr.params), compile_expr(expr.key), compile_expr(expr.value)
    return lambda env: env.z.with_param(params(env), key(env), value(env))


def _compile_withoutparam(expr: WithoutParam) -> Compiled:
    params, key = compile_expr(expr.params), compile_expr(expr.key)
    return lambda env: env.z.without_param(params(env), key(env))


def _binder(var: str, body: Compiled) -> Callable[[SEnv, SRef, tuple[Term, ...]], Bool]:
    def bound(env: SEnv, ref: SRef, variables: tuple[Term, ...]) -> Bool:
        result: Bool = body(env.bind(var, ref, variables))
        return result

    return bound


def _compile_quant(expr: Quant) -> Compiled:
    body, domain = _binder(expr.var, compile_expr(expr.body)), expr.domain
    if expr.kind is Quantifier.ALL:
        return lambda env: quantify(env, domain, lambda ref, vs: body(env, ref, vs))
    return lambda env: env.z.not_(
        quantify(env, domain, lambda ref, vs: env.z.not_(body(env, ref, vs)))
    )


def _compile_count(expr: Count) -> Compiled:
    body, domain = _binder(expr.var, compile_expr(expr.body)), expr.domain
    return lambda env: SCount(env, domain, body)


def _compile_the(expr: The) -> Compiled:
    body, domain = _binder(expr.var, compile_expr(expr.body)), expr.domain

    def the(env: SEnv) -> SRef:
        # A Skolem function: found <-> some x satisfies the body, and found -> the chosen one
        # does; where several do, the step breaks the obligation unique_the instead.
        z = env.z
        sorts = [z.sort_of(v) for v in env.bound]
        svc_fn = z.func("the_s", sorts, z.svc)
        inst_fn = z.func("the_i", sorts, z.inst)
        found_fn = z.func("the_f", sorts, z.bool)
        chosen = SRef(z.true, svc_fn(*env.bound), inst_fn(*env.bound))
        found = Bool(found_fn(*env.bound))
        in_domain = _in_domain(env, domain, chosen)
        anyone = z.not_(quantify(env, domain, lambda ref, vs: z.not_(body(env, ref, vs))))
        defined = z.and_(
            z.eq(found, anyone), z.implies(found, z.and_(in_domain, body(env, chosen, ())))
        )
        env.side.append(z.forall(env.bound, defined))
        # The parser keeps the(...) out of binders, so nothing here depends on a bound variable.
        several = SCount(env, domain, body).at_least(2)
        env.ambiguous.append(z.and_(*env.guard, several))
        return SRef(found, chosen.svc, chosen.inst)

    return the


def _in_domain(env: SEnv, domain: Domain, ref: SRef) -> Bool:
    z = env.z
    if domain is Domain.SERVICE:
        return z.eq(ref.svc, env.service)
    if domain is Domain.OTHERS:
        return z.not_(z.eq(ref.svc, env.service))
    return z.true
