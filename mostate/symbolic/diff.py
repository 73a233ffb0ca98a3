"""The semantic difference between two specs, per operation and actor branch.

Two specs are *equivalent* on an operation and branch (user; server; server/decline when either
spec's operation asks for confirmation) when, from every state a device can be in under both,
every request to it gets the same outcome from both, for any number of instances. The outcome is
the one a device answers (``Engine.apply``), the run-time check included: a step that breaks an
obligation, an invariant or a property is answered 500 with the state kept
(:mod:`mostate.symbolic.monitor`), so a spec that adds an invariant or a property
differs where the addition refuses a step. "A state a device can be in under both" is a
well-formed state (no flags or parameters on a missing instance, finite parameter maps) that
keeps the invariants of A and the invariants of B on every service. The next state is the one
the engine keeps (:func:`mostate.symbolic.transition.normalise`: an instance that does not
exist has no flags), and a result is compared as the engine shows it (an instance's record, or a
name). Independences are two-run claims that no single answer shows: ``mostate verify`` checks
them.

The states themselves are compared too (the row :data:`STATES`, when every operation is): a
well-formed state that one spec's invariants allow and the other's forbid is a difference, with
the state as its :class:`StateWitness`, replayed by both engines' ``state_violations``.

Each comparison is one query in the one polarity: a fresh pre-state, one request whose terms both
specs read, both symbolic steps (:meth:`CompiledSpec.run_step`), and "status, result or next
state differ" (:func:`mostate.symbolic.queries.differ`); unsatisfiable means
:class:`Equivalent`. A model is decoded and replayed through both engines (``Engine.apply``)
before it becomes :class:`Different`; a replay that shows no difference raises
:class:`~mostate.errors.ReplayError` (a bug in mostate, never a result). The solver giving up is
:class:`~mostate.symbolic.verifier.Undecided`, never read as equivalent. An operation whose
request shape (arguments, target, result type) differs, or that only one spec has, is
:class:`Different` without a solver call. This is Cedar's policy-equivalence question asked of
two versions of a state machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from ..engine import Engine
from ..errors import ReplayError
from ..model import DeviceState, Outcome, Request, Service
from ..rules import Operation, Spec
from ..suggest import closest, did_you_mean
from ._z3 import Bool, Budget, Sat, Session, Solver, Unknown, Unsat
from .decode import Names, decode_request, decode_state
from .monitor import Guard, guards, passes
from .queries import differ
from .transition import (
    Branch,
    CompiledSpec,
    SStep,
    branches,
    fresh_request,
    fresh_state,
    well_formed,
)
from .values import NeedsBound, SState
from .verifier import DEFAULT_BUDGET, Undecided

BEHAVIOUR = "behaviour"
SIGNATURE = "signature"
ONLY_IN_A = "only in A"
ONLY_IN_B = "only in B"
ANY_BRANCH = "*"
"""The branch of a row decided without the solver (the operation as a whole)."""
STATES = "(states)"
"""The ``op`` of the row that compares the states each spec's invariants allow."""


