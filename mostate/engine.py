"""The engine: decides every request the way the spec says, and refuses steps that break it.

``Engine(spec).apply(state, request)`` returns an :class:`~mostate.model.Outcome`. The order is
fixed: the request's shape (400), then the operation's steps in spec order (refusals, the
confirmation point, effects), then the result of a query. Before an outcome is returned, the
spec's invariants (on every service the step touched) and transition properties are checked; a
step that would break one is answered 500, naming it, and the state stays as it was.

:meth:`Engine.evaluate` gives the raw step instead, with the properties it breaks: the explorer
and the test kit use it to find violations rather than be protected from them.

This module imports nothing beyond attrs and the standard library: a device client can use it
without Z3, networkx or Hypothesis.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Hashable, Iterator
from typing import Any, assert_never

import attrs

from .codegen import Step, SuccessorStep, Unsupported, compile_operation, compile_successor
from .codegen.operation import Fixed, fixed, success_clause
from .codegen.runtime import Violations, reason
from .concrete import (
    ABSENT,
    FRESH,
    Ambiguous,
    Compiled,
    Env,
    Raw,
    Record,
    Ref,
    View,
    compile_expr,
    record_values,
)
from .errors import InvalidState, Location, RequestError
from .frozenmap import FrozenMap
from .independence import independence_violations
from .model import (
    FLAGS,
    Clause,
    Confirm,
    DeviceState,
    Instance,
    Outcome,
    Request,
    Role,
    Service,
    Status,
    flag_values,
)
from .rules import (
    CREATES_ONLY_TARGET,
    UNIQUE_THE,
    Confirmation,
    Domain,
    Effect,
    Expr,
    Field,
    Invariant,
    Obligation,
    Operation,
    Property,
    Refusal,
    Spec,
    Type,
    has_the,
    reads_other_services,
)
from .rules import Step as SpecStep
from .simplify import fold, is_true, local_frame, stutter

log = logging.getLogger(__name__)

_MALFORMED = Clause("request", "malformed")
_BACKENDS = ("generated", "interpreted")


@attrs.frozen
class Transition:
    """One raw step of the spec: the outcome it would give, and what it breaks (if anything)."""

    before: DeviceState
    request: Request
    outcome: Outcome
    violations: tuple[Clause, ...] = ()


@attrs.frozen
class _Refuse:
    """A refusal, its condition compiled (:class:`~mostate.rules.Refusal`)."""

    clause: Clause
    roles: frozenset[Role]
    status: Status
    when: Compiled


@attrs.frozen
class _Confirm:
    """The confirmation point (:class:`~mostate.rules.Confirmation`)."""

    clause: Clause


@attrs.frozen
class _Effect:
    """An effect, its updates compiled (:class:`~mostate.rules.Effect`): each field's index in
    a record's values, and the expression that gives its next value."""

    clause: Clause
    over: Domain
    updates: tuple[tuple[int, Compiled], ...]


_CompiledStep = _Refuse | _Confirm | _Effect


@attrs.frozen
class _CompiledOp:
    op: Operation
    steps: tuple[_CompiledStep, ...]
    result: Compiled | None
    success: Clause
    # Indexed by ``role is Role.SERVER`` (0: the user's, 1: a server's), to avoid enum hashing.
    properties: tuple[tuple[tuple[Property, Compiled], ...], ...]
    # The same properties specialised to steps that change nothing; those that fold to true
    # on such steps are left out.
    stutter_properties: tuple[tuple[tuple[Property, Compiled], ...], ...]


_FIELD_INDEX = {field: index for index, field in enumerate(Field)}


