"""The partial evaluator of spec expressions: each node either folded or left as a residual term.

This is the third reading of :mod:`mostate.rules`, beside :mod:`mostate.concrete` (closures) and
:mod:`mostate.symbolic.compiler` (Z3), and mirrors them helper for helper (``_compile_lit`` here,
there and there, in the order of :data:`mostate.rules.EXPR_NODES`). What the context knows (the
role, the status of an exit point, what the refusals already decided, which part of a domain a
variable ranges over) is folded away; what it does not know becomes a residual term
(:mod:`.residual`) that computes it, with the interpreter's evaluation order and
short-circuits, so that the generated code answers exactly as the interpreter does.

Folding never drops code marked ``risky`` (it may raise ``Ambiguous``) where the interpreter
would run it: ``x or true`` keeps ``x`` when ``x`` evaluates a ``the``.
"""

from __future__ import annotations

from typing import Any, assert_never

import attrs

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
from .context import Cx
from .domains import frame_parts, frames, parts, read, ref_tuple, same_ref, unchanged
from .residual import (
    And,
    Candidates,
    Cond,
    Const,
    Known,
    Loop,
    One,
    Or,
    Reduce,
    Reduction,
    Sum,
    Term,
    TheOf,
    Well,
)
from .residual import Compare as RCompare
from .residual import Lit as RLit
from .residual import Not as RNot
from .residual import WithoutParam as RWithoutParam
from .residual import WithParam as RWithParam
from .values import (
    Code,
    Dyn,
    GlobalFresh,
    NoneRef,
    OtherFresh,
    Ref,
    ServiceFresh,
    Unsupported,
    Value,
)


def compile_expr(expr: Expr, cx: Cx) -> Value:
    """The value of ``expr`` in ``cx``: static, residual source, or an instance reference."""
    known = cx.facts.get(expr)
    if known is not None:
        return Code.known(known)
    match expr:
        case Lit():
            return _compile_lit(expr, cx)
        case Var():
            return _compile_var(expr, cx)
        case Arg():
            return _compile_arg(expr, cx)
        case Builtin():
            return _compile_builtin(expr, cx)
        case Not():
            return _compile_not(expr, cx)
        case BoolOp():
            return _compile_boolop(expr, cx)
        case Compare():
            return _compile_compare(expr, cx)
        case Ite():
            return _compile_ite(expr, cx)
        case Read():
            return _compile_read(expr, cx)
        case Unchanged():
            return _compile_unchanged(expr, cx)
        case WithParam():
            return _compile_withparam(expr, cx)
        case WithoutParam():
            return _compile_withoutparam(expr, cx)
        case Quant():
            return _compile_quant(expr, cx)
        case Count():
            return _compile_count(expr, cx)
        case The():
            return _compile_the(expr, cx)
        case _:
            assert_never(expr)


def code(expr: Expr, cx: Cx) -> Code:
    """A value that is not an instance reference."""
    value = compile_expr(expr, cx)
    if not isinstance(value, Code):
        raise Unsupported(f"an instance where a value is expected at {expr.loc}")
    return value


def ref(expr: Expr, cx: Cx) -> Ref:
    """An instance reference (``none`` included)."""
    value = compile_expr(expr, cx)
    if isinstance(value, Code):
        raise Unsupported(f"a value where an instance is expected at {expr.loc}")
    return value


def _compile_lit(expr: Lit, cx: Cx) -> Value:
    if expr.type in (Type.INSTANCE, Type.OPT_INSTANCE):
        if expr.value is not None:
            raise Unsupported(f"an instance literal at {expr.loc}")
        return NoneRef()
    return Code.known(expr.value)


def _compile_var(expr: Var, cx: Cx) -> Value:
    bound = cx.vars.get(expr.name)
    if bound is None:
        raise Unsupported(f"variable {expr.name!r} unbound at {expr.loc}")
    return bound


def _compile_arg(expr: Arg, cx: Cx) -> Value:
    value = cx.args.get(expr.name)
    if value is None:
        raise Unsupported(f"argument {expr.name!r} undeclared at {expr.loc}")
    return value


def _compile_builtin(expr: Builtin, cx: Cx) -> Value:
    match expr.name:
        case BuiltinName.TARGET:
            # An operation without a target has ``env.target = None`` in the interpreter.
            return cx.target if cx.target is not None else NoneRef()
        case BuiltinName.ACTOR:
            return Code.known(cx.role)
        case BuiltinName.STATUS:
            if cx.status is None:
                raise Unsupported(f"status outside a transition property at {expr.loc}")
            return Code.known(cx.status)
        case BuiltinName.RESULT:
            return cx.result if cx.result is not None else NoneRef()
        case BuiltinName.DECLINED:
            return Code.known(cx.declined)
        case BuiltinName.DECLINES:
            return cx.declines
        case _:
            assert_never(expr.name)