@attrs.frozen
class Witness:
    """A state and a request on which the two specs disagree, with both engines' outcomes;
    ``differs`` names what differs: ``status``, ``result`` and/or ``state``."""

    before: DeviceState
    request: Request
    under_a: Outcome
    under_b: Outcome
    differs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The witness as JSON objects (states, request and both outcomes)."""
        return {
            "before": self.before.to_json(),
            "request": self.request.to_json(),
            "differs": list(self.differs),
            "a": self.under_a.to_json(),
            "b": self.under_b.to_json(),
        }


@attrs.frozen
class StateWitness:
    """A well-formed state that one spec's invariants allow and the other's forbid: the
    invariants each spec's engine finds broken in it (one of the two is empty)."""

    state: DeviceState
    broken_in_a: tuple[str, ...]
    broken_in_b: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The state, and the invariants each spec finds broken in it."""
        return {
            "state": self.state.to_json(),
            "a_breaks": list(self.broken_in_a),
            "b_breaks": list(self.broken_in_b),
        }


@attrs.frozen
class Equivalent:
    """Every request to the operation, as this branch, does the same under both specs."""


@attrs.frozen
class Different:
    """The specs disagree: on a replayed ``witness`` (``reason`` ``behaviour``), or on the
    operation's request shape (``signature``), or one spec lacks it (``only in A``/``only in B``).
    """

    reason: str
    witness: Witness | StateWitness | None = None


DiffVerdict = Equivalent | Different | Undecided


@attrs.frozen
class OpDiff:
    """One row of the comparison: an operation, a branch (``*`` for the whole operation) and the
    verdict, with the seconds it took."""

    op: str
    branch: str
    verdict: DiffVerdict
    seconds: float = attrs.field(eq=False, default=0.0)


def diff_specs(
    a: Spec,
    b: Spec,
    *,
    budget: Budget = DEFAULT_BUDGET,
    ops: Iterable[str] | None = None,
    monitored: bool = True,
) -> list[OpDiff]:
    """Compare the states ``a`` and ``b`` allow and every operation of both (or only the
    operations named in ``ops``, then without the states row), in ``a``'s order then ``b``'s;
    raises ValueError for a name in ``ops`` that neither spec has.

    ``monitored=False`` compares the raw steps instead of the answers (no run-time check): the
    same verdicts, more cheaply, when both specs are proved to keep every invariant and property
    of the operations compared (``mostate mutate`` asks so of a mutant no check kills).

    >>> from mostate import load_spec
    >>> [(r.op, r.branch, r.verdict) for r in diff_specs(load_spec(), load_spec(), ops=["get"])]
    [('get', 'user', Equivalent()), ('get', 'server', Equivalent()), \
('get', 'server/decline', Equivalent())]
    """
    return list(SpecDiff(a, b, budget, monitored=monitored).rows(ops))


def signature(op: Operation) -> tuple[object, ...]:
    """What the request and answer of an operation look like: arguments (with their types and
    whether they may be left out), whether it names a target, and its result type.

    >>> from mostate import load_spec
    >>> signature(load_spec().ops["get"])
    ((), True, <Type.INSTANCE: 'instance'>)
    """
    return (op.args, op.has_target, op.result_type)


class SpecDiff:
    """One comparison session: both specs compiled once into one Z3 session, one symbolic
    pre-state under both specs' invariants, and one solver that each query pushes onto.

    >>> from mostate import load_spec
    >>> session = SpecDiff(load_spec(), load_spec())
    >>> [str(r.verdict) for r in session.rows(["in_use"])]
    ['Equivalent()', 'Equivalent()', 'Equivalent()']
    """

    def __init__(
        self, a: Spec, b: Spec, budget: Budget = DEFAULT_BUDGET, *, monitored: bool = True
    ) -> None:
        self.a, self.b = a, b
        self.engines = (Engine(a), Engine(b))
        self.budget = budget
        self.monitored = monitored
        self.z = Session()
        self._ready: tuple[CompiledSpec, CompiledSpec, SState, Solver] | NeedsBound | None = None

    def names(self, ops: Iterable[str] | None = None) -> list[str]:
        """The operations to compare: ``a``'s in order, then those only ``b`` has."""
        every = list(self.a.ops) + [name for name in self.b.ops if name not in self.a.ops]
        if ops is None:
            return every
        wanted = set(ops)
        missing = sorted(wanted - set(every))
        if missing:
            near = did_you_mean(closest(missing[0], every))
            raise ValueError(f"no operation {missing[0]!r} in either spec{near}")
        return [name for name in every if name in wanted]

    def rows(self, ops: Iterable[str] | None = None) -> Iterator[OpDiff]:
        """The states row (when every operation is compared), then one row per operation and
        branch (one row for an operation decided by its shape)."""
        if ops is None:
            start = time.perf_counter()
            verdict = self.compare_states()
            yield OpDiff(STATES, ANY_BRANCH, verdict, time.perf_counter() - start)
        for name in self.names(ops):
            op_a, op_b = self.a.ops.get(name), self.b.ops.get(name)
            if op_a is None or op_b is None:
                yield OpDiff(name, ANY_BRANCH, Different(ONLY_IN_B if op_a is None else ONLY_IN_A))
            elif signature(op_a) != signature(op_b):
                yield OpDiff(name, ANY_BRANCH, Different(SIGNATURE))
            else:
                for branch in max(branches(op_a), branches(op_b), key=len):
                    start = time.perf_counter()
                    verdict = self.compare(op_a, branch)
                    yield OpDiff(name, str(branch), verdict, time.perf_counter() - start)

    def compare(self, op: Operation, branch: Branch) -> DiffVerdict:
        """Equivalent, Different (with a replayed witness) or Undecided, for one branch of an
        operation both specs have with the same signature."""
        if self.budget.expired():
            return Undecided(self.budget.time_up())
        ready = self._prepare()
        if isinstance(ready, NeedsBound):
            return Undecided(str(ready))
        compiled_a, compiled_b, pre, solver = ready
        z = self.z
        request = fresh_request(z, op, branch)
        try:
            raw_a = compiled_a.run_step(z, pre, request)
            # The same terms, read as a request to B's operation (which has the same signature).
            raw_b = compiled_b.run_step(z, pre, attrs.evolve(request, op=self.b.ops[op.name]))
            questions = self._questions(compiled_a, compiled_b, raw_a, raw_b)
        except NeedsBound as err:
            return Undecided(str(err))
        shared = [*raw_a.side, *raw_b.side, *request.facts, z.literals_distinct()]
        for facts in questions:
            result = solver.check([*facts, *shared])
            if isinstance(result, Unknown):
                return Undecided(result.reason)
            if isinstance(result, Sat):
                names = Names(z, result.model)
                before, asked = decode_state(names, pre), decode_request(names, request)
                return Different(BEHAVIOUR, replay(self.engines, before, asked, self.monitored))
        return Equivalent()

    def _questions(
        self, compiled_a: CompiledSpec, compiled_b: CompiledSpec, raw_a: SStep, raw_b: SStep
    ) -> list[list[Bool]]:
        """The queries whose models are requests the two specs answer differently, each
        unsatisfiable when there is none: one spec's step passes its run-time check and the
        other's breaks one of its guards (one answers 500, the other not); or both pass and the
        steps differ (when both break a guard, both answer 500 with the state kept).

        Asked guard by guard, as ``verify`` asks property by property, so that each query is a
        small one. Where the operation has the same steps in both specs (the raw steps are one
        function of the state), a guard both specs have holds in both or in neither, and only
        the guards one spec adds are asked about; with no such guard, nothing is."""
        z = self.z
        same_steps = raw_a.request.op == raw_b.request.op
        if not self.monitored:
            return (
                []
                if same_steps
                else [[differ(z, raw_a, raw_b, None, raw_a.request.op.result_type)]]
            )
        guards_a, guards_b = guards(compiled_a, z, raw_a), guards(compiled_b, z, raw_b)
        out = _broken_by_one(z, guards_a, guards_b, same_steps)
        out += _broken_by_one(z, guards_b, guards_a, same_steps)
        if not same_steps:
            ok_a, side_a = passes(z, guards_a)
            ok_b, side_b = passes(z, guards_b)
            differs = differ(z, raw_a, raw_b, None, raw_a.request.op.result_type)
            out.append([differs, ok_a, ok_b, *side_a, *side_b])
        return out

    def compare_states(self) -> DiffVerdict:
        """Equivalent when the two specs' invariants allow the same well-formed states, else
        Different with a state one allows and the other forbids."""
        z = self.z
        try:
            compiled_a, compiled_b = CompiledSpec(self.a), CompiledSpec(self.b)
            state = fresh_state(z, "_states")
            allowed_a = compiled_a.invariants_everywhere(z, state)
            allowed_b = compiled_b.invariants_everywhere(z, state)
        except NeedsBound as err:
            return Undecided(str(err))
        one_not_other = z.not_(z.eq(allowed_a, allowed_b))
        facts = [well_formed(z, state), one_not_other, z.literals_distinct()]
        result = Solver(z, self.budget).check(facts)
        if isinstance(result, Unsat):
            return Equivalent()
        if isinstance(result, Unknown):
            return Undecided(result.reason)
        found = decode_state(Names(z, result.model), state)
        return Different(STATES, replay_state(self.engines, found))

    def _prepare(self) -> tuple[CompiledSpec, CompiledSpec, SState, Solver] | NeedsBound:
        """Compile both specs and assert the pre-state's facts, once per session."""
        if self._ready is None:
            z = self.z
            try:
                compiled_a, compiled_b = CompiledSpec(self.a), CompiledSpec(self.b)
                pre = fresh_state(z)
                solver = Solver(z, self.budget)
                solver.add(
                    well_formed(z, pre),
                    compiled_a.invariants_everywhere(z, pre),
                    compiled_b.invariants_everywhere(z, pre),
                )
                self._ready = (compiled_a, compiled_b, pre, solver)
            except NeedsBound as err:
                self._ready = err
        return self._ready


