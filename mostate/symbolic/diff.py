"""The semantic difference between two specs, per operation and actor branch.

Two specs are *equivalent* on an operation and branch (user; server; server/decline when either
spec's operation asks for confirmation) when, from every state a device can be in under both,
every request to it gets the same status, the same result and the same next state from both,
for any number of instances. "A state a device can be in under both" is a well-formed state
(no flags or parameters on a missing instance, finite parameter maps) that keeps the invariants
of A and the invariants of B on every service: the states both specs promise to stay in. The
next state is the one the engine keeps (:func:`mostate.symbolic.transition.normalise`: an
instance that does not exist has no flags), and a result is compared as the engine shows it (an
instance's record, or a name). Properties and independences are claims about the steps, not
steps, so they take no part: ``mostate verify`` checks them.

Each comparison is one query in the one polarity: a fresh pre-state, one request whose terms both
specs read, both symbolic steps (:meth:`CompiledSpec.run_step`), and "status, result or next
state differ" (:func:`mostate.symbolic.queries.differ`); unsatisfiable means
:class:`Equivalent`. A model is decoded and replayed through both engines (``Engine.evaluate``)
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
from ..model import DeviceState, Outcome, Request
from ..rules import Operation, Spec
from ..suggest import closest, did_you_mean
from ._z3 import Budget, Sat, Session, Solver, Unknown, Unsat
from .decode import Names, decode_request, decode_state
from .queries import differ
from .transition import Branch, CompiledSpec, branches, fresh_request, fresh_state, well_formed
from .values import NeedsBound, SState
from .verifier import DEFAULT_BUDGET, Undecided

BEHAVIOUR = "behaviour"
SIGNATURE = "signature"
ONLY_IN_A = "only in A"
ONLY_IN_B = "only in B"
ANY_BRANCH = "*"
"""The branch of a row decided without the solver (the operation as a whole)."""


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
class Equivalent:
    """Every request to the operation, as this branch, does the same under both specs."""


@attrs.frozen
class Different:
    """The specs disagree: on a replayed ``witness`` (``reason`` ``behaviour``), or on the
    operation's request shape (``signature``), or one spec lacks it (``only in A``/``only in B``).
    """

    reason: str
    witness: Witness | None = None


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
    a: Spec, b: Spec, *, budget: Budget = DEFAULT_BUDGET, ops: Iterable[str] | None = None
) -> list[OpDiff]:
    """Compare every operation of ``a`` and ``b`` (or only those named in ``ops``), in ``a``'s
    order then ``b``'s; raises ValueError for a name in ``ops`` that neither spec has.

    >>> from mostate import load_spec
    >>> [(r.op, r.branch, r.verdict) for r in diff_specs(load_spec(), load_spec(), ops=["get"])]
    [('get', 'user', Equivalent()), ('get', 'server', Equivalent()), \
('get', 'server/decline', Equivalent())]
    """
    return list(SpecDiff(a, b, budget).rows(ops))


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

    def __init__(self, a: Spec, b: Spec, budget: Budget = DEFAULT_BUDGET) -> None:
        self.a, self.b = a, b
        self.engines = (Engine(a), Engine(b))
        self.budget = budget
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
        """One row per operation and branch (one row for an operation decided by its shape)."""
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
        ready = self._prepare()
        if isinstance(ready, NeedsBound):
            return Undecided(str(ready))
        compiled_a, compiled_b, pre, solver = ready
        z = self.z
        request = fresh_request(z, op, branch)
        try:
            step_a = compiled_a.run_step(z, pre, request)
            # The same terms, read as a request to B's operation (which has the same signature).
            step_b = compiled_b.run_step(z, pre, attrs.evolve(request, op=self.b.ops[op.name]))
        except NeedsBound as err:
            return Undecided(str(err))
        differs = differ(z, step_a, step_b, None, op.result_type)
        facts = [differs, *step_a.side, *step_b.side, *request.facts, z.literals_distinct()]
        result = solver.check(facts)
        if isinstance(result, Unsat):
            return Equivalent()
        if isinstance(result, Unknown):
            return Undecided(result.reason)
        assert isinstance(result, Sat)
        names = Names(z, result.model)
        witness = replay(self.engines, decode_state(names, pre), decode_request(names, request))
        return Different(BEHAVIOUR, witness)

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


def replay(engines: tuple[Engine, Engine], before: DeviceState, request: Request) -> Witness:
    """Run one request through both engines; raises ReplayError when the outcomes agree (the
    solver saw a difference the engines do not: a bug in mostate).

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> r = Request.from_json({"actor": "user", "op": "get_active", "service": "S1"})
    >>> try:
    ...     replay((engine, engine), DeviceState(), r)
    ... except ReplayError as err:
    ...     print(str(err)[:44])
    both engines answer get_active as user alike
    """
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