class Engine:
    """Executes a spec. Build once per spec (compiling takes milliseconds), then apply freely.

    >>> from mostate import load_spec, DeviceState, Request
    >>> engine = Engine(load_spec())
    >>> add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    >>> out = engine.apply(DeviceState(), add)
    >>> int(out.status), out.state.to_json()["MMS"]["a"]["active"]
    (200, False)
    >>> int(engine.apply(out.state, add).status), str(engine.apply(out.state, add).clause)
    (418, 'refusal add: already exists (...ccs.toml:...)')
    """

    def __init__(
        self,
        spec: Spec,
        *,
        monitor: bool = True,
        optimise: bool = True,
        backend: str = "generated",
    ) -> None:
        """``monitor=False`` skips the run-time check of invariants and properties in
        :meth:`apply`: for a spec that ``mostate verify`` has proved, that check can never fire.
        :meth:`evaluate` always checks (it is what the checkers use).

        ``backend`` chooses how steps run. ``"generated"`` (the default) runs Python source
        written for each (operation, role) by :mod:`mostate.codegen`, compiled on an
        operation's first request; an operation the generator does not specialise is
        interpreted, and the engine logs it (``logging`` at INFO, logger ``mostate.engine``).
        ``"interpreted"`` runs the closure interpreter of :mod:`mostate.concrete`, the
        reference the generated code is tested against. ``optimise=False`` interprets and
        checks every property as written, without the rewrites of :mod:`mostate.simplify`
        (the tests compare the two); it implies ``backend="interpreted"``, since generated code
        is nothing but such rewrites.
        """
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, not {backend!r}")
        self.spec = spec
        self.monitor = monitor
        self.optimise = optimise
        self.backend = backend if optimise else "interpreted"
        # The generated functions of each operation (by ``role is Role.SERVER``), made on its
        # first request; the operations the generator left to the interpreter.
        self._generated: dict[str, tuple[Step, Step]] = {}
        self._interpreted: set[str] = set()
        self._successors: dict[tuple[str, Role, Fixed], SuccessorStep | None] = {}
        # The same successors by their code: requests whose code is the same share one.
        self._successor_bodies: dict[Hashable, SuccessorStep] = {}
        # The last state a monitored generated step produced, and the services known to keep
        # every invariant in it (see ``_run_generated``).
        self._known: tuple[DeviceState | None, frozenset[str]] = (None, frozenset())
        self._invariants = tuple((inv, compile_expr(inv.expr)) for inv in spec.invariants)
        self._global_invariants = tuple(
            (inv, fn) for inv, fn in self._invariants if reads_other_services(inv.expr)
        )
        # Each operation is compiled on its first request: a checker that builds an engine per
        # spec (a mutant, a diff) pays only for the operations it replays.
        self._ops: dict[str, _CompiledOp] = {}
        self._unoptimised: Engine | None = None  # what judge() asks, made on its first call

    def _compile_op(self, op: Operation) -> _CompiledOp:
        steps = tuple(_compile_step(step) for step in op.steps)
        success = success_clause(op)
        local = self.optimise and all(
            s.over is Domain.SERVICE for s in op.steps if isinstance(s, Effect)
        )
        properties = tuple(
            tuple(
                (p, compile_expr(expr))
                for p in self.spec.properties
                if role in p.roles and (p.ops is None or op.name in p.ops)
                if not is_true(expr := _specialised(p.expr, local))
            )
            for role in (Role.USER, Role.SERVER)
        )
        stutters = properties
        if self.optimise:
            stutters = tuple(
                tuple(
                    (p, compile_expr(folded))
                    for p, _ in props
                    if not is_true(folded := _stutter(p.expr))
                )
                for props in properties
            )
        result = compile_expr(op.result) if op.result is not None else None
        return _CompiledOp(op, steps, result, success, properties, stutters)

    # -- the public entry points -------------------------------------------------------------

    def apply(self, state: DeviceState, request: Request) -> Outcome:
        """Decide one request. Never raises for a bad request: that is a 400 outcome."""
        fns = self._generated.get(request.op)
        if fns is not None:
            outcome, violations = self._run_generated(fns, state, request)
        else:
            transition = self._step(state, request, self.monitor)
            outcome, violations = transition.outcome, transition.violations
        if not violations:
            return outcome
        broken = violations[0]
        log.warning("refused a step that breaks %s: %s", broken, request)
        return Outcome(
            Status.COMMAND_FAILED,
            state,
            broken,
            reason=f"the step would break {broken.kind} {broken.name}",
        )

    def _run_generated(
        self, fns: tuple[Step, Step], state: DeviceState, request: Request
    ) -> tuple[Outcome, tuple[Clause, ...]]:
        """A monitored step of generated code, told whether the request's service is known to
        keep the invariants in ``state`` (then the code checks only what the step changed).

        The engine remembers the last state a monitored step produced and the services it is
        known to keep the invariants on: a service that a step's checks found whole is known
        afterwards, and the services a step leaves alone stay as they were. A package of
        requests, each on the state the one before produced, is then checked at the cost of
        its changes; any other state is checked whole on its first step, as before.
        """
        step = fns[request.actor.role is Role.SERVER]
        if not self.monitor:
            return step(state, request, False)
        known_state, known = self._known
        kept = known if state is known_state else frozenset()
        outcome, violations = step(state, request, True, request.service in kept)
        after = outcome.state
        if violations or after is state or request.service is None:
            return outcome, violations
        # Generated code changes the request's service alone, and has just checked it whole
        # (or what changed in it, on a service known to keep the invariants).
        self._known = (after, kept | {request.service})
        return outcome, violations

    def evaluate(self, state: DeviceState, request: Request) -> Transition:
        """The raw step the spec describes, and every invariant or property it breaks."""
        return self._step(state, request, True)

    def evaluate_valid(self, state: DeviceState, request: Request) -> tuple[Outcome, Violations]:
        """:meth:`evaluate` of a step from a state the caller knows keeps every invariant (the
        explorer's stored states, each reached by a checked step from a state that kept them):
        generated code then checks the invariants on what the step changed alone, and no
        :class:`Transition` is built. On such a state the answer is :meth:`evaluate`'s; on a
        state that breaks an invariant, what it reports of invariants is not to be trusted.

        >>> from mostate import load_spec
        >>> engine = Engine(load_spec())
        >>> add = Request.from_json(
        ...     {"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
        >>> outcome, broken = engine.evaluate_valid(DeviceState(), add)
        >>> (outcome, broken) == (engine.evaluate(DeviceState(), add).outcome, ())
        True
        """
        fns = self._generated.get(request.op) or self._generated_for(request.op)
        if fns is not None:
            return fns[request.actor.role is Role.SERVER](state, request, True, True)
        step = self._step(state, request, True)
        return step.outcome, step.violations

    def _step(self, state: DeviceState, request: Request, check: bool) -> Transition:
        fns = self._generated_for(request.op)
        if fns is not None:
            outcome, violations = fns[request.actor.role is Role.SERVER](state, request, check)
            return Transition(state, request, outcome, violations)
        try:
            cop, env = self._prepare(state, request)
        except RequestError as err:
            return Transition(
                state, request, Outcome(Status.BAD_REQUEST, state, _MALFORMED, reason=str(err))
            )
        try:
            status, clause, view = self._run_steps(cop, env, request)
            result = None
            if status is Status.OK and cop.result is not None:
                if env.pre is not view:
                    env.reset(view, None, env.service)
                result = cop.result(env)
        except Ambiguous as err:
            return _broken(state, request, _obligation(UNIQUE_THE, err.node.loc), str(err))
        try:
            after = normalise(view)
        except ValueError as err:
            return _broken(
                state, request, _obligation(CREATES_ONLY_TARGET, clause.location), str(err)
            )
        outcome = Outcome(
            status, after, clause, self._render(cop, result, after), reason(status, clause)
        )
        if not check:
            return Transition(state, request, outcome)
        violations = self._check(cop, env, state, view, status, result)
        return Transition(state, request, outcome, violations)

    def _generated_for(self, name: str) -> tuple[Step, Step] | None:
        """The generated functions of operation ``name``, written on its first request; ``None``
        to interpret it (the interpreted backend, an unknown operation, or one the generator
        does not specialise, which is logged once)."""
        fns = self._generated.get(name)
        if fns is not None or self.backend != "generated" or name in self._interpreted:
            return fns
        op = self.spec.ops.get(name)
        if op is None:
            return None
        try:
            fns = self._generated[name] = compile_operation(self.spec, op)
        except Unsupported as err:
            log.info("operation %s is interpreted, not generated: %s", name, err)
            self._interpreted.add(name)
        return fns

    def successor(self, request: Request) -> SuccessorStep | None:
        """The explorer's step for ``request`` (:func:`~mostate.codegen.compile_successor`):
        generated code specialised to its role, arguments and answer to the confirmation,
        always checked, that gives the request's service's records after the step instead of
        an outcome; on a state that keeps the invariants it answers as :meth:`evaluate_valid`
        does. ``None`` where :meth:`evaluate_valid` does not run generated code for the
        request, or the request is malformed."""
        op = self.spec.ops.get(request.op)
        fixes = None if op is None else fixed(op, request)
        if op is None or fixes is None or self._generated_for(request.op) is None:
            return None
        key = (request.op, request.actor.role, fixes)
        if key not in self._successors:
            try:
                step = compile_successor(self.spec, op, request, self._successor_bodies)
                self._successors[key] = step
            except Unsupported as err:  # folding prunes paths: not expected, but not fatal
                log.info("no successor for %s: %s", request.op, err)
                self._successors[key] = None
        return self._successors[key]

    def _prepare(self, state: DeviceState, request: Request) -> tuple[_CompiledOp, Env]:
        cop = self._ops.get(request.op)
        if cop is None:
            op = self.spec.ops.get(request.op)
            if op is None:
                raise RequestError(f"unknown operation {request.op!r}")
            cop = self._ops[request.op] = self._compile_op(op)
        if request.service is None:
            raise RequestError(f"{request.op}: 'service' is missing")
        env = Env(View(state), request.service, request.actor.role)
        if cop.op.has_target:
            if request.instance is None:
                raise RequestError(f"{request.op}: 'instance' is missing")
            env.target = (request.service, request.instance)
        env.args.update(cop.op.request_args(request))
        return cop, env

    def _run_steps(
        self, cop: _CompiledOp, env: Env, request: Request
    ) -> tuple[Status, Clause, View]:
        view = env.pre
        declined = request.actor.role is Role.SERVER and request.confirm is Confirm.DECLINE
        env.declines = declined  # the user's "no", asked for or not: what `declines` reads
        for step in cop.steps:
            match step:
                case _Refuse():
                    if env.role in step.roles and step.when(env):
                        return step.status, step.clause, view
                case _Confirm():
                    if declined:
                        env.declined = True  # asked, and declined: what `declined` reads
                        return Status.NOT_EXECUTED, step.clause, view
                case _Effect():
                    view = _apply_effect(step, env, view)
                    env.reset(view, None, env.service)
                case _:
                    assert_never(step)
        return Status.OK, cop.success, view

    def _render(self, cop: _CompiledOp, result: Ref | None, after: DeviceState) -> Any:
        if result is None:
            return None
        if cop.op.result_type is Type.INSTANCE:
            return after.instance(result[0], result[1])
        return result[1]

    def _check(
        self,
        cop: _CompiledOp,
        env: Env,
        before: DeviceState,
        view: View,
        status: Status,
        result: Ref | None,
    ) -> tuple[Clause, ...]:
        broken: list[Clause] = []
        service = env.service
        if view.changed:
            broken.extend(_creations(env, before, view))
            for touched, invariants in self._invariants_to_check(view):
                env.reset(view, None, touched)
                broken.extend(_inv_clause(inv) for inv, fn in invariants if not _holds(fn, env))
        env.reset(View(before) if view.changed else view, view, service)
        env.status, env.result = int(status), result
        table = cop.properties if view.changed else cop.stutter_properties
        for prop, fn in table[env.role is Role.SERVER]:
            if not _holds(fn, env):
                broken.append(Clause("property", prop.name, prop.loc))
        return tuple(dict.fromkeys(broken))

    def _invariants_to_check(
        self, view: View
    ) -> Iterator[tuple[str, tuple[tuple[Invariant, Compiled], ...]]]:
        """The services whose invariants a step may have broken, with those invariants.

        A frame argument from the AST: an invariant that reads only its own service can change
        only on a service the step rewrote; one that reads other services is re-checked on every
        service (and on a service the state does not hold, standing for all the others).
        """
        touched = set(_touched(view))
        for service in sorted(touched | view.services() | {FRESH}):
            chosen = self._invariants if service in touched else self._global_invariants
            if chosen:
                yield service, chosen

    def state_violations(self, state: DeviceState) -> tuple[Clause, ...]:
        """The invariants ``state`` breaks, each checked on every service the state holds (and on
        a service it does not hold, which has no instances).

        >>> from mostate import load_spec
        >>> engine = Engine(load_spec())
        >>> two = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"active": True}}})
        >>> [c.name for c in engine.state_violations(two)], engine.state_violations(DeviceState())
        (['one_active'], ())
        """
        return tuple(dict.fromkeys(_inv_clause(inv) for inv, _ in self._broken_invariants(state)))

    def _broken_invariants(self, state: DeviceState) -> Iterator[tuple[Invariant, str]]:
        """Each invariant ``state`` breaks, with the service where it breaks."""
        view = View(state)
        for service in (*state.services, FRESH):
            env = Env(view, service, Role.SERVER)
            yield from ((inv, service) for inv, fn in self._invariants if not _holds(fn, env))

    def validate(self, state: DeviceState) -> DeviceState:
        """``state`` itself when it keeps every invariant; else InvalidState naming each broken
        invariant, its doc and the service where it breaks, with that service's instances.

        >>> from mostate import load_spec
        >>> two = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"active": True}}})
        >>> Engine(load_spec()).validate(two)
        Traceback (most recent call last):
        mostate.errors.InvalidState: the state breaks invariant one_active (At most one Active \
instance per service.) on service MMS: a (active), b (active)
        """
        problems = [
            f"invariant {inv.name}{f' ({inv.doc})' if inv.doc else ''}"
            + _describe_service(state, service)
            for inv, service in self._broken_invariants(state)
        ]
        if problems:
            raise InvalidState("the state breaks " + "; ".join(dict.fromkeys(problems)))
        return state

    def judge(
        self,
        before: DeviceState,
        request: Request,
        answer: Answer,
    ) -> tuple[Clause, ...]:
        """The obligations, invariants and properties an answer to ``request`` from ``before``
        breaks, whoever gave it (not only this spec's own steps): the check :meth:`apply`
        makes of a step, asked of any answer. ``mostate verify --complete`` replays with it the
        other answers the properties allow.

        >>> from mostate import load_spec
        >>> engine = Engine(load_spec())
        >>> add = Request.from_json(
        ...     {"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
        >>> made = engine.apply(DeviceState(), add).state
        >>> engine.judge(DeviceState(), add, Answer(Status.OK, made))
        ()
        >>> [c.name for c in engine.judge(DeviceState(), add, Answer(Status.OK, DeviceState()))]
        ['add_creates_a_blank_instance']
        """
        if self.optimise:  # its checks are specialised to the steps its own operations take
            if self._unoptimised is None:
                self._unoptimised = Engine(self.spec, optimise=False)
            return self._unoptimised.judge(before, request, answer)
        cop, env = self._prepare(before, request)
        env.declines = request.actor.role is Role.SERVER and request.confirm is Confirm.DECLINE
        env.declined = answer.declined
        view = _view_of(before, answer.state)
        return self._check(cop, env, before, view, answer.status, answer.result)

    # -- two-run properties ------------------------------------------------------------------

    def independence_violations(
        self, state: DeviceState, request: Request, first: Outcome | None = None
    ) -> tuple[Clause, ...]:
        """The independence properties this request breaks, found by flipping the field on each
        existing instance of the device in turn and comparing the two steps."""
        return independence_violations(self, state, request, first)


