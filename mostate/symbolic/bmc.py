"""Bounded model checking from the empty device: is a violation reachable, or only a
counterexample to induction?

The path is unrolled one request at a time. Each prefix step is any operation x actor x branch
(a selector picks one) that the engine would let through (it breaks nothing, so ``Engine.apply``
and ``mostate run`` take it as the trace says), and the state after it is a fresh set of
functions defined, for every service and instance, as the normalised state the chosen step
leaves; the last step is the operation and branch of the failed check and must break the same
property. The shortest trace found (up to ``depth`` requests) is decoded and replayed.

The search is bounded in breadth too, so that its formulas need no quantifier: ``depth``
instance names (a trace of ``depth`` requests adds at most that many) and two services.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import attrs

from ..engine import Engine
from ..model import Confirm, DeviceState, Request
from ..rules import Confirmation, Effect, Field, Operation
from ..trace import Trace
from ._z3 import Bool, Budget, Int, Model, Sat, Session, Solver, Unknown
from .decode import Names, confirmed, decode_request
from .queries import keeps_everything, step_queries
from .transition import (
    Branch,
    CompiledSpec,
    SRequest,
    SStep,
    branches,
    fresh_request,
    fresh_state,
    normalise,
)
from .values import SState, empty_state

SERVICES = 2
"""Services in a searched trace: the request's own and one other (enough for every property
that compares a service with the others)."""


@attrs.frozen
class Reach:
    """A trace from the empty device whose last step breaks the property (replayed)."""

    trace: Trace


@attrs.frozen
class NotReached:
    """No trace of at most ``depth`` requests breaks it (a counterexample to induction only)."""

    depth: int


@attrs.frozen
class Gaveup:
    """The solver gave up (timeout, rlimit) looking for a trace of ``depth`` requests."""

    reason: str
    depth: int


Search = Reach | NotReached | Gaveup


@attrs.frozen(eq=False)
class Goal:
    """What the last request of a searched trace must do: a request to ``op`` as ``branch``
    whose symbolic step satisfies every fact ``facts`` gives (a rule firing, a premise)."""

    op: Operation
    branch: Branch
    facts: Callable[[Session, SStep], Sequence[Bool]]


@attrs.frozen(eq=False)
class _Prefix:
    selector: Int
    choices: tuple[SRequest, ...]


class Searcher:
    """Searches traces from the empty device for one spec (one per verification run)."""

    def __init__(
        self, compiled: CompiledSpec, budget: Budget, depth: int, services: int = SERVICES
    ) -> None:
        self.compiled = compiled
        self.engine = Engine(compiled.spec)
        self.budget = budget
        self.depth = depth
        self.services = services

    def search(self, name: str, op: Operation, branch: Branch) -> Search:
        """The shortest trace (at most ``depth`` requests) whose last request, to ``op`` as
        ``branch``, breaks ``name``."""
        z = Session(bound=max(self.depth, 1), services=self.services)
        solver = Solver(z, self.budget)
        state, prefix = empty_state(z), list[_Prefix]()
        for length in range(1, self.depth + 1):
            if self.budget.expired():
                return Gaveup(self.budget.time_up(), length)
            req = fresh_request(z, op, branch, f"@{length}")
            step = self.compiled.run_step(z, state, req)
            query = next(q for q in step_queries(self.compiled, z, step) if q.name == name)
            # As in every proof, the step starts from a state that keeps the invariants (the
            # empty device breaking one is a violation of no request, reported apart).
            facts = [query.negated, *query.side, *req.facts, z.literals_distinct()]
            facts.append(self.compiled.invariants_everywhere(z, state))
            result = solver.check(facts)
            if isinstance(result, Sat):
                return Reach(self._decode(z, result.model, prefix, req, name))
            if isinstance(result, Unknown):
                return Gaveup(result.reason, length)
            if length < self.depth:
                state = self._extend(z, solver, state, prefix, length)
        return NotReached(self.depth)

    def search_each(self, groups: Sequence[Sequence[Goal]], proved: bool = False) -> list[Search]:
        """For each group, the shortest trace (at most ``depth`` requests) whose last request
        meets one of its goals (the first in order, at equal length). One unrolling of the
        paths from the empty device serves every group, so many rules cost one search.

        ``proved``: the caller has proved every invariant and property of the spec for any
        number of instances, so each step from a reachable state keeps them and the unrolling
        need not say so (which saves most of its cost); the caller replays the traces.

        A goal the solver gives up on at one length is tried again at the next ones: a longer
        trace still witnesses the rule (it may not be the shortest). A group is Gaveup only when
        no length reached it."""
        z = Session(bound=max(self.depth, 1), services=self.services)
        solver = Solver(z, self.budget)
        state, prefix = empty_state(z), list[_Prefix]()
        found: dict[int, Search] = {}
        gave_up: dict[int, Gaveup] = {}
        for length in range(1, self.depth + 1):
            for index, group in enumerate(groups):
                for n, goal in enumerate(group if index not in found else ()):
                    if self.budget.expired():  # no unrolling past the deadline either
                        gave_up.setdefault(index, Gaveup(self.budget.time_up(), length))
                        break
                    req = fresh_request(z, goal.op, goal.branch, f"@{length}.{index}.{n}")
                    step = self.compiled.run_step(z, state, req)
                    facts = [*goal.facts(z, step), *step.side, *req.facts, z.literals_distinct()]
                    result = solver.check(facts)
                    if isinstance(result, Sat):
                        found[index] = Reach(self._decode(z, result.model, prefix, req, None))
                        break
                    if isinstance(result, Unknown):
                        gave_up.setdefault(index, Gaveup(result.reason, length))
            if len(found) == len(groups) or self.budget.expired():
                break
            if length < self.depth:
                state = self._extend(
                    z, solver, state, prefix, length, only_changing=True, checked=not proved
                )
        return [
            found.get(index, gave_up.get(index, NotReached(self.depth)))
            for index in range(len(groups))
        ]

    def _extend(
        self,
        z: Session,
        solver: Solver,
        state: SState,
        prefix: list[_Prefix],
        n: int,
        only_changing: bool = False,
        checked: bool = True,
    ) -> SState:
        """Add one step the engine lets through, from ``state``; returns the state after it.
        ``only_changing`` leaves out requests that cannot change the state (no shortest trace to
        a state needs one); ``checked`` false trusts that the step keeps every property."""
        choices: list[SRequest] = []
        options: list[Bool] = []
        posts: list[SState] = []
        selector = Int(z.const(f"choice{n}", z.int))
        for op in self.compiled.spec.ops.values():
            for branch in branches(op):
                if only_changing and not may_change(op, branch):
                    continue
                req = fresh_request(z, op, branch, f"#{n}.{len(choices)}")
                step = self.compiled.run_step(z, state, req)
                picked = z.compare("==", selector, z.int_val(len(choices)))
                keeps = keeps_everything(self.compiled, z, step) if checked else z.true
                options.append(z.and_(picked, keeps, *req.facts))
                posts.append(normalise(z, step.post))
                choices.append(req)
        nxt = fresh_state(z, f"@{n}")
        for field, s, i in itertools.product(Field, z.svc_values(), z.inst_values()):
            value = posts[-1].field(field)(s, i)
            for index in range(len(posts) - 2, -1, -1):
                picked = z.compare("==", selector, z.int_val(index))
                value = z.ite(picked, posts[index].field(field)(s, i), value)
            solver.add(z.eq(nxt.field(field)(s, i), value))
        solver.add(z.or_(*options))
        prefix.append(_Prefix(selector, tuple(choices)))
        return nxt

    def _decode(
        self,
        z: Session,
        model: Model,
        prefix: Sequence[_Prefix],
        final: SRequest,
        name: str | None,
    ) -> Trace:
        names = Names(z, model)
        requests: list[Request] = [
            decode_request(names, p.choices[model.int(p.selector)]) for p in prefix
        ]
        requests.append(decode_request(names, final))
        trace = Trace(DeviceState(), tuple(requests), name)
        confirmed(trace, self.engine)
        return trace


def may_change(op: Operation, branch: Branch) -> bool:
    """Whether a request to ``op`` as ``branch`` can change the state: it can reach an effect (a
    declined request stops at the confirmation point).

    >>> from mostate import load_spec
    >>> from mostate.model import Confirm, Role
    >>> ops = load_spec().ops
    >>> may_change(ops["add"], Branch(Role.USER)), may_change(ops["get"], Branch(Role.USER))
    (True, False)
    >>> may_change(ops["add"], Branch(Role.SERVER, Confirm.DECLINE))
    False
    """
    for step in op.steps:
        if isinstance(step, Effect):
            return True
        if isinstance(step, Confirmation) and branch.confirm is Confirm.DECLINE:
            return False
    return False