def _compile_not(expr: Not, cx: Cx) -> Value:
    return negate(code(expr.operand, cx))


def _compile_boolop(expr: BoolOp, cx: Cx) -> Value:
    left = code(expr.left, cx)
    if expr.op is Connective.OR:
        return disjoin(left, code(expr.right, cx.assume(expr.left, False)), cx)
    right = code(expr.right, cx.assume(expr.left, True))
    if expr.op is Connective.AND:
        return conjoin(left, right, cx)
    return disjoin(negate(left), right, cx)


def negate(value: Code) -> Code:
    """``not value`` (``not not x`` is ``x``: every boolean here is a ``bool``)."""
    if value.static:
        return Code.known(not value.value)
    if value.negation is not None:
        return Code(value.negation, risky=value.risky, negation=value.term)
    assert value.term is not None
    return Code(RNot(value.term), risky=value.risky, negation=value.term)


def _opposite(left: Code, right: Code) -> bool:
    """Whether one side is the other's negation (pure code only): ``x or not x``."""
    return (
        not left.risky
        and not right.risky
        and left.negation is not None
        and left.negation == right.term
    )


def conjoin(left: Code, right: Code, cx: Cx) -> Code:
    """``left and right`` as the interpreter evaluates it (both sides as booleans)."""
    if left.static:
        return _as_bool(right) if left.value else Code.known(False)
    if right.static and (right.value or not left.risky):
        return _as_bool(left) if right.value else Code.known(False)
    if _opposite(left, right) or _opposite(right, left):
        return Code.known(False)
    assert left.term is not None
    return Code(And(left.term, cx.unit.src(right)), risky=left.risky or right.risky)


def disjoin(left: Code, right: Code, cx: Cx) -> Code:
    """``left or right`` as the interpreter evaluates it."""
    if left.static:
        return Code.known(True) if left.value else _as_bool(right)
    if right.static and (not right.value or not left.risky):
        return Code.known(True) if right.value else _as_bool(left)
    if _opposite(left, right) or _opposite(right, left):
        return Code.known(True)
    assert left.term is not None
    return Code(Or(left.term, cx.unit.src(right)), risky=left.risky or right.risky)


def _as_bool(value: Code) -> Code:
    """Every boolean the generated code computes is a ``bool`` already (reads, comparisons,
    ``not``, ``and`` of bools), as in the interpreter."""
    if value.static:
        return Code.known(bool(value.value))
    return value


def _compile_compare(expr: Compare, cx: Cx) -> Value:
    left, right = compile_expr(expr.left, cx), compile_expr(expr.right, cx)
    fn = expr.op.function
    if not isinstance(left, Code) or not isinstance(right, Code):
        if isinstance(left, Code) or isinstance(right, Code):
            raise Unsupported(f"an instance compared with a value at {expr.loc}")
        if expr.op not in (Comparison.EQ, Comparison.NE):
            raise Unsupported(f"an ordering of instances at {expr.loc}")
        same = same_ref(left, right)
        return same if expr.op is Comparison.EQ else negate(same)
    if left.static and right.static:
        return Code.known(fn(left.value, right.value))
    if not left.static and left.term == right.term and not left.risky:
        # Expressions are pure, so a value always equals itself.
        return Code.known(expr.op in (Comparison.EQ, Comparison.LE, Comparison.GE))
    term = RCompare(expr.op, cx.unit.src(left), cx.unit.src(right))
    return Code(term, risky=left.risky or right.risky)


def _compile_ite(expr: Ite, cx: Cx) -> Value:
    cond = code(expr.cond, cx)
    if cond.static:
        return compile_expr(expr.then if cond.value else expr.orelse, cx)
    then = compile_expr(expr.then, cx.assume(expr.cond, True))
    orelse = compile_expr(expr.orelse, cx.assume(expr.cond, False))
    if isinstance(then, Code) and isinstance(orelse, Code) and then.static and orelse.static:
        if then.value is True and orelse.value is False:
            return cond  # ``if c then true else false`` is ``c``
        if then.value is False and orelse.value is True:
            return negate(cond)
    assert cond.term is not None
    if isinstance(then, Code) and isinstance(orelse, Code):
        term = Cond(cond.term, cx.unit.src(then), cx.unit.src(orelse))
        return Code(term, risky=cond.risky or then.risky or orelse.risky)
    if isinstance(then, Code) or isinstance(orelse, Code):
        raise Unsupported(f"branches of different kinds at {expr.loc}")
    risky = cond.risky or any(isinstance(r, Dyn) and r.risky for r in (then, orelse))
    return Dyn(Cond(cond.term, ref_tuple(then), ref_tuple(orelse)), risky)


def _compile_read(expr: Read, cx: Cx) -> Value:
    return read(expr.field, ref(expr.of, cx), cx.post if expr.primed else cx.pre)


