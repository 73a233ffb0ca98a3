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
from collections.abc import Iterator

import attrs

from ..engine import Engine, Transition
from ..errors import ReplayError
from ..model import DeviceState
from ..rules import Spec
from ..tidy import tidy
from ..trace import Trace
from ._z3 import Budget, Model, Sat, Session, Solver, Unknown, Unsat
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
    """

    name: str
    kind: str
    op: str
    branch: str
    verdict: Verdict
    seconds: float


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
    ) -> None:
        self.spec = spec
        self.compiled = CompiledSpec(spec)
        self.budget = budget
        self.depth = depth
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
                at = (op.name, str(branch))
                out += [(o.name, "obligation", *at) for o in obligations_for(op)]
                out += [(inv.name, "invariant", *at) for inv in self.spec.invariants]
                props = self.compiled.properties_for(op.name, branch.role)
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
            result = Solver(z, self.budget).check([z.not_(holds), *side, z.literals_distinct()])
            if isinstance(result, Sat):
                verdict: Verdict = _empty_device_violates(self.engine, inv.name)
            elif isinstance(result, Unknown):
                verdict = Undecided(result.reason)
            else:
                verdict = Proved()
            yield Check(inv.name, "invariant", "", "", verdict, time.perf_counter() - start)

    def _group(self, op: str, branch: Branch) -> Iterator[Check]:
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
            verdict = self._decide(solver, query, pre, request)
            yield Check(
                query.name,
                query.kind,
                op,
                str(branch),
                verdict,
                time.perf_counter() - began + setup,
            )

    def _decide(self, solver: Solver, query: Query, pre: SState, request: SRequest) -> Verdict:
        z = self.z
        result = solver.check([query.negated, *query.side, z.literals_distinct()])
        if isinstance(result, Unsat):
            return Proved()
        if isinstance(result, Unknown):
            return Undecided(result.reason)
        try:
            trace, transition = self._replayed(result.model, query, pre, request)
        except ReplayError as err:
            # Perhaps a finite model with no name to spare: ask again with room (see room()).
            spare = room(z, pre, self.compiled.spare, request.service)
            result = solver.check([query.negated, *query.side, z.literals_distinct(), spare])
            if isinstance(result, Unsat):
                return Proved()
            if isinstance(result, Unknown):
                return Undecided(
                    f"the solver's model did not replay ({err}); asked again with names to "
                    f"spare, the solver gave up ({result.reason})"
                )
            trace, transition = self._replayed(result.model, query, pre, request)
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
