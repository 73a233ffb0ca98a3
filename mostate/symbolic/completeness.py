"""Do the properties decide every answer? A completeness check of a spec's properties.

A proof says that the spec's steps keep every property; it does not say that the properties
pin the steps down. Where they do not, a device could answer otherwise and still keep every
property: an operation that also clears a flag nobody mentions, a status nobody restricts, a
query result nothing names. :func:`check_completeness` asks, for each operation and actor
branch (as ``verify`` does), whether some state that keeps the invariants and some request have
*another* answer than the spec's that keeps every invariant and property just as well.

The other answer is left to the solver within what any answer is (a device's engine gives no
other): a status among those the spec uses (200, 215 and its refusals' statuses), a well-formed
next state (no flags on a missing instance, finite parameter maps) that creates no instance but
the target (the obligation ``creates_only_target``), and, for a query, a result on status 200
only (else none): any instance's record, or a name, which names an instance of the service
asked about (an answer shows the name alone). Its ``declined`` (what a property reads) holds
when the request carries the user's "no" and the answer is 215. Both answers must keep every
obligation, every invariant on every service and every property of the operation and role; they
must differ in status, next state or result, compared as ``mostate diff`` compares them
(:func:`.queries.differ`).

One polarity, as everywhere: unsatisfiable is :class:`Determined`. A model is decoded into a
:class:`Gap` (a state, a request, the spec's answer and the other one) and replayed: the engine
answers the spec's (``Engine.apply``) and judges the other (``Engine.judge``), which must keep
everything and differ; a replay that disagrees raises :class:`~mostate.errors.ReplayError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs

from ..engine import Answer, Engine
from ..errors import ReplayError
from ..model import Clause, Confirm, DeviceState, Outcome, Request, Status
from ..rules import Confirmation, Operation, Refusal, Spec, Type
from ._z3 import Bool, Budget, Int, Model, Session, Solver, Unknown, Unsat
from .decode import Names, decode_request, decode_state
from .queries import creates_another, differ, keeps_everything
from .transition import (
    Branch,
    CompiledSpec,
    SRequest,
    SStep,
    branches,
    fresh_request,
    fresh_state,
    room,
    well_formed,
)
from .values import NeedsBound, SRef, SState, none_ref
from .verifier import DEFAULT_BUDGET, Undecided

OTHER = Clause("completeness", "another answer every property allows")
"""The clause an other answer is shown with (no step of the spec gave it)."""


@attrs.frozen
class Determined:
    """The properties and invariants leave one answer to every request of the operation and
    branch from every state that keeps the invariants: the spec's."""


