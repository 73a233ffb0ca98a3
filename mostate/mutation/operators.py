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
``add_update``              an effect also changes a field it leaves alone (sets or clears a
                            flag of the target, empties its parameters, deletes it)
``change_other``            an update of a field also changes it on every instance but the
                            target (a flag negated, the parameters emptied, the instance gone)
``drop_target_guard``       an ``i == target`` guard dropped: ``if i == target then a else b``
                            becomes ``a``, ``c and i != target`` becomes ``c``
``read_other_service``      a quantifier over ``service`` ranges over ``others``
``copy_refusal``            a refusal of another operation added before the confirmation point
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
from ..model import EMPTY_PARAMS, Role, Status
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
    Field,
    Ite,
    Lit,
    Not,
    Operation,
    Quant,
    Read,
    Refusal,
    Spec,
    Step,
    The,
    Type,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
    children,
    map_children,
    walk,
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
SpecOperator = Callable[[Operation, Spec], Iterator[Edit]]
"""An operator as :func:`~mostate.mutation.generate` calls it: the operation and its spec (an
operator may copy from the other operations)."""


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


# --- effects that reach too far, conditions that read too far -----------------------------------

_TARGET = Builtin(BuiltinName.TARGET, Type.INSTANCE)


def _changed(field: Field, target: bool, loc: Location) -> Iterator[tuple[Expr, str]]:
    """Updates of ``field`` that change it where its effect left it alone: on the target when
    there is one (``target``), else (within an ``if i == target`` guard) on the others."""
    i, now = Var("i", loc), Read(field, Var("i", loc), False, loc)
    here = Compare(Comparison.EQ, i, attrs.evolve(_TARGET, loc=loc), loc)
    away = Compare(Comparison.NE, i, attrs.evolve(_TARGET, loc=loc), loc)
    match field:
        case Field.ACTIVE | Field.DEFAULT | Field.LOCKED:
            if target:
                yield BoolOp(Connective.OR, now, here, loc), f"set on the target: {field.value}"
                yield (
                    BoolOp(Connective.AND, now, away, loc),
                    f"cleared on the target: {field.value}",
                )
            else:
                yield Not(now, loc), f"negated: {field.value}"
        case Field.PARAMS:
            yield Lit(EMPTY_PARAMS, Type.PARAMS, loc), "emptied: params"
        case Field.EXISTS:
            yield (
                BoolOp(Connective.AND, now, away, loc) if target else Lit(False, Type.BOOL, loc),
                "deleted: exists",
            )
        case _:
            assert_never(field)