@attrs.frozen
class Answer:
    """An answer to a request, as :meth:`Engine.judge` weighs it: the status, the state after,
    the instance the result names (a query's; ``None`` for none) and whether the user was
    asked and declined (what a property's ``declined`` reads)."""

    status: Status
    state: DeviceState
    result: Ref | None = None
    declined: bool = False


_SHOWN = 8
"""How many instances an InvalidState message lists per service."""


def _describe_service(state: DeviceState, service: str) -> str:
    """`` on service S: a (active, locked), b (default)``: the instances an invariant judged."""
    held = state.services.get(service)
    if held is None:
        return " on a service with no instance"
    shown = []
    for name, inst in itertools.islice(held.instances.items(), _SHOWN):
        flags = [f for f, on in zip(FLAGS, flag_values(inst), strict=True) if on]
        shown.append(f"{name} ({', '.join(flags)})" if flags else name)
    more = len(held.instances) - len(shown)
    return f" on service {service}: " + ", ".join(shown) + (f" and {more} more" if more else "")


def _specialised(expr: Expr, local: bool) -> Expr:
    """A property as the engine checks it; one that uses ``the(...)`` is left as written, so
    that it evaluates (and finds ambiguous) the same ``the`` as the solver does."""
    return fold(local_frame(expr)) if local and not has_the(expr) else expr


