"""What each property asks of one symbolic step, in the one polarity every query has: the
negation of the property, which is unsatisfiable exactly when the property holds.

:func:`step_queries` gives one :class:`Query` per invariant (on some service of the raw state
after the step, as ``Engine._check`` sees it), per transition property that speaks of the step's
operation and role, and per independence for the role (two runs from states that differ in the
field on one existing instance anywhere on the device, as ``Engine.independence_violations``
flips them). :func:`keeps_everything` is the step the engine would let through (``apply``).
"""

from __future__ import annotations

import attrs

from ..rules import (
    CREATES_ONLY_TARGET,
    UNIQUE_THE,
    Effect,
    Field,
    Independence,
    Obligation,
    Operation,
    Refusal,
    Type,
    has_the,
)
from ._z3 import Bool, Session, Term
from .transition import CompiledSpec, SStep, normalise
from .values import FieldFn, SState


@attrs.frozen(eq=False)
class Query:
    """The negation of one property on one step, with the definitions it needs."""

    name: str
    kind: str
    negated: Bool
    side: tuple[Bool, ...]


def step_queries(compiled: CompiledSpec, z: Session, step: SStep) -> list[Query]:
    """Every property the step could break, negated.

    >>> from mostate import load_spec
    >>> from mostate.symbolic.transition import Branch, fresh_request, fresh_state
    >>> from mostate.model import Role
    >>> spec = load_spec(); compiled = CompiledSpec(spec); z = Session()
    >>> req = fresh_request(z, spec.ops["get"], Branch(Role.USER))
    >>> step = compiled.run_step(z, fresh_state(z), req)
    >>> [q.name for q in step_queries(compiled, z, step)][:4]
    ['one_active', 'one_default', 'flags_need_instance', 'user_respects_lock']
    """
    owed = obligations(z, step)
    out = [Query(name, "obligation", negated, tuple(step.side)) for name, negated in owed.items()]
    # The other checks speak of steps that meet the obligations: the engine reports a step
    # that breaks one by that obligation alone (it has no well-defined outcome to check).
    met = (*step.side, *(z.not_(negated) for negated in owed.values()))
    for inv, fn in compiled.invariants:
        holds, side = compiled.invariant(z, step.post, z.const("bad", z.svc), fn)
        out.append(Query(inv.name, "invariant", z.not_(holds), (*side, *met)))
    role = step.request.branch.role
    for prop, fn in compiled.properties_for(step.request.op.name, role):
        holds, side = compiled.property_holds(z, step, fn)
        out.append(Query(prop.name, "property", z.not_(holds), (*side, *met)))
    for indep in compiled.spec.independences:
        if role in indep.roles:
            query = _independence(compiled, z, indep, step)
            out.append(attrs.evolve(query, side=(*query.side, *met)))
    return out


def keeps_everything(compiled: CompiledSpec, z: Session, step: SStep) -> Bool:
    """The step breaks no invariant (on any service) and no transition property."""
    parts = [compiled.invariants_everywhere(z, step.post), *step.side]
    parts += [z.not_(negated) for negated in obligations(z, step).values()]
    for _, fn in compiled.properties_for(step.request.op.name, step.request.branch.role):
        holds, side = compiled.property_holds(z, step, fn)
        parts += [holds, *side]
    return z.and_(*parts)


def obligations_for(op: Operation) -> tuple[Obligation, ...]:
    """The obligations a step of ``op`` could break: creating an instance takes an effect on
    ``exists``, an ambiguous ``the`` takes a ``the`` in a refusal or the result."""
    effects = [s for s in op.steps if isinstance(s, Effect)]
    out = []
    if any(field is Field.EXISTS for e in effects for field, _ in e.updates):
        out.append(CREATES_ONLY_TARGET)
    exprs = [s.when for s in op.steps if isinstance(s, Refusal)]
    if any(has_the(e) for e in [*exprs, *([op.result] if op.result is not None else [])]):
        out.append(UNIQUE_THE)
    return tuple(out)