def add_update(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    """An effect also writes a field it left alone (what a set_locked that clears Active is)."""
    if not op.has_target:
        return
    for k, step in enumerate(op.steps):
        if not isinstance(step, Effect):
            continue
        written = {field for field, _ in step.updates}
        label = _label(op, step)
        for field in Field:
            if field in written:
                continue
            for value, text in _changed(field, True, step.loc):
                new = attrs.evolve(step, updates=(*step.updates, (field, value)))
                key = f"{label}|{field.value}|{text}"
                yield Edit(_with_step(op, k, new), step.loc, f"{label}: also {text}", key)


def change_other(op: Operation, statuses: frozenset[Status]) -> Iterator[Edit]:
    """An update also changes the instances it should leave alone: ``f := E`` becomes
    ``if i == target then E else <f changed>``."""
    if not op.has_target:
        return
    for k, step in enumerate(op.steps):
        if not isinstance(step, Effect):
            continue
        label = _label(op, step)
        for p, (field, value) in enumerate(step.updates):
            i = Var("i", step.loc)
            here = Compare(Comparison.EQ, i, attrs.evolve(_TARGET, loc=step.loc), step.loc)
            for other, text in _changed(field, False, step.loc):
                guarded = Ite(here, value, other, _type_of(field), step.loc)
                new = _with_update(step, p, guarded)
                key = f"{label}|{field.value}|{text}"
                yield Edit(_with_step(op, k, new), step.loc, f"{label}: the others {text}", key)


def _type_of(field: Field) -> Type:
    return Type.PARAMS if field is Field.PARAMS else Type.BOOL


def _is_target_guard(expr: Expr) -> bool:
    """``x == target`` or ``x != target`` (either way round) for a bound instance ``x``."""
    if not isinstance(expr, Compare) or expr.op not in (Comparison.EQ, Comparison.NE):
        return False
    sides = (expr.left, expr.right)
    is_target = [isinstance(e, Builtin) and e.name is BuiltinName.TARGET for e in sides]
    return any(is_target) and any(isinstance(e, Var) for e in sides)


def _drop_guard(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    match expr:
        case Ite(cond=cond, then=then) if _is_target_guard(cond):
            yield then, f"'{brief(expr)}' -> '{brief(then)}'"
        case BoolOp(op=Connective.AND | Connective.OR, left=left, right=right):
            if _is_target_guard(right):
                yield left, f"'{brief(expr)}' -> '{brief(left)}'"
            elif _is_target_guard(left):
                yield right, f"'{brief(expr)}' -> '{brief(right)}'"
        case _:
            pass  # no guard here


def _other_service(expr: Expr, ctx: Context) -> Iterator[tuple[Expr, str]]:
    if isinstance(expr, Quant | Count | The) and expr.domain is Domain.SERVICE:
        yield attrs.evolve(expr, domain=Domain.OTHERS), f"'{brief(expr)}' -> 'in others'"


def copy_refusal(op: Operation, spec: Spec) -> Iterator[Edit]:
    """A refusal of another operation, added to this one before its confirmation point (or
    its first effect): one the operation does not have and whose condition it can read."""
    have = {(s.when, s.status, s.roles) for s in op.steps if isinstance(s, Refusal)}
    at = next(
        (k for k, s in enumerate(op.steps) if isinstance(s, Confirmation | Effect)),
        len(op.steps),
    )
    for other in spec.ops.values():
        for step in other.steps if other.name != op.name else ():
            if not isinstance(step, Refusal) or (step.when, step.status, step.roles) in have:
                continue
            have.add((step.when, step.status, step.roles))
            steps = [*op.steps[:at], step, *op.steps[at:]]
            text = f"{op.name}: refusal copied from {step.name}"
            yield Edit(_steps(op, steps), step.loc, text, f"{op.name}|{other.name}|{step.name}")


def _with_statuses(operator: Operator) -> SpecOperator:
    """An operator that needs only the spec's statuses, as :func:`generate` calls it."""

    def run(op: Operation, spec: Spec) -> Iterator[Edit]:
        return operator(op, refusal_statuses(spec))

    run.__name__ = getattr(operator, "__name__", "operator")
    return run


def refusal_statuses(spec: Spec) -> frozenset[Status]:
    """The statuses the spec's refusals answer (what ``change_status`` picks from)."""
    return frozenset(
        step.status for op in spec.ops.values() for step in op.steps if isinstance(step, Refusal)
    )


# --- the registry -------------------------------------------------------------------------------

_EQ = {Comparison.EQ: Comparison.NE, Comparison.NE: Comparison.EQ}
_LT = {
    Comparison.LT: Comparison.LE,
    Comparison.LE: Comparison.LT,
    Comparison.GT: Comparison.GE,
    Comparison.GE: Comparison.GT,
}

_BY_STATUSES: dict[str, Operator] = {
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
    "add_update": add_update,
    "change_other": change_other,
    "drop_target_guard": lift("drop_target_guard", _drop_guard),
    "read_other_service": lift("read_other_service", _other_service),
}

OPERATORS: dict[str, SpecOperator] = {
    **{name: _with_statuses(fn) for name, fn in _BY_STATUSES.items()},
    "copy_refusal": copy_refusal,
}
"""Every operator by name, in the order mutants are generated."""


def well_scoped(op: Operation) -> bool:
    """Whether every variable an operation reads is bound where it is read, ``target``
    appears only in an operation that has one, and every argument it reads is one it declares
    with that type (the loader's scope rules, on the tree).

    >>> from mostate import load_spec
    >>> all(well_scoped(op) for op in load_spec().ops.values())
    True
    """
    declared = {(a.name, a.type) for a in op.args}
    return all(
        _scoped(expr, ctx.bound, op.has_target) and _declared(expr, declared)
        for _, expr, ctx, _ in _slots(op)
    )


def _declared(expr: Expr, declared: set[tuple[str, Type]]) -> bool:
    return all((n.name, n.type) in declared for n in walk(expr) if isinstance(n, Arg))


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
