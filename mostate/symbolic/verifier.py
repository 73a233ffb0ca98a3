"""The queries: every invariant, transition property and independence of a spec, for every
operation, actor and confirmation branch, each answered PROVED, VIOLATED or UNKNOWN.

One polarity: each query is a set of assertions that is unsatisfiable exactly when the property
holds (well-formed pre-state, invariants on every service before the step, the step, and the
negated property). A satisfying model is decoded and replayed through the engine
(:func:`mostate.symbolic.decode.confirmed`) before it becomes a :class:`Violated`; then bounded
model checking (:mod:`mostate.symbolic.bmc`) looks for a trace from the empty device, which tells
a reachable violation apart from a counterexample to induction only. Unknown is a result.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator

import attrs

from ..engine import Engine, Transition
from ..errors import ReplayError
from ..model import DeviceState
from ..rules import Spec
from ..tidy import tidy
from ..trace import Trace
from ._z3 import Bool, Budget, Model, Sat, Session, Solver, Unknown, Unsat
from .bmc import Gaveup, Reach, Searcher
from .decode import Names, confirmed, decode_request, decode_state
from .queries import Query, obligations_for, step_queries
from .transition import (
    Branch,
    CompiledSpec,
    SRequest,
    branches,
    fresh_request,
    fresh_state,
    room,
    well_formed,
)
from .values import NeedsBound, SState, empty_state

DEFAULT_BUDGET = Budget()


@attrs.frozen
class Proved:
    """The property holds for every state and request (within the bound, if one was given)."""


@attrs.frozen
class Violated:
    """A replayed counterexample: ``trace`` starts from a state that satisfies the invariants;
    ``reachable`` is a trace from the empty device to the same kind of step, when one was found
    within the depth, and ``gave_up`` says why the search for one stopped short, when it did.

    A trace of no request (the empty device itself breaks an invariant) has no ``transition``
    and is its own ``reachable`` trace.
    """

    trace: Trace
    transition: Transition | None = attrs.field(eq=False, repr=False)
    reachable: Trace | None = None
    gave_up: str | None = None


@attrs.frozen
class Undecided:
    """The solver gave up (timeout, rlimit) or the encoding needs a bound: never read as proved."""

    reason: str


Verdict = Proved | Violated | Undecided


@attrs.frozen
class Check:
    """One row of the verification table.

    ``op`` and ``branch`` are empty for the check that the empty device keeps an invariant.
    ``second`` is what a second solver answered to the same query, when one was asked
    (``verify --cross-check``: ``unsat``, ``sat`` or ``unknown (reason)``).
    """

    name: str
    kind: str
    op: str
    branch: str
    verdict: Verdict
    seconds: float
    second: str | None = None


SecondOpinion = Callable[[Check, Callable[[], str]], Check]
"""A second solver's say on a check: given the check as Z3 decided it and the query as an
SMT-LIB script (made on demand), the check as both decide it (see
:mod:`mostate.symbolic.crosscheck`)."""


class Verifier:
    """Proves one spec. ``bound`` None is the unbounded proof; ``depth`` bounds the search for a
    trace from the empty device when a check fails.

    >>> from mostate import load_spec
    >>> checks = list(Verifier(load_spec()).checks())
    >>> all(isinstance(c.verdict, Proved) for c in checks), len(checks) > 100
    (True, True)
    """

    def __init__(
        self,
        spec: Spec,
        *,
        bound: int | None = None,
        depth: int = 4,
        budget: Budget = DEFAULT_BUDGET,
        second: SecondOpinion | None = None,
    ) -> None:
        self.spec = spec
        self.compiled = CompiledSpec(spec)
        self.budget = budget
        self.depth = depth
        self.second = second
        self.z = Session(bound)

    @functools.cached_property
    def engine(self) -> Engine:
        """The engine that replays every model (built on the first one)."""
        return Engine(self.spec)

    @functools.cached_property
    def _searcher(self) -> Searcher:
        return Searcher(self.compiled, self.budget, self.depth)

    def checks(self) -> Iterator[Check]:
        """Every check, in order: the empty device, then each operation x actor x branch."""
        yield from self._initial()
        for op in self.spec.ops.values():
            for branch in branches(op):
                yield from self._group(op.name, branch)

    def count(self) -> int:
        """How many checks :meth:`checks` yields (for progress bars)."""
        return len(self.planned())

    def planned(self) -> list[tuple[str, str, str, str]]:
        """Each check :meth:`checks` will yield, as (name, kind, operation, branch), in the same
        order and without solving anything: what a run cut short reports as not decided."""
        out = [(inv.name, "invariant", "", "") for inv in self.spec.invariants]
        for op in self.spec.ops.values():
            for branch in branches(op):
                out += self._planned_group(op.name, branch)
        return out

    def _planned_group(self, name: str, branch: Branch) -> list[tuple[str, str, str, str]]:
        """The checks of one operation and branch, as :meth:`planned` lists them."""
        at = (name, str(branch))
        out = [(o.name, "obligation", *at) for o in obligations_for(self.spec.ops[name])]
        out += [(inv.name, "invariant", *at) for inv in self.spec.invariants]
        props = self.compiled.properties_for(name, branch.role)
        out += [(prop.name, "property", *at) for prop, _ in props]
        indeps = [i for i in self.spec.independences if branch.role in i.roles]
        out += [(i.name, "independence", *at) for i in indeps]
        return out

    def _initial(self) -> Iterator[Check]:
        z = self.z
        for inv, fn in self.compiled.invariants:
            start = time.perf_counter()
            bad = z.const("bad", z.svc)
            try:
                holds, side = self.compiled.invariant(z, empty_state(z), bad, fn)
            except NeedsBound as err:
                yield Check(inv.name, "invariant", "", "", Undecided(str(err)), 0.0)
                continue
            solver, asked = Solver(z, self.budget), [z.not_(holds), *side, z.literals_distinct()]
            result = solver.check(asked)
            if isinstance(result, Sat):
                verdict: Verdict = _empty_device_violates(self.engine, inv.name)
            elif isinstance(result, Unknown):
                verdict = Undecided(result.reason)
            else:
                verdict = Proved()
            check = Check(inv.name, "invariant", "", "", verdict, time.perf_counter() - start)
            yield self._second_opinion(check, solver, asked)

    def _group(self, op: str, branch: Branch) -> Iterator[Check]:
        if self.budget.expired():  # building the queries takes time too: not past the deadline
            for name, kind, _, at in self._planned_group(op, branch):
                yield Check(name, kind, op, at, Undecided(self.budget.time_up()), 0.0)
            return
        z = self.z
        start = time.perf_counter()
        try:
            solver = Solver(z, self.budget)
            pre = fresh_state(z)
            request = fresh_request(z, self.spec.ops[op], branch)
            step = self.compiled.run_step(z, pre, request)
            solver.add(
                well_formed(z, pre),
                self.compiled.invariants_everywhere(z, pre),
            )
            solver.add(*request.facts)
            queries = step_queries(self.compiled, z, step)
        except NeedsBound as err:
            yield Check("*", "encoding", op, str(branch), Undecided(str(err)), 0.0)
            return
        setup = (time.perf_counter() - start) / max(len(queries), 1)
        for query in queries:
            began = time.perf_counter()
            verdict, asked = self._decide(solver, query, pre, request)
            seconds = time.perf_counter() - began + setup
            check = Check(query.name, query.kind, op, str(branch), verdict, seconds)
            yield self._second_opinion(check, solver, asked)

    def _second_opinion(self, check: Check, solver: Solver, asked: list[Bool]) -> Check:
        """``check`` with the second solver's say on the query that decided it, if one is."""
        if self.second is None:
            return check
        return self.second(check, lambda: solver.smtlib(asked))

    def _decide(
        self, solver: Solver, query: Query, pre: SState, request: SRequest
    ) -> tuple[Verdict, list[Bool]]:
        """The verdict, and the facts of the query that decided it (with names to spare when
        the first model did not replay)."""
        z = self.z
        asked = [query.negated, *query.side, z.literals_distinct()]
        result = solver.check(asked)
        if isinstance(result, Unsat):
            return Proved(), asked
        if isinstance(result, Unknown):
            return Undecided(result.reason), asked
        try:
            trace, transition = self._replayed(result.model, query, pre, request)
        except ReplayError as err:
            # Perhaps a finite model with no name to spare: ask again with room (see room()).
            asked = [*asked, room(z, pre, self.compiled.spare, request.service)]
            result = solver.check(asked)
            if isinstance(result, Unsat):
                return Proved(), asked
            if isinstance(result, Unknown):
                return Undecided(
                    f"the solver's model did not replay ({err}); asked again with names to "
                    f"spare, the solver gave up ({result.reason})"
                ), asked
            trace, transition = self._replayed(result.model, query, pre, request)
        return self._reached(query, request, trace, transition), asked

    def _reached(
        self, query: Query, request: SRequest, trace: Trace, transition: Transition
    ) -> Violated:
        """The violation, with a trace to it from the empty device when one is found."""
        if self.depth == 0:
            return Violated(trace, transition)
        reach = self._searcher.search(query.name, request.op, request.branch)
        if isinstance(reach, Gaveup):
            return Violated(trace, transition, gave_up=f"at depth {reach.depth}: {reach.reason}")
        reached = tidy(reach.trace, self.engine) if isinstance(reach, Reach) else None
        return Violated(trace, transition, reached)

    def _replayed(
        self, model: Model, query: Query, pre: SState, request: SRequest
    ) -> tuple[Trace, Transition]:
        names = Names(self.z, model)
        trace = Trace(decode_state(names, pre), (decode_request(names, request),), query.name)
        confirmed(trace, self.engine)
        readable = tidy(trace, self.engine)  # the same violation, without what plays no part
        return readable, readable.confirm(self.engine)

    def checks_for(self, op: str) -> Iterator[Check]:
        """The checks of one operation only (every actor and branch of it), as :meth:`checks`
        makes them; for callers that changed one operation and need not re-prove the others.

        >>> from mostate import load_spec
        >>> rows = list(Verifier(load_spec(), depth=0).checks_for("set_locked"))
        >>> {c.op for c in rows}, all(isinstance(c.verdict, Proved) for c in rows)
        ({'set_locked'}, True)
        """
        for branch in branches(self.spec.ops[op]):
            yield from self._group(op, branch)


def _empty_device_violates(engine: Engine, name: str) -> Violated:
    """The empty device breaks an invariant: a trace of no request, confirmed by the engine."""
    trace = Trace(DeviceState(), (), name)
    trace.confirm_start(engine)
    return Violated(trace, None, trace)