def _broken_by_one(
    z: Session, passing: list[Guard], breaking: list[Guard], same_steps: bool
) -> list[list[Bool]]:
    """A query per guard of ``breaking``: every guard of ``passing`` holds on its step and that
    one does not on the other (one guard of both specs is left out when the steps are the same:
    it holds on both or on neither)."""
    ok, side = passes(z, passing)
    keys = {g.key for g in passing}
    return [
        [ok, *side, z.not_(g.holds), *g.side]
        for g in breaking
        if not (same_steps and g.key in keys)
    ]


def replay_state(engines: tuple[Engine, Engine], state: DeviceState) -> StateWitness:
    """The invariants each engine finds broken in ``state``; raises ReplayError unless exactly
    one of them allows it (the solver saw a difference the engines do not: a bug in mostate).

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> try:
    ...     replay_state((engine, engine), DeviceState())
    ... except ReplayError as err:
    ...     print(str(err)[:40])
    both engines allow the state alike ({})
    """
    witness = _state_witness(engines, state)
    if witness is None:
        raise ReplayError(
            f"both engines allow the state alike ({state.to_json()}) where the solver found "
            f"that one spec's invariants allow it and the other's do not"
        )
    return _smaller(engines, witness)


def _state_witness(engines: tuple[Engine, Engine], state: DeviceState) -> StateWitness | None:
    """What each engine finds broken in ``state``, when exactly one of them allows it."""
    broken_a = tuple(c.name for c in engines[0].state_violations(state))
    broken_b = tuple(c.name for c in engines[1].state_violations(state))
    return None if bool(broken_a) == bool(broken_b) else StateWitness(state, broken_a, broken_b)