def _stutter(expr: Expr) -> Expr:
    """A property as the engine checks it on a step that changed nothing (``the`` as written)."""
    return fold(stutter(expr)) if not has_the(expr) else expr


def _inv_clause(inv: Invariant) -> Clause:
    return Clause("invariant", inv.name, inv.loc)


def _obligation(obligation: Obligation, where: Location | None) -> Clause:
    return Clause("obligation", obligation.name, where)


def _holds(fn: Compiled, env: Env) -> bool:
    """An invariant or property whose ``the(...)`` is ambiguous does not hold."""
    try:
        return bool(fn(env))
    except Ambiguous:
        return False


def _broken(state: DeviceState, request: Request, clause: Clause, why: str) -> Transition:
    """A step the spec cannot take at all: answered 500, the state kept, the obligation named."""
    outcome = Outcome(Status.COMMAND_FAILED, state, clause, reason=why)
    return Transition(state, request, outcome, (clause,))


def _creations(env: Env, before: DeviceState, view: View) -> Iterator[Clause]:
    """The obligation :data:`CREATES_ONLY_TARGET`, broken when the step made an instance exist
    that did not and that it does not target (instances a fresh name stands for included)."""
    for service, (records, fresh) in view.changed.items():
        old = before.services.get(service)
        names = old.instances if old is not None else {}
        for name, record in (*records.items(), (FRESH, fresh)):
            exists = record.exists if isinstance(record, Raw) else True
            if exists and name not in names and env.target != (service, name):
                yield _obligation(CREATES_ONLY_TARGET, None)
                return


