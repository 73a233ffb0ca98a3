"""The symbolic step: an operation's steps, effects and checks as Z3 terms.

This mirrors :mod:`mostate.engine`: :func:`run_step` is ``Engine._run_steps`` (refusals for the
request's role, the confirmation point that a declined server request stops at with 215, effects
that later steps read), :func:`apply_effect` is ``_apply_effect``, :func:`normalise` is
``normalise`` and :meth:`CompiledSpec.invariant` / :meth:`CompiledSpec.property_holds` are the
two halves of ``Engine._check``. Every expression is compiled once, by
:func:`mostate.symbolic.compiler.compile_expr`, from the spec's own AST.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from ..model import Confirm, Role, Status
from ..rules import (
    STATUS,
    Compare,
    Confirmation,
    Count,
    Domain,
    Effect,
    Field,
    Lit,
    Operation,
    Property,
    Refusal,
    Spec,
    Step,
    The,
    Type,
    spec_exprs,
    walk,
)
from ._z3 import Bool, Int, Session, Term
from .compiler import Compiled, compile_expr
from .values import FieldFn, NeedsBound, SEnv, SRef, SState, every_service, none_ref


@attrs.frozen
class Branch:
    """Who sends the request and, for a server, what the user answered to the confirmation.

    >>> str(Branch(Role.SERVER, Confirm.DECLINE))
    'server/decline'
    """

    role: Role
    confirm: Confirm | None = None

    def __str__(self) -> str:
        if self.confirm is Confirm.DECLINE:
            return f"{self.role.value}/decline"
        return self.role.value


def branches(op: Operation) -> tuple[Branch, ...]:
    """User; server; and server with a declined confirmation.

    A server request without ``confirm`` behaves as one that accepts. A declined one is sent to
    every operation, not only to those that ask: an operation that forgot to ask carries the
    request out, and a property reading ``declines`` must be able to see it."""
    confirms = any(isinstance(step, Confirmation) for step in op.steps)
    accept = Confirm.ACCEPT if confirms else None
    return (Branch(Role.USER), Branch(Role.SERVER, accept), Branch(Role.SERVER, Confirm.DECLINE))


@attrs.frozen(eq=False)
class SRequest:
    """A symbolic request to one operation: its service, target and arguments as terms."""

    op: Operation
    branch: Branch
    service: Term
    target: SRef | None
    args: dict[str, Term]
    facts: tuple[Bool, ...] = ()


def fresh_request(z: Session, op: Operation, branch: Branch, tag: str = "") -> SRequest:
    """A request with every part left to the solver."""
    sorts = {Type.BOOL: z.bool, Type.STR: z.str, Type.PARAMS: z.params}
    service = z.const(f"svc{tag}", z.svc)
    target = SRef(z.true, service, z.const(f"target{tag}", z.inst)) if op.has_target else None
    args = {a.name: z.const(f"{a.name}{tag}", sorts[a.type]) for a in op.args}
    facts = tuple(z.finite(args[a.name]) for a in op.args if a.type is Type.PARAMS)
    return SRequest(op, branch, service, target, args, facts)


def fresh_state(z: Session, tag: str = "") -> SState:
    """A state left to the solver (uninterpreted functions over service and instance)."""
    flags = [
        z.func(f"{f.value}{tag}", [z.svc, z.inst], z.bool) for f in Field if f.value != "params"
    ]
    params = z.func(f"params{tag}", [z.svc, z.inst], z.params)
    return SState(*flags, params)


def well_formed(z: Session, state: SState) -> Bool:
    """What the engine can represent: a non-existing instance has no flags and no parameters,
    and every parameter map is finite."""
    s, i = z.const("ws", z.svc), z.const("wi", z.inst)
    blank = z.and_(
        *(z.not_(Bool(state.field(flag)(s, i))) for flag in STATUS),
        z.eq(state.params(s, i), z.empty_params()),
    )
    body = z.and_(z.implies(z.not_(Bool(state.exists(s, i))), blank), z.finite(state.params(s, i)))
    return z.forall([s, i], body)


def room(z: Session, state: SState, spare: int, service: Term) -> Bool:
    """Names and services to spare, as the engine always has them.

    The engine's quantifiers see, besides the names a state holds, the infinitely many it does
    not (its fresh name), and services that hold no instance. A model of a finite sort may have
    none left, and then shows a "violation" the engine cannot replay. Leaving such models in
    keeps every proof sound (they only add counterexamples); a check whose model does not
    replay is asked again with this: ``spare + 1`` names not held in ``service`` (the request
    may target one) and two services that hold no instance (one may be the request's).
    """
    empty = [z.const(f"spare_svc{k}", z.svc) for k in range(2)]
    names = [z.const(f"spare{k}", z.inst) for k in range(spare + 1)]
    i = z.const("ri", z.inst)
    parts = [
        z.forall([i], z.and_(*[z.not_(Bool(state.exists(e, i))) for e in empty])),
        z.not_(z.eq(empty[0], empty[1])),
        *[z.not_(Bool(state.exists(service, n))) for n in names],
        *[z.not_(z.eq(a, b)) for k, a in enumerate(names) for b in names[k + 1 :]],
    ]
    return z.and_(*parts)


def spare_names(spec: Spec) -> int:
    """How many unheld names a model needs so that no ``count`` comparison with a literal can
    tell them from the engine's infinitely many: one more than the largest literal a ``count``
    is compared with (a status such as ``404`` is no count of names, and asking for hundreds
    of distinct names made a query whose mere assertion took seconds).

    >>> from mostate import load_spec
    >>> spare_names(load_spec())
    2
    """
    literals = [
        side.value
        for expr in spec_exprs(spec)
        for node in walk(expr)
        if isinstance(node, Compare)
        and (isinstance(node.left, Count) or isinstance(node.right, Count))
        for side in (node.left, node.right)
        if isinstance(side, Lit) and side.type is Type.INT and isinstance(side.value, int)
    ]
    return max([1, *literals]) + 1


def normalise(z: Session, raw: SState) -> SState:
    """The state the engine keeps: flags and parameters of non-existing instances dropped."""

    def flag(fn: FieldFn) -> FieldFn:
        return lambda s, i: z.and_(Bool(raw.exists(s, i)), Bool(fn(s, i)))

    def params(s: Term, i: Term) -> Term:
        return z.ite(Bool(raw.exists(s, i)), raw.params(s, i), z.empty_params())

    return SState(raw.exists, *(flag(raw.field(f)) for f in STATUS), params)


@attrs.frozen(eq=False)
class SStep:
    """One symbolic step: the request, the states around it, the status and the result."""

    request: SRequest
    pre: SState
    post: SState
    status: Int
    result: SRef
    declined: Bool
    """The request was asked for its confirmation and declined (the property term ``declined``)."""
    side: list[Bool]
    ambiguous: Bool
    """Some ``the(...)`` the step evaluates has several candidates (obligation unique_the)."""
    fired: tuple[tuple[Step, Bool], ...] = ()
    """For each step of the operation, in order: when it decides the request (a refusal that
    fires, a confirmation a declined request stops at) or, for an effect, when it is reached."""


_CompiledStep = tuple[Step, Compiled | None, tuple[tuple[Field, Compiled], ...]]


@attrs.frozen(eq=False)
class _Op:
    op: Operation
    steps: tuple[_CompiledStep, ...]
    result: Compiled | None


class CompiledSpec:
    """A spec compiled for the solver, once (mirrors :class:`mostate.engine.Engine`).

    >>> from mostate import load_spec
    >>> sorted(CompiledSpec(load_spec()).ops)[:2]
    ['add', 'delete']
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.invariants = tuple((inv, compile_expr(inv.expr)) for inv in spec.invariants)
        self.properties = tuple((p, compile_expr(p.expr)) for p in spec.properties)
        self.ops = {name: self._compile_op(op) for name, op in spec.ops.items()}
        self.spare = spare_names(spec)

    def _compile_op(self, op: Operation) -> _Op:
        steps: list[_CompiledStep] = []
        for step in op.steps:
            match step:
                case Refusal():
                    steps.append((step, compile_expr(step.when), ()))
                case Confirmation():
                    steps.append((step, None, ()))
                case Effect():
                    for _, expr in step.updates:
                        if any(isinstance(node, The) for node in walk(expr)):
                            raise NeedsBound(f"{step.name}: the(...) in an effect is not supported")
                    updates = tuple((f, compile_expr(e)) for f, e in step.updates)
                    steps.append((step, None, updates))
                case _:
                    assert_never(step)
        result = compile_expr(op.result) if op.result is not None else None
        return _Op(op, tuple(steps), result)

    def properties_for(self, op: str, role: Role) -> tuple[tuple[Property, Compiled], ...]:
        """The transition properties that speak of this operation and role."""
        return tuple(
            (p, fn)
            for p, fn in self.properties
            if role in p.roles and (p.ops is None or op in p.ops)
        )

    def run_step(self, z: Session, pre: SState, request: SRequest) -> SStep:
        """Mirror of ``Engine._run_steps`` plus the query result (only on status 200)."""
        cop = self.ops[request.op.name]
        role = request.branch.role
        env = SEnv(z, pre, request.service, role, target=request.target, args=request.args)
        declined = role is Role.SERVER and request.branch.confirm is Confirm.DECLINE
        state, done, stopped = pre, z.false, False
        was_declined: Bool = z.false
        status: Int = z.int_val(int(Status.OK))
        fired: list[tuple[Step, Bool]] = []
        for step, when, updates in cop.steps:
            if stopped:
                fired.append((step, z.false))
                continue
            match step:
                case Refusal():
                    if role not in step.roles:
                        fired.append((step, z.false))
                        continue
                    assert when is not None
                    live = z.not_(done)
                    fires = z.and_(live, when(attrs.evolve(env, pre=state, guard=(live,))))
                    status = Int(z.ite(fires, z.int_val(int(step.status)), status))
                    done = z.or_(done, fires)
                    fired.append((step, fires))
                case Confirmation():
                    if not declined:
                        fired.append((step, z.false))
                        continue
                    status = Int(z.ite(done, status, z.int_val(int(Status.NOT_EXECUTED))))
                    stopped = True
                    was_declined = z.not_(done)
                    fired.append((step, z.not_(done)))
                case Effect():
                    fired.append((step, z.not_(done)))
                    state = apply_effect(z, step, updates, attrs.evolve(env, pre=state), done)
                case _:
                    assert_never(step)
        ok = z.eq(status, z.int_val(int(Status.OK)))
        result = none_ref(z)
        if cop.result is not None and not stopped:
            found: SRef = cop.result(attrs.evolve(env, pre=state, guard=(ok,)))
            result = SRef(z.and_(ok, found.some), found.svc, found.inst)
        ambiguous = z.or_(*env.ambiguous) if env.ambiguous else z.false
        return SStep(
            request, pre, state, status, result, was_declined, env.side, ambiguous, tuple(fired)
        )

    def invariant(
        self, z: Session, state: SState, service: Term, fn: Compiled, bound: tuple[Term, ...] = ()
    ) -> tuple[Bool, list[Bool]]:
        """An invariant on one service of ``state`` (the raw view, as the engine checks it), and
        the definitions it needs (``the``); ``bound`` lists the variables ``service`` uses."""
        env = SEnv(z, state, service, Role.USER, bound=bound)
        return _unambiguous(z, env, fn(env)), env.side

    def invariants_everywhere(self, z: Session, state: SState) -> Bool:
        """Every invariant on every service (with the definitions they need)."""
        sides: list[Bool] = []

        def on(service: Term, variables: tuple[Term, ...]) -> Bool:
            parts = []
            for _, fn in self.invariants:
                holds, side = self.invariant(z, state, service, fn, variables)
                parts.append(holds)
                sides.extend(side)
            return z.and_(*parts)

        everywhere = every_service(z, on)
        return z.and_(everywhere, *sides)

    def property_holds(self, z: Session, step: SStep, fn: Compiled) -> tuple[Bool, list[Bool]]:
        """A transition property on one step, and the definitions it needs (``the``)."""
        req = step.request
        env = SEnv(
            z,
            step.pre,
            req.service,
            req.branch.role,
            post=step.post,
            target=req.target or none_ref(z),
            args=req.args,
            status=step.status,
            result=step.result,
            declined=step.declined,
            declines=z.bool_val(req.branch.confirm is Confirm.DECLINE),
        )
        return _unambiguous(z, env, fn(env)), env.side


def _unambiguous(z: Session, env: SEnv, holds: Bool) -> Bool:
    """An invariant or property holds when its ``the(...)`` are unambiguous (as in the engine)."""
    return z.and_(holds, *(z.not_(a) for a in env.ambiguous))


def apply_effect(
    z: Session,
    effect: Effect,
    updates: tuple[tuple[Field, Compiled], ...],
    env: SEnv,
    done: Bool,
) -> SState:
    """Mirror of ``engine._apply_effect``: every instance of the effect's domain gets the next
    value of the fields listed, computed on the state before the effect; not when ``done``."""
    old = env.pre
    fields = {f: old.field(f) for f in Field}
    for field, fn in updates:
        fields[field] = _updated(z, effect.over, fields[field], fn, env, done)
    return SState(*(fields[f] for f in Field))


def _updated(
    z: Session, over: Domain, old: FieldFn, fn: Compiled, env: SEnv, done: Bool
) -> FieldFn:
    def new(s: Term, i: Term) -> Term:
        applies = (
            z.not_(done) if over is Domain.DEVICE else z.and_(z.not_(done), z.eq(s, env.service))
        )
        value: Term = fn(env.bind("i", SRef(z.true, s, i), ()))
        return z.ite(applies, value, old(s, i))

    return new
