"""Mutation operators: each turns one operation of a spec into variants with one seeded mistake.

An operator is a pure function from an :class:`~mostate.rules.Operation` to :class:`Edit` values
(the changed operation, the spec location of what changed and a one-line description). Only the
operations change, never the invariants, properties or independences: those are the oracle that
must notice the mistake. Every operator keeps the types of the tree it rewrites (a condition
becomes a condition, an instance an instance, a flag read another flag read), and
:func:`well_scoped` rejects an edit that would read a variable where none is bound or ``target``
in an operation without one, so every edit is a spec the loader's type rules accept.

The operators (:data:`OPERATORS`, in this order):

=========================== ===================================================================
``negate``                  a condition ``c`` becomes ``not c`` (``not c`` becomes ``c``)
``swap_eq``                 ``==`` and ``!=`` swapped
``swap_and_or``             ``and`` and ``or`` swapped
``swap_lt``                 ``<`` and ``<=`` (``>`` and ``>=``) swapped
``condition_true``          a condition replaced by ``true``
``condition_false``         a condition replaced by ``false``
``drop_refusal``            a refusal step removed
``drop_confirmation``       the confirmation point removed
``refusal_after_confirm``   a refusal moved just after the confirmation point
``refusal_after_effect``    a refusal moved just after the next effect
``swap_refusals``           two neighbouring refusals swapped
``add_actor``               a refusal also applies to the other actor
``remove_actor``            a refusal no longer applies to one of its two actors
``change_status``           a refusal answers another status the spec uses
``widen_domain``            a quantifier or an effect over ``service`` ranges over ``device``
``identity_effect``         an effect's update of one field (or the whole effect) keeps the value
``swap_instance``           ``target`` and a bound instance variable (``i``, ``j``) swapped
``swap_flag``               a read of ``active``/``default``/``locked`` reads another of them
=========================== ===================================================================

A *condition* is a refusal's ``when``, an ``if``'s condition, a quantifier's body and an operand
of ``and``/``or``/``->``/``not``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import assert_never

import attrs

from ..errors import Location
from ..model import Role, Status
from ..printer import brief
from ..rules import (
    STATUS,
    Arg,
    BoolOp,
    Builtin,
    BuiltinName,
    Compare,
    Comparison,
    Confirmation,
    Connective,
    Count,
    Domain,
    Effect,
    Expr,
    Ite,
    Lit,
    Not,
    Operation,
    Quant,
    Read,
    Refusal,
    Step,
    The,
    Type,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
    children,
    map_children,
)


@attrs.frozen
class Edit:
    """One mutation of one operation: the new operation, where and what changed, and a key that
    names the change independently of line numbers (for stable mutant ids)."""

    op: Operation
    loc: Location
    description: str
    key: str


@attrs.frozen
class Context:
    """What a node's place allows: the instance variables bound there (innermost last), whether
    the operation has a target, whether the node is a condition, and whether it sits under a
    ``not`` (negating it again would only undo that ``not``)."""

    bound: tuple[str, ...] = ()
    has_target: bool = True
    condition: bool = False
    under_not: bool = False


ExprRule = Callable[[Expr, Context], Iterator[tuple[Expr, str]]]
Operator = Callable[[Operation, frozenset[Status]], Iterator[Edit]]


# --- walking expressions ------------------------------------------------------------------------


def _child_contexts(expr: Expr, ctx: Context) -> list[Context]:
    """The context of each child of ``expr``, in the order of :func:`children`."""
    plain = attrs.evolve(ctx, condition=False, under_not=False)
    cond = attrs.evolve(plain, condition=True)
    match expr:
        case Not():
            return [attrs.evolve(cond, under_not=True)]
        case BoolOp():
            return [cond, cond]
        case Ite():
            return [cond, plain, plain]
        case Quant() | Count() | The():
            return [attrs.evolve(cond, bound=(*ctx.bound, expr.var))]
        case (
            Lit() | Var() | Arg() | Builtin() | Compare() | Read() | Unchanged() | WithParam()
            | WithoutParam()
        ):  # fmt: skip
            return [plain] * len(children(expr))
        case _:
            assert_never(expr)


def _replace_child(expr: Expr, index: int, new: Expr) -> Expr:
    position = itertools.count()
    return map_children(expr, lambda child: new if next(position) == index else child)


def rewrites(expr: Expr, ctx: Context, rule: ExprRule) -> Iterator[tuple[Expr, Expr, str, str]]:
    """Each way ``rule`` rewrites one node of ``expr``: (the node, the whole new expression, a
    description, the node's path of child indices).

    >>> t = Lit(True, Type.BOOL)
    >>> e = BoolOp(Connective.AND, t, Not(t))
    >>> [(brief(new), path) for _, new, _, path in rewrites(e, Context(condition=True), _negate)]
    [('not (true and not true)', ''), ('not true and not true', '0'), ('true and true', '1')]
    """
    for new, text in rule(expr, ctx):
        yield expr, new, text, ""
    for index, (kid, kid_ctx) in enumerate(
        zip(children(expr), _child_contexts(expr, ctx), strict=True)
    ):
        for node, new_kid, text, path in rewrites(kid, kid_ctx, rule):
            yield node, _replace_child(expr, index, new_kid), text, f"{index}{path}"


Put = Callable[[Expr], Operation]


def _slots(op: Operation) -> Iterator[tuple[str, Expr, Context, Put]]:
    """Every expression of an operation: (a label, the expression, its context, and how to put a
    new expression in its place)."""
    base = Context(has_target=op.has_target)
    short = _short(op.name)
    for index, step in enumerate(op.steps):
        match step:
            case Refusal():
                condition = attrs.evolve(base, condition=True)
                yield short(step.name), step.when, condition, _put_when(op, index)
            case Confirmation():
                pass  # no expression of its own
            case Effect():
                for position, (field, value) in enumerate(step.updates):
                    label = f"{short(step.name)}.{field.value}"
                    bound = attrs.evolve(base, bound=("i",))
                    yield label, value, bound, _put_update(op, index, position)
            case _:
                assert_never(step)
    if op.result is not None:
        yield f"{op.name}/result", op.result, base, lambda new: attrs.evolve(op, result=new)


def _put_when(op: Operation, index: int) -> Put:
    step = op.steps[index]
    assert isinstance(step, Refusal)
    return lambda new: _with_step(op, index, attrs.evolve(step, when=new))


def _put_update(op: Operation, index: int, position: int) -> Put:
    step = op.steps[index]
    assert isinstance(step, Effect)
    return lambda new: _with_step(op, index, _with_update(step, position, new))


def _short(op: str) -> Callable[[str], str]:
    """``set_active: locked`` -> ``set_active/locked``."""
    return lambda label: f"{op}/{label.removeprefix(op + ': ')}"


def _with_step(op: Operation, index: int, step: Step) -> Operation:
    return attrs.evolve(op, steps=(*op.steps[:index], step, *op.steps[index + 1 :]))


def _with_update(effect: Effect, position: int, value: Expr) -> Effect:
    updates = list(effect.updates)
    updates[position] = (updates[position][0], value)
    return attrs.evolve(effect, updates=tuple(updates))


def lift(name: str, rule: ExprRule) -> Operator:
    """The operator that applies an expression rule at every node of every expression of an
    operation (refusal conditions, effect updates and the query result)."""

    def operator(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
        for label, expr, ctx, put in _slots(op):
            for node, new, text, path in rewrites(expr, ctx, rule):
                key = f"{name}|{label}|{path}|{text}"
                yield Edit(put(new), node.loc, f"{label}: {text}", key)

    operator.__name__ = name
    return operator


# --- expression rules ---------------------------------------------------------------------------


def _negate(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    if isinstance(expr, Not):
        yield expr.operand, f"'{brief(expr)}' -> '{brief(expr.operand)}'"
    elif ctx.condition and not ctx.under_not:
        yield Not(expr, expr.loc), f"'{brief(expr)}' -> 'not ...'"


def _swap_compare(pairs: dict[Comparison, Comparison]) -> ExprRule:
    def rule(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
        if isinstance(expr, Compare) and expr.op in pairs:
            other = pairs[expr.op]
            yield attrs.evolve(expr, op=other), f"'{expr.op.value}' -> '{other.value}'"

    return rule


def _swap_connective(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    pairs = {Connective.AND: Connective.OR, Connective.OR: Connective.AND}
    if isinstance(expr, BoolOp) and expr.op in pairs:
        other = pairs[expr.op]
        yield attrs.evolve(expr, op=other), f"'{expr.op.value}' -> '{other.value}'"


def _constant(value: bool) -> ExprRule:
    def rule(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
        if ctx.condition and not ctx.under_not and not isinstance(expr, Lit):
            yield Lit(value, Type.BOOL, expr.loc), f"'{brief(expr)}' -> '{str(value).lower()}'"

    return rule


def _widen(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    if isinstance(expr, Quant | Count | The) and expr.domain is Domain.SERVICE:
        widened = attrs.evolve(expr, domain=Domain.DEVICE)
        yield widened, f"'{brief(expr)}' -> 'in device'"


def _swap_instance(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    if isinstance(expr, Var) and ctx.has_target:
        yield Builtin(BuiltinName.TARGET, Type.INSTANCE, expr.loc), f"'{expr.name}' -> 'target'"
    elif isinstance(expr, Builtin) and expr.name is BuiltinName.TARGET and ctx.bound:
        yield Var(ctx.bound[-1], expr.loc), f"'target' -> '{ctx.bound[-1]}'"


_FLAGS = STATUS


def _swap_flag(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    if isinstance(expr, Read) and expr.field in _FLAGS:
        for other in _FLAGS:
            if other is not expr.field:
                new = attrs.evolve(expr, field=other)
                yield new, f"'{brief(expr)}' -> '{brief(new)}'"


# --- step operators -----------------------------------------------------------------------------


def _steps(op: Operation, steps: list[Step]) -> Operation:
    return attrs.evolve(op, steps=tuple(steps))


def _label(op: Operation, step: Step) -> str:
    return _short(op.name)(step.name)


def drop_refusal(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in enumerate(op.steps):
        if isinstance(step, Refusal):
            rest = [s for n, s in enumerate(op.steps) if n != k]
            label = _label(op, step)
            yield Edit(_steps(op, rest), step.loc, f"{label}: refusal dropped", f"{label}")


def drop_confirmation(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in enumerate(op.steps):
        if isinstance(step, Confirmation):
            rest = [s for n, s in enumerate(op.steps) if n != k]
            yield Edit(_steps(op, rest), step.loc, f"{op.name}: confirmation dropped", op.name)


def _move_after(op: Operation, k: int, kind: type[Confirmation] | type[Effect]) -> Operation | None:
    """The operation with step ``k`` moved just after the next step of ``kind``, if any."""
    later = [n for n in range(k + 1, len(op.steps)) if isinstance(op.steps[n], kind)]
    if not later:
        return None
    steps = list(op.steps)
    moved = steps.pop(k)
    steps.insert(later[0], moved)  # the pop shifted it left by one
    return _steps(op, steps)


def _mover(kind: type[Confirmation] | type[Effect], where: str) -> Operator:
    def operator(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
        for k, step in enumerate(op.steps):
            moved = _move_after(op, k, kind) if isinstance(step, Refusal) else None
            if moved is not None:
                label = _label(op, step)
                yield Edit(moved, step.loc, f"{label}: refusal moved after the {where}", label)

    return operator


def swap_refusals(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, (first, second) in enumerate(itertools.pairwise(op.steps)):
        if isinstance(first, Refusal) and isinstance(second, Refusal):
            steps = list(op.steps)
            steps[k], steps[k + 1] = second, first
            label = _label(op, first)
            text = f"{label}: swapped with '{_short(op.name)(second.name).split('/', 1)[1]}'"
            yield Edit(_steps(op, steps), first.loc, text, label)


def _refusals(op: Operation) -> Iterator[tuple[int, Refusal]]:
    for k, step in enumerate(op.steps):
        if isinstance(step, Refusal):
            yield k, step


def add_actor(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in _refusals(op):
        for role in sorted(set(Role) - step.roles, key=lambda r: r.value):
            new = attrs.evolve(step, roles=step.roles | {role})
            label = _label(op, step)
            text = f"{label}: also refuses the {role.value}"
            yield Edit(_with_step(op, k, new), step.loc, text, f"{label}|{role.value}")


def remove_actor(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in _refusals(op):
        if len(step.roles) < 2:
            continue  # with no actor left it is drop_refusal
        for role in sorted(step.roles, key=lambda r: r.value):
            new = attrs.evolve(step, roles=step.roles - {role})
            label = _label(op, step)
            text = f"{label}: no longer refuses the {role.value}"
            yield Edit(_with_step(op, k, new), step.loc, text, f"{label}|{role.value}")


def change_status(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in _refusals(op):
        for status in sorted(statuses - {step.status}):
            new = attrs.evolve(step, status=status)
            label = _label(op, step)
            text = f"{label}: {int(step.status)} -> {int(status)}"
            yield Edit(_with_step(op, k, new), step.loc, text, f"{label}|{int(status)}")


def _widen_effects(op: Operation) -> Iterator[Edit]:
    for k, step in enumerate(op.steps):
        if isinstance(step, Effect) and step.over is Domain.SERVICE:
            new = attrs.evolve(step, over=Domain.DEVICE)
            label = _label(op, step)
            yield Edit(_with_step(op, k, new), step.loc, f"{label}: over device", f"{label}|over")


_widen_exprs = lift("widen_domain", _widen)


def widen_domain(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    yield from _widen_effects(op)
    yield from _widen_exprs(op, statuses)


def identity_effect(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    for k, step in enumerate(op.steps):
        if not isinstance(step, Effect):
            continue
        label = _label(op, step)
        keep = {
            field: Read(field, Var("i", step.loc), False, step.loc) for field, _ in step.updates
        }
        for p, (field, _) in enumerate(step.updates):
            new = _with_update(step, p, keep[field])
            text = f"{label}.{field.value}: update -> '{field.value}(i)'"
            yield Edit(_with_step(op, k, new), step.loc, text, f"{label}|{field.value}")
        if len(step.updates) > 1:
            whole = attrs.evolve(step, updates=tuple(keep.items()))
            text = f"{label}: every update keeps the value"
            yield Edit(_with_step(op, k, whole), step.loc, text, f"{label}|*")


# --- the registry -------------------------------------------------------------------------------

_EQ = {Comparison.EQ: Comparison.NE, Comparison.NE: Comparison.EQ}
_LT = {
    Comparison.LT: Comparison.LE,
    Comparison.LE: Comparison.LT,
    Comparison.GT: Comparison.GE,
    Comparison.GE: Comparison.GT,
}

OPERATORS: dict[str, Operator] = {
    "negate": lift("negate", _negate),
    "swap_eq": lift("swap_eq", _swap_compare(_EQ)),
    "swap_and_or": lift("swap_and_or", _swap_connective),
    "swap_lt": lift("swap_lt", _swap_compare(_LT)),
    "condition_true": lift("condition_true", _constant(True)),
    "condition_false": lift("condition_false", _constant(False)),
    "drop_refusal": drop_refusal,
    "drop_confirmation": drop_confirmation,
    "refusal_after_confirm": _mover(Confirmation, "confirmation"),
    "refusal_after_effect": _mover(Effect, "next effect"),
    "swap_refusals": swap_refusals,
    "add_actor": add_actor,
    "remove_actor": remove_actor,
    "change_status": change_status,
    "widen_domain": widen_domain,
    "identity_effect": identity_effect,
    "swap_instance": lift("swap_instance", _swap_instance),
    "swap_flag": lift("swap_flag", _swap_flag),
}
"""Every operator by name, in the order mutants are generated."""


def well_scoped(op: Operation) -> bool:
    """Whether every variable an operation reads is bound where it is read, and ``target``
    appears only in an operation that has one (the loader's scope rules, on the tree).

    >>> from mostate import load_spec
    >>> all(well_scoped(op) for op in load_spec().ops.values())
    True
    """
    return all(_scoped(expr, ctx.bound, op.has_target) for _, expr, ctx, _ in _slots(op))


def _scoped(expr: Expr, bound: tuple[str, ...], has_target: bool) -> bool:
    match expr:
        case Var():
            return expr.name in bound
        case Builtin(name=BuiltinName.TARGET):
            return has_target
        case Quant() | Count() | The():
            return _scoped(expr.body, (*bound, expr.var), has_target)
        case _:
            return all(_scoped(child, bound, has_target) for child in children(expr))