def _view_of(before: DeviceState, after: DeviceState) -> View:
    """``after`` as the view a step from ``before`` would leave: every service that differs is
    rewritten (an instance gone from it as a record that does not exist), so the checks read
    it as a changed state."""
    changed: dict[str, tuple[dict[str, Record], Record]] = {}
    for name in sorted(set(before.services) | set(after.services)):
        old, new = before.service(name).instances, after.service(name).instances
        if old != new:
            records: dict[str, Record] = {n: ABSENT for n in old}
            records.update(new.items())
            changed[name] = (records, ABSENT)
    return View(before, changed)


def _touched(view: View) -> Iterator[str]:
    yield from sorted(view.changed)
    if view.fresh_elsewhere is not ABSENT:
        yield FRESH


def _compile_step(step: SpecStep) -> _CompiledStep:
    """One step of an operation with its expressions compiled (:mod:`mostate.concrete`)."""
    match step:
        case Refusal():
            clause = Clause("refusal", step.name, step.loc)
            return _Refuse(clause, step.roles, step.status, compile_expr(step.when))
        case Confirmation():
            return _Confirm(Clause("confirmation", step.name, step.loc))
        case Effect():
            updates = tuple((_FIELD_INDEX[f], compile_expr(e)) for f, e in step.updates)
            return _Effect(Clause("effect", step.name, step.loc), step.over, updates)
        case _:
            assert_never(step)


