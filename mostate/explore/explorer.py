"""Breadth-first exploration of a spec's state space, driving the engine itself.

From the empty device, every request of the scope (:mod:`.scope`) is sent to every reachable
state through :meth:`Engine.evaluate <mostate.engine.Engine.evaluate>`. States are stored as
ints (:mod:`.encoding`): a set of ints is the visited set, and the BFS tree is two arrays
(each state's parent and the request that reached it). The networkx ``MultiDiGraph`` of
the earlier explorer (nodes: :class:`~mostate.model.DeviceState` values; edges keyed by the
:class:`~mostate.model.Request`, with the status as an attribute) is built only when asked for
(:attr:`Exploration.graph`), by sending the requests again from the stored states.

Every check is the engine's own: :attr:`Transition.violations` (the invariants on every service
the step touched, on the raw state before it is normalised, and the transition properties) and
:meth:`Engine.independence_violations` for requests of the roles an independence speaks of,
unless the operation does not read the field for that role
(:func:`~mostate.independence.reads_field`: then the two runs cannot differ). As every reachable
state is reached by a checked step from the empty device (whose own invariants are checked
first: breaking one is a violation of no request), this checks every invariant on every
reachable state.

Breadth-first order makes the first step found breaking a property one of the shortest: its
trace from the empty device is rebuilt on the real names, replayed and confirmed by the engine
(:meth:`Trace.confirm <mostate.trace.Trace.confirm>`) before it is reported. The exploration
does not go on from a step that breaks something: ``Engine.apply`` refuses such a step, so its
state is none a device can reach, and (as in every proof) checks start from states that keep
the invariants. ``tests/explore/reference.py`` keeps the earlier explorer, which tests and
benchmarks hold this one to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property

import attrs
import networkx as nx

from ..bfs import Search
from ..codegen import SuccessorStep
from ..engine import Engine, Transition
from ..independence import reads_field
from ..model import Clause, DeviceState, Request
from ..trace import Trace
from .encoding import Codec
from .scope import ExploreScope, scope_requests
from .symmetry import canonical, inverse, rename_request

Progress = Callable[[int, int], None]
"""Called now and then with (states expanded, states found)."""

_Parent = tuple[DeviceState, Request] | None


@attrs.frozen
class Route:
    """How the search sends a request (see :func:`.steps.routes`)."""

    request: Request
    target: int
    """Its target's position among the scope's names (-1: none, or a name outside them)."""
    others: tuple[int, ...]
    """The index of the same request sent to each name in turn."""
    successor: SuccessorStep | None
    """Its successor function (``None``: the engine answers it)."""
    service: str
    clear: int
    """The mask that clears its target's slot in a state's int."""
    shift: int
    """That slot's shift."""


@attrs.frozen
class Violation:
    """A property broken in scope, with one shortest trace from the empty device."""

    kind: str
    name: str
    trace: Trace
    status: int | None
    """What the last request was answered; None for a trace of no request (the empty device
    itself breaks an invariant)."""

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "length": len(self.trace.requests),
            "trace": [r.to_json() for r in self.trace.requests],
        }


@attrs.frozen
class Stats:
    """The size of an exploration and how fast it ran."""

    states: int
    edges: int
    depth: int
    seconds: float
    represented: int
    """How many states the canonical ones stand for (equal to ``states`` without symmetry)."""

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float("inf")