def _smaller(engines: tuple[Engine, Engine], witness: StateWitness) -> StateWitness:
    """The witness with every instance taken out that the difference does not need (a
    solver's model holds instances that play no part), one at a time, each kept out only when
    the engines still tell the state apart."""
    for service, held in witness.state.services.items():
        for name in held.instances:
            instances = witness.state.service(service).instances
            smaller = witness.state.with_service(service, Service(instances.remove(name)))
            witness = _state_witness(engines, smaller) or witness
    return witness


def replay(
    engines: tuple[Engine, Engine], before: DeviceState, request: Request, monitored: bool = True
) -> Witness:
    """Run one request through both engines (as a device answers it, the run-time check
    included; ``monitored=False``: the raw steps); raises ReplayError when the outcomes agree
    (the solver saw a difference the engines do not: a bug in mostate).

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> r = Request.from_json({"actor": "user", "op": "get_active", "service": "S1"})
    >>> try:
    ...     replay((engine, engine), DeviceState(), r)
    ... except ReplayError as err:
    ...     print(str(err)[:44])
    both engines answer get_active as user alike
    """
    if monitored:
        under_a, under_b = engines[0].apply(before, request), engines[1].apply(before, request)
    else:
        under_a = engines[0].evaluate(before, request).outcome
        under_b = engines[1].evaluate(before, request).outcome
    aspects = (
        ("status", under_a.status, under_b.status),
        ("result", under_a.result, under_b.result),
        ("state", under_a.state, under_b.state),
    )
    differs = tuple(name for name, x, y in aspects if x != y)
    if not differs:
        raise ReplayError(
            f"both engines answer {request.op} as {request.actor.role.value} alike "
            f"(status {int(under_a.status)}) where the solver found a difference; "
            f"before: {before.to_json()}, request: {request.to_json()}"
        )
    return Witness(before, request, under_a, under_b, differs)