def _apply_effect(step: _Effect, env: Env, view: View) -> View:
    """Give every instance of the effect's domain the next value of the fields it lists."""
    services = (
        [env.service] if step.over is Domain.SERVICE else sorted(view.services() | {env.service})
    )
    changed = dict(view.changed)
    fresh_elsewhere = view.fresh_elsewhere
    for service in services:
        names = set(view.names(service))
        if env.target is not None and env.target[0] == service:
            names.add(env.target[1])
        records: dict[str, Record] = {}
        for name in sorted(names):
            records[name] = _next_record(step, env, view, (service, name))
        changed[service] = (records, _next_record(step, env, view, (service, FRESH)))
    if step.over is Domain.DEVICE:
        fresh_elsewhere = _next_record(step, env, view, (FRESH, FRESH))
    return View(view.base, changed, fresh_elsewhere)


def _next_record(step: _Effect, env: Env, view: View, ref: Ref) -> Record:
    old = view.rec(*ref)
    values: list[Any] = list(record_values(old))
    env.vars["i"] = ref
    changed = False
    for index, fn in step.updates:
        value = fn(env)
        if value != values[index]:
            values[index] = value
            changed = True
    del env.vars["i"]
    return Raw(*values) if changed else old


def normalise(view: View) -> DeviceState:
    """The device state a view stands for: non-existing instances and their flags are dropped.

    Raises ValueError when an effect made infinitely many instances exist (a spec bug).
    """
    state = view.base
    if view.fresh_elsewhere.exists:
        raise ValueError("an effect makes every instance of every service exist")
    for service, (records, fresh) in view.changed.items():
        if fresh.exists:
            raise ValueError(f"an effect makes every instance of service {service!r} exist")
        instances = {
            name: rec if isinstance(rec, Instance) else Instance(*record_values(rec)[1:])
            for name, rec in records.items()
            if rec.exists
        }
        state = state.with_service(service, Service(FrozenMap._wrap(instances)))
    return state