class Exploration(Search[int]):
    """One run of the explorer: the states found (as ints), the BFS tree and what was found.

    A :class:`~mostate.bfs.Search` of ints (:attr:`keys`: the states in BFS order, index 0 the
    empty device; :attr:`via`: the index in :attr:`requests` of the request that reached each).
    Not a value: it owns the (large, mutable) visited set. :attr:`graph`, :attr:`depths` and
    :attr:`parents` are built from it on first use.
    """

    def __init__(self, engine: Engine, scope: ExploreScope, symmetry: bool) -> None:
        super().__init__()
        self.engine = engine
        self.scope = scope
        self.symmetry = symmetry
        self.requests = scope_requests(engine.spec, scope)
        self.codec = Codec(scope.services, scope.names)
        self.valid_states = False
        """Whether every state stored keeps every invariant (the empty device does, and a
        state is stored only when the checked step to it broke nothing): set by the search
        when it starts."""
        self.routes: list[Route] | None = None
        """How the search sends each request (:data:`Route`), worked out by the search
        once it knows :attr:`valid_states`."""
        self.twins: list[int] = []
        """For each request, an earlier one with the same successor, service and target,
        whose answer it shares (-1 for none), worked out with :attr:`routes`."""
        self.edges = 0
        self.violations: dict[str, Violation] = {}
        self.stats = Stats(0, 0, 0, 0.0, 0)
        self.stopped: str | None = None
        """Why the search ended early, if it did: ``interrupted`` (Ctrl-C, with
        ``explore(..., interruptible=True)``), ``max states`` or ``max memory``. The graph, the
        statistics and the violations are those found so far; "no violation" means none *yet*."""

    @property
    def keys(self) -> list[int]:
        """The states found, as ints, in BFS order (index 0: the empty device)."""
        return self.states

    @property
    def visited(self) -> set[int]:
        return self.seen

    @property
    def interrupted(self) -> bool:
        """The search ended before the scope was covered (see :attr:`stopped`)."""
        return self.stopped is not None

    # -- states -----------------------------------------------------------------------------

    def canonical(self, state: DeviceState) -> DeviceState:
        """The state the graph holds for ``state`` (itself without symmetry)."""
        return canonical(state, self.scope.names)[0] if self.symmetry else state

    def key(self, state: DeviceState) -> int:
        """The int the search stores for ``state``."""
        key = self.codec.encode(state)
        return self.codec.canonical(key) if self.symmetry else key

    def state(self, index: int) -> DeviceState:
        """The state found at ``index``."""
        return self.codec.decode(self.keys[index])

    @cached_property
    def two_runs(self) -> tuple[bool, ...]:
        """For each request, whether its independence verdict needs two runs."""
        return two_run_requests(self.engine, self.requests)

    @cached_property
    def depths(self) -> dict[DeviceState, int]:
        """Each state found, by its BFS depth."""
        return {self.state(i): depth for i, depth in enumerate(self.depth)}

    @cached_property
    def parents(self) -> dict[DeviceState, _Parent]:
        """Each state found, with its parent in the BFS tree and the request from it."""
        out: dict[DeviceState, _Parent] = {}
        for i, parent in enumerate(self.parent):
            step = (self.state(parent), self.requests[self.via[i]]) if parent >= 0 else None
            out[self.state(i)] = step
        return out

    @cached_property
    def graph(self) -> nx.MultiDiGraph[DeviceState]:
        """The states found and every step from the expanded ones, built on first use by
        sending the requests again (the edges' keys are requests, with ``status`` and, for a
        step that breaks an independence, ``violations``)."""
        graph: nx.MultiDiGraph[DeviceState] = nx.MultiDiGraph()
        states = [self.state(i) for i in range(len(self.keys))]
        graph.add_nodes_from(states)
        for i in range(self.expanded):
            for request, nxt, step, broken in self._steps(states[i]):
                if nxt is None:
                    continue
                status = int(step.outcome.status)
                graph.add_edge(states[i], states[nxt], key=request, status=status)
                if broken:
                    names = tuple(c.name for c in broken)
                    graph.edges[states[i], states[nxt], request]["violations"] = names
        return graph

    def _steps(
        self, state: DeviceState
    ) -> Iterator[tuple[Request, int | None, Transition, tuple[Clause, ...]]]:
        for request, again in zip(self.requests, self.two_runs, strict=True):
            step = self.engine.evaluate(state, request)
            broken = step.violations
            if again:
                broken += self.engine.independence_violations(state, request, step.outcome)
            nxt = None if step.violations else self.position(self.key(step.outcome.state))
            yield request, nxt, step, broken

    # -- traces -----------------------------------------------------------------------------

    def path_to(self, state: DeviceState) -> list[tuple[DeviceState, Request]]:
        """The BFS tree's steps from the empty device to ``state`` (a graph node)."""
        return self.path_of(self.position(self.key(state)))

    def path_of(self, index: int) -> list[tuple[DeviceState, Request]]:
        """The BFS tree's steps from the empty device to the state found at ``index``."""
        return [(self.state(i), self.requests[r]) for i, r in self.steps(index)]

    def record(self, index: int, request: Request, broken: tuple[Clause, ...]) -> None:
        """Keep, for each clause not found broken before, the trace of ``request`` from the
        state at ``index``: rebuilt on the real names, replayed and confirmed by the engine."""
        for clause in broken:
            if clause.name in self.violations:
                continue
            steps = self.path_of(index)
            steps.append((self.state(index), request))
            trace = Trace(DeviceState(), tuple(t.request for t in self.replay(steps)), clause.name)
            last = trace.confirm(self.engine)
            status = int(last.outcome.status)
            self.violations[clause.name] = Violation(clause.kind, clause.name, trace, status)

    def replay(self, steps: list[tuple[DeviceState, Request]]) -> Iterator[Transition]:
        """The real steps for a path of graph steps (:func:`replay_path`)."""
        return replay_path(self.engine, self.scope, self.symmetry, steps)

    def trace_to(self, state: DeviceState, request: Request | None = None) -> Trace:
        """A shortest trace from the empty device to ``state``, then ``request`` if given.

        >>> from mostate import load_spec
        >>> from mostate.explore import explore
        >>> run = explore(Engine(load_spec()), ExploreScope(instances=2, values=1))
        >>> deepest = max(run.graph, key=run.depths.__getitem__)
        >>> len(run.trace_to(deepest).requests) == run.stats.depth
        True
        """
        steps = self.path_to(state)
        if request is not None:
            steps.append((state, request))
        return Trace(DeviceState(), tuple(t.request for t in self.replay(steps)))


def replay_path(
    engine: Engine, scope: ExploreScope, symmetry: bool, steps: list[tuple[DeviceState, Request]]
) -> Iterator[Transition]:
    """The real steps for a path of graph steps: each request renamed to the real names of the
    state reached so far (with ``symmetry``, graph nodes are canonical forms), and run by the
    engine. Both explorers rebuild their traces with it."""
    state = DeviceState()
    for node, request in steps:
        real = request
        if symmetry:
            canon, renaming = canonical(state, scope.names)
            assert canon == node, "a path of the graph does not replay"
            real = rename_request(request, inverse(renaming))
        step = engine.evaluate(state, real)
        yield step
        state = step.outcome.state


def two_run_requests(engine: Engine, requests: tuple[Request, ...]) -> tuple[bool, ...]:
    """For each request, whether its independence verdict needs the two runs: some
    independence speaks of its role and its operation reads the field for that role.

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> any(two_run_requests(engine, scope_requests(engine.spec, ExploreScope(1, 1))))
    False
    """
    spec = engine.spec
    return tuple(
        request.op in spec.ops
        and any(
            request.actor.role in ind.roles
            and reads_field(spec.ops[request.op], request.actor.role, ind.field)
            for ind in spec.independences
        )
        for request in requests
    )