def _compile_unchanged(expr: Unchanged, cx: Cx) -> Value:
    return unchanged(ref(expr.of, cx), cx)


def _compile_withparam(expr: WithParam, cx: Cx) -> Value:
    params, key, value = code(expr.params, cx), code(expr.key, cx), code(expr.value, cx)
    if params.static and key.static and value.static:
        return Code.known(params.value.set(key.value, value.value))
    term = RWithParam(cx.unit.src(params), cx.unit.src(key), cx.unit.src(value))
    return Code(term, risky=params.risky or key.risky or value.risky)


def _compile_withoutparam(expr: WithoutParam, cx: Cx) -> Value:
    params, key = code(expr.params, cx), code(expr.key, cx)
    if params.static and key.static:
        return Code.known(params.value.remove(key.value))
    term = RWithoutParam(cx.unit.src(params), cx.unit.src(key))
    return Code(term, risky=params.risky or key.risky)


Body = tuple["Loop | None", Ref, Code]


def _bodies(var: str, domain: Domain, body: Expr, cx: Cx) -> list[Body]:
    """Each part of the domain with the body compiled for it.

    Over a transition that changed the target alone, the parts of :func:`frame_parts` are
    tried first (in a scratch unit, so that nothing they register stays when they are not
    used): when the body folds to a constant for the unchanged names and cannot raise, the
    walk of the service shrinks to the target.
    """
    if frames(domain, cx):
        trial = _framed(var, domain, body, attrs.evolve(cx, unit=cx.unit.scratch()))
        if trial is not None:
            framed = _framed(var, domain, body, cx)
            assert framed is not None  # the same code in the real unit
            return framed
    return _plain(var, domain, body, cx)


def _framed(var: str, domain: Domain, body: Expr, cx: Cx) -> list[Body] | None:
    split = frame_parts(domain, cx)
    assert split is not None
    out = [(loop, bound, code(body, cx.bind(var, bound))) for loop, bound in split]
    if not out[0][2].static or any(compiled.risky for _, _, compiled in out):
        return None
    return out


def _plain(var: str, domain: Domain, body: Expr, cx: Cx, ordered: bool = False) -> list[Body]:
    out = []
    for loop, bound in parts(domain, cx, ordered):
        compiled = code(body, cx.bind(var, bound))
        if compiled.risky and domain is not Domain.SERVICE:
            raise Unsupported("a the() in a body over other services (evaluation order)")
        if compiled.risky and not ordered:
            return _plain(var, domain, body, cx, ordered=True)
        out.append((loop, bound, compiled))
    return out


def _compile_quant(expr: Quant, cx: Cx) -> Value:
    every = expr.kind is Quantifier.ALL
    combined = Code.known(every)
    for loop, _, body in _bodies(expr.var, expr.domain, expr.body, cx):
        if body.static and body.value == every:
            continue  # the neutral element: this part cannot change the answer
        if loop is None:
            part = body
        else:
            kind = Reduction.ALL if every else Reduction.ANY
            part = Code(Reduce(kind, cx.unit.src(body), loop), risky=body.risky)
        combined = conjoin(combined, part, cx) if every else disjoin(combined, part, cx)
    return combined


def _compile_count(expr: Count, cx: Cx) -> Value:
    total: Any = 0
    terms: list[Term] = []
    risky = False
    for loop, bound, body in _bodies(expr.var, expr.domain, expr.body, cx):
        if body.static and not body.value:
            continue
        risky = risky or body.risky
        many = isinstance(bound, ServiceFresh | OtherFresh | GlobalFresh)  # each one is infinite
        if loop is None:
            if body.static:
                total += float("inf")
            else:
                assert body.term is not None
                terms.append(Cond(body.term, _INF, RLit(0)))
        elif many:
            terms.append(Cond(Reduce(Reduction.ANY, cx.unit.src(body), loop), _INF, RLit(0)))
        else:
            terms.append(Reduce(Reduction.COUNT, cx.unit.src(body), loop))
    if not terms:
        return Code.known(total)
    if total:
        terms.append(cx.unit.literal(total))
    return Code(Sum(tuple(terms)), risky=risky)


_INF = Known(Well.INF)


def _compile_the(expr: The, cx: Cx) -> Value:
    lists: list[Candidates | One] = []
    for loop, bound, body in _bodies(expr.var, expr.domain, expr.body, cx):
        if body.risky:
            raise Unsupported(f"a the() inside the() at {expr.loc} (evaluation order)")
        if body.static and not body.value:
            continue
        one = ref_tuple(bound)
        where = None if body.static else body.term
        if loop is None:
            lists.append(One(one, where))
        else:
            lists.append(Candidates(one, loop, where))
    if not lists:
        return NoneRef()
    node: Const = cx.unit.const(expr)
    return Dyn(TheOf(node, tuple(lists)), risky=True)