def obligations(z: Session, step: SStep) -> dict[str, Bool]:
    """Each obligation the step's operation could break, negated (true when broken)."""
    out: dict[str, Bool] = {}
    for obligation in obligations_for(step.request.op):
        if obligation is CREATES_ONLY_TARGET:
            out[obligation.name] = creates_another(z, step)
        else:
            out[obligation.name] = step.ambiguous
    return out


def creates_another(z: Session, step: SStep) -> Bool:
    """Some instance exists after the step that did not before and is not its target."""
    s, i = z.const("cs", z.svc), z.const("ci", z.inst)
    target = step.request.target
    is_target = (
        z.and_(target.some, z.eq(s, target.svc), z.eq(i, target.inst))
        if target is not None
        else z.false
    )
    created = z.and_(
        Bool(step.post.exists(s, i)), z.not_(Bool(step.pre.exists(s, i))), z.not_(is_target)
    )
    return z.exists([s, i], created)


def flip(z: Session, state: SState, field: Field, service: Term, inst: Term) -> SState:
    """``state`` with ``field`` negated on one instance."""
    old = state.field(field)

    def flipped(s: Term, i: Term) -> Term:
        here = z.and_(z.eq(s, service), z.eq(i, inst))
        return z.ite(here, z.not_(Bool(old(s, i))), old(s, i))

    fields: dict[Field, FieldFn] = {f: state.field(f) for f in Field}
    fields[field] = flipped
    return SState(*(fields[f] for f in Field))


def _independence(compiled: CompiledSpec, z: Session, indep: Independence, step: SStep) -> Query:
    req = step.request
    # The flipped instance may be in any service, as the independence's doc speaks of any flag.
    where, k = z.const("flip_svc", z.svc), z.const("flip", z.inst)
    pre2 = flip(z, step.pre, indep.field, where, k)
    step2 = compiled.run_step(z, pre2, req)
    differs = differ(z, step, step2, indep.field, req.op.result_type)
    facts = (
        Bool(step.pre.exists(where, k)),
        compiled.invariants_everywhere(z, pre2),
        *step.side,
        *step2.side,
        *(z.not_(negated) for negated in obligations(z, step2).values()),
    )
    return Query(indep.name, "independence", differs, facts)


def differ(z: Session, a: SStep, b: SStep, field: Field | None, result_type: Type | None) -> Bool:
    """The two steps differ in status, result or normalised next state, ``field`` (if any) left
    out; an instance result is compared as the record the engine shows, a name result by name.

    >>> from mostate import load_spec
    >>> from mostate.symbolic.transition import Branch, fresh_request, fresh_state
    >>> from mostate.symbolic._z3 import Budget, Solver
    >>> from mostate.model import Role
    >>> spec = load_spec(); compiled = CompiledSpec(spec); z = Session()
    >>> req = fresh_request(z, spec.ops["get"], Branch(Role.USER))
    >>> step = compiled.run_step(z, fresh_state(z), req)
    >>> Solver(z, Budget()).check([differ(z, step, step, None, Type.INSTANCE), *step.side])
    Unsat()
    """
    na, nb = normalise(z, a.post), normalise(z, b.post)
    s, i = z.const("ds", z.svc), z.const("di", z.inst)
    others = [f for f in Field if f is not field]
    state_differs = z.or_(*[z.not_(z.eq(na.field(f)(s, i), nb.field(f)(s, i))) for f in others])
    ra, rb = a.result, b.result
    result_differs = z.not_(z.eq(ra.some, rb.some))
    if result_type is Type.INSTANCE:
        same = [z.eq(na.field(f)(ra.svc, ra.inst), nb.field(f)(rb.svc, rb.inst)) for f in others]
        result_differs = z.or_(result_differs, z.and_(ra.some, z.not_(z.and_(*same))))
    elif result_type is not None:
        result_differs = z.or_(result_differs, z.and_(ra.some, z.not_(z.eq(ra.inst, rb.inst))))
    return z.or_(z.not_(z.eq(a.status, b.status)), result_differs, state_differs)