@attrs.frozen
class Gap:
    """From ``before``, ``request`` gets ``spec``'s answer, and ``other`` keeps every property
    and invariant as well; ``differs`` names what differs (``status``, ``result``, ``state``)."""

    before: DeviceState
    request: Request
    spec: Outcome
    other: Outcome
    differs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The gap as JSON objects: the state, the request and both answers."""
        return {
            "before": self.before.to_json(),
            "request": self.request.to_json(),
            "differs": list(self.differs),
            "spec": self.spec.to_json(),
            "other": self.other.to_json(),
        }


CompleteVerdict = Determined | Gap | Undecided


@attrs.frozen
class Completeness:
    """One row: an operation, a branch, the verdict and the seconds it took."""

    op: str
    branch: str
    verdict: CompleteVerdict
    seconds: float = attrs.field(eq=False, default=0.0)


def check_completeness(spec: Spec, *, budget: Budget = DEFAULT_BUDGET) -> list[Completeness]:
    """Whether the properties and invariants decide every answer, per operation and branch.

    >>> from mostate import load_spec
    >>> rows = check_completeness(load_spec())
    >>> [(r.op, r.branch, type(r.verdict).__name__) for r in rows][:2]
    [('add', 'user', 'Determined'), ('add', 'server', 'Determined')]
    """
    return list(_Completeness(spec, budget).rows())


def undecided_rows(spec: Spec, reason: str) -> list[Completeness]:
    """Every row of :func:`check_completeness`, left undecided for ``reason`` (a run cut
    short), without building a query.

    >>> from mostate import load_spec
    >>> undecided_rows(load_spec(), "time limit of 1 s reached")[0].verdict
    Undecided(reason='time limit of 1 s reached')
    """
    return [
        Completeness(op.name, str(branch), Undecided(reason))
        for op in spec.ops.values()
        for branch in branches(op)
    ]


def statuses(spec: Spec) -> tuple[int, ...]:
    """The statuses a device answers under ``spec``: 200, 215 when some operation asks for a
    confirmation, and every refusal's status.

    >>> from mostate import load_spec
    >>> statuses(load_spec())
    (200, 215, 404, 418, 425)
    """
    steps = [step for op in spec.ops.values() for step in op.steps]
    out = {int(Status.OK)} | {int(s.status) for s in steps if isinstance(s, Refusal)}
    if any(isinstance(s, Confirmation) for s in steps):
        out.add(int(Status.NOT_EXECUTED))
    return tuple(sorted(out))


class _Completeness:
    """One run: the compiled spec, one session, the engine that replays every gap."""

    def __init__(self, spec: Spec, budget: Budget) -> None:
        self.spec = spec
        self.budget = budget
        self.z = Session()
        self.engine = Engine(spec)
        self.statuses = statuses(spec)

    def rows(self) -> Iterator[Completeness]:
        try:
            compiled = CompiledSpec(self.spec)
        except NeedsBound as err:
            for op in self.spec.ops.values():
                for branch in branches(op):
                    yield Completeness(op.name, str(branch), Undecided(str(err)))
            return
        for op in self.spec.ops.values():
            for branch in branches(op):
                start = time.perf_counter()
                verdict = self._decide(compiled, op, branch)
                yield Completeness(op.name, str(branch), verdict, time.perf_counter() - start)

    def _decide(self, compiled: CompiledSpec, op: Operation, branch: Branch) -> CompleteVerdict:
        if self.budget.expired():
            return Undecided(self.budget.time_up())
        z = self.z
        try:
            pre = fresh_state(z, "_pre")
            request = fresh_request(z, op, branch, "_c")
            spec_step = compiled.run_step(z, pre, request)
            other = self._other(pre, request)
            facts = [
                well_formed(z, pre),
                compiled.invariants_everywhere(z, pre),
                *request.facts,
                *spec_step.side,
                keeps_everything(compiled, z, spec_step),
                *self._answer_facts(other),
                keeps_everything(compiled, z, other),
                differ(z, spec_step, other, None, op.result_type),
                z.literals_distinct(),
            ]
        except NeedsBound as err:
            return Undecided(str(err))
        solver = Solver(z, self.budget)
        result = solver.check(facts)
        if isinstance(result, Unsat):
            return Determined()
        if isinstance(result, Unknown):
            return Undecided(result.reason)
        try:
            return self._gap(result.model, pre, request, other)
        except ReplayError:
            # A finite model with no name to spare (see room()): ask again with room.
            spare = room(z, pre, compiled.spare, request.service)
            again = solver.check([*facts, spare])
            if isinstance(again, Unsat):
                return Determined()
            if isinstance(again, Unknown):
                return Undecided(again.reason)
            return self._gap(again.model, pre, request, other)

    def _other(self, pre: SState, request: SRequest) -> SStep:
        """Another answer, left to the solver: a status, a next state and a result."""
        z, op = self.z, request.op
        status = z.const("other_status", z.int)
        post = fresh_state(z, "_other")
        result = none_ref(z)
        if op.is_query:
            # A record may be any instance's; a name is shown alone, so it names an instance
            # of the service asked about, as the engine's answer does.
            some, inst = Bool(z.const("other_some", z.bool)), z.const("other_inst", z.inst)
            named = op.result_type is not Type.INSTANCE
            service = request.service if named else z.const("other_svc", z.svc)
            result = SRef(some, service, inst)
        declines = request.branch.confirm is Confirm.DECLINE
        declined = z.and_(z.bool_val(declines), z.eq(status, z.int_val(int(Status.NOT_EXECUTED))))
        return SStep(request, pre, post, Int(status), result, declined, [], z.false)

    def _answer_facts(self, other: SStep) -> list[Bool]:
        """What every answer is: a status the spec uses, a well-formed next state that creates
        no instance but the target, and a result only on 200."""
        z = self.z
        ok = z.eq(other.status, z.int_val(int(Status.OK)))
        return [
            z.or_(*[z.eq(other.status, z.int_val(s)) for s in self.statuses]),
            well_formed(z, other.post),
            z.not_(creates_another(z, other)),
            z.implies(other.result.some, ok),
        ]

    def _gap(self, model: Model, pre: SState, request: SRequest, other: SStep) -> Gap:
        """The model's two answers, replayed: the engine's own, and the other one judged."""
        names = Names(self.z, model)
        before, asked = decode_state(names, pre), decode_request(names, request)
        spec_answer = self.engine.apply(before, asked)
        status = Status(model.int(other.status))
        after = decode_state(names, other.post)
        ref = None
        if model.bool(other.result.some):
            ref = (names.service(other.result.svc), names.instance(other.result.inst))
        answer = Answer(status, after, ref, model.bool(other.declined))
        broken = self.engine.judge(before, asked, answer)
        if broken:
            raise ReplayError(
                f"the other answer breaks {broken[0]}, which the solver found it keeps; "
                f"before: {before.to_json()}, request: {asked.to_json()}"
            )
        shown = _render(request.op, answer)
        return _with_differences(before, asked, spec_answer, shown)


def _render(op: Operation, answer: Answer) -> Outcome:
    """The other answer as an outcome: an instance result shown as its record, as the engine
    shows one, a name result by its name."""
    result: Any = None
    if answer.result is not None:
        service, name = answer.result
        result = answer.state.instance(service, name) if op.result_type is Type.INSTANCE else name
    return Outcome(answer.status, answer.state, OTHER, result)


def _with_differences(before: DeviceState, request: Request, spec: Outcome, other: Outcome) -> Gap:
    """The gap, naming what differs; ReplayError when the two answers are the same."""
    aspects = (
        ("status", spec.status, other.status),
        ("result", spec.result, other.result),
        ("state", spec.state, other.state),
    )
    differs = tuple(name for name, a, b in aspects if a != b)
    if not differs:
        raise ReplayError(
            f"the other answer to {request.op} is the spec's own (status {int(spec.status)}) "
            f"where the solver found them different; before: {before.to_json()}"
        )
    return Gap(before, request, spec, other, differs)
