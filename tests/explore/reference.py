"""The explorer as it was before integer-encoded states: the reference the explorer is tested
and benchmarked against.

It drives the engine state by state like :mod:`.explorer`, but keeps every state as a
:class:`~mostate.model.DeviceState` in a networkx ``MultiDiGraph`` as it goes, memoises steps
under their canonical form (:class:`.cache.CachingEngine`) and runs the two-run independence
check on every request of the roles an independence speaks of. It is slow (about 100 us per
edge) and large (kilobytes per state); keep it small-scoped.

From the empty device, every request of the scope (:mod:`.scope`) is sent to every reachable
state through :meth:`Engine.evaluate <mostate.engine.Engine.evaluate>`; the graph is a networkx
``MultiDiGraph`` whose nodes are :class:`~mostate.model.DeviceState` values and whose edges are
keyed by the :class:`~mostate.model.Request`, with the status as an attribute.

Every check is the engine's own: :attr:`Transition.violations` (the invariants on every service
the step touched, on the raw state before it is normalised, and the transition properties) and
:meth:`Engine.independence_violations` for requests of the roles an independence speaks of. As
every reachable state is reached by a checked step from the empty device (whose own invariants
are checked first: breaking one is a violation of no request), this checks every invariant on
every reachable state.

Breadth-first order makes the first step found breaking a property one of the shortest: its
trace from the empty device is rebuilt on the real names, replayed and confirmed by the engine
(:meth:`Trace.confirm <mostate.trace.Trace.confirm>`) before it is reported. The exploration
does not go on from a step that breaks something: ``Engine.apply`` refuses such a step, so its
state is none a device can reach, and (as in every proof) checks start from states that keep
the invariants.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Iterator

import attrs
import networkx as nx

from mostate.engine import Engine, Transition
from mostate.explore.explorer import Progress, Stats, Violation, replay_path
from mostate.explore.scope import ExploreScope, scope_requests
from mostate.explore.search import Limits, Stop
from mostate.explore.symmetry import canonical, orbit_size
from mostate.model import Clause, DeviceState, Request
from mostate.trace import Trace
from tests.explore.cache import CachingEngine

_Parent = tuple[DeviceState, Request] | None


class ReferenceExploration:
    """One run of the reference explorer: the graph, the parents of the BFS tree and what was
    found.

    Not a value: it owns a (large, mutable) networkx graph.
    """

    def __init__(self, engine: Engine, scope: ExploreScope, symmetry: bool) -> None:
        self.engine = engine
        self.scope = scope
        self.symmetry = symmetry
        self.requests = scope_requests(engine.spec, scope)
        self.graph: nx.MultiDiGraph[DeviceState] = nx.MultiDiGraph()
        self.parents: dict[DeviceState, _Parent] = {}
        self.depths: dict[DeviceState, int] = {}
        self.violations: dict[str, Violation] = {}
        self.stats = Stats(0, 0, 0, 0.0, 0)
        self.cache_hits = self.cache_misses = 0
        self.stopped: str | None = None
        """Why the search ended early, if it did: ``interrupted`` (Ctrl-C, with
        ``explore(..., interruptible=True)``), ``max states`` or ``max memory``. The graph, the
        statistics and the violations are those found so far; "no violation" means none *yet*."""

    @property
    def interrupted(self) -> bool:
        """The search ended before the scope was covered (see :attr:`stopped`)."""
        return self.stopped is not None

    # -- names ------------------------------------------------------------------------------

    def canonical(self, state: DeviceState) -> DeviceState:
        """The state the graph holds for ``state`` (itself without symmetry)."""
        return canonical(state, self.scope.names)[0] if self.symmetry else state

    # -- traces -----------------------------------------------------------------------------

    def path_to(self, state: DeviceState) -> list[tuple[DeviceState, Request]]:
        """The BFS tree's steps from the empty device to ``state`` (a graph node)."""
        steps: list[tuple[DeviceState, Request]] = []
        parent = self.parents[state]
        while parent is not None:
            steps.append(parent)
            parent = self.parents[parent[0]]
        steps.reverse()
        return steps

    def replay(self, steps: list[tuple[DeviceState, Request]]) -> Iterator[Transition]:
        """The real steps for a path of graph steps (:func:`replay_path`)."""
        return replay_path(self.engine, self.scope, self.symmetry, steps)

    def trace_to(self, state: DeviceState, request: Request | None = None) -> Trace:
        """A shortest trace from the empty device to ``state``, then ``request`` if given.

        >>> from mostate import load_spec
        >>> run = explore_reference(Engine(load_spec()), ExploreScope(instances=2, values=1))
        >>> deepest = max(run.graph, key=run.depths.__getitem__)
        >>> len(run.trace_to(deepest).requests) == run.stats.depth
        True
        """
        steps = self.path_to(state)
        if request is not None:
            steps.append((state, request))
        return Trace(DeviceState(), tuple(t.request for t in self.replay(steps)))


def explore_reference(
    engine: Engine,
    scope: ExploreScope,
    *,
    symmetry: bool = True,
    progress: Progress | None = None,
    interruptible: bool = False,
    max_states: int | None = None,
    max_memory_mb: int | None = None,
) -> ReferenceExploration:
    """Explore every state reachable in ``scope`` and check every step. ``interruptible``: a
    KeyboardInterrupt ends the search and returns what it found so far, marked ``stopped``; so
    does reaching ``max_states`` states or ``max_memory_mb`` MiB of peak memory (checked every
    64 states).

    >>> from mostate import load_spec
    >>> run = explore_reference(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> run.stats.states, run.stats.depth, sorted(run.violations)
    (17, 4, [])
    """
    run = ReferenceExploration(engine, scope, symmetry)
    started = time.perf_counter()
    collecting = gc.isenabled()
    # The graph only grows, so the cycle collector would rescan it again and again for nothing
    # (about a fifth of the time at N = 4); it runs once at the end instead.
    gc.disable()
    try:
        _bfs(run, progress, Limits(max_states, max_memory_mb))
    except KeyboardInterrupt:
        if not interruptible:
            raise
        run.stopped = "interrupted"
    except Stop as stop:
        run.stopped = str(stop)
    finally:
        if collecting:
            gc.enable()
    seconds = time.perf_counter() - started
    represented = sum(orbit_size(s, scope.names) for s in run.graph) if symmetry else len(run.graph)
    depth = max(run.depths.values(), default=0)
    run.stats = Stats(len(run.graph), run.graph.number_of_edges(), depth, seconds, represented)
    return run


def _bfs(run: ReferenceExploration, progress: Progress | None, limits: Limits) -> None:
    cache = CachingEngine(run.engine.spec, run.scope.names if run.symmetry else ())
    start = run.canonical(DeviceState())
    run.parents[start], run.depths[start] = None, 0
    run.graph.add_node(start)
    for clause in run.engine.state_violations(DeviceState()):
        trace = Trace(DeviceState(), (), clause.name)
        trace.confirm_start(run.engine)
        run.violations[clause.name] = Violation(clause.kind, clause.name, trace, None)
    queue = deque([start])
    indep_roles = {role for ind in run.engine.spec.independences for role in ind.roles}
    expanded, level = 0, 0
    while queue:
        state = queue.popleft()
        depth = run.depths[state] + 1
        if depth != level:
            cache.next_generation()
            level = depth
        for request in run.requests:
            step, nxt = cache.step(state, request)
            broken = step.violations
            if request.actor.role in indep_roles:
                broken += cache.independence(state, request)
            if step.violations:
                _record(run, state, request, broken)
                continue
            if nxt not in run.depths:
                run.parents[nxt], run.depths[nxt] = (state, request), depth
                queue.append(nxt)
            run.graph.add_edge(state, nxt, key=request, status=int(step.outcome.status))
            if broken:
                run.graph.edges[state, nxt, request]["violations"] = tuple(c.name for c in broken)
                _record(run, state, request, broken)
        expanded += 1
        if expanded % 64 == 0:
            limits.check(len(run.depths))
        if progress is not None and (expanded % 64 == 0 or not queue):
            progress(expanded, len(run.depths))
    run.cache_hits, run.cache_misses = cache.hits, cache.misses


def _record(
    run: ReferenceExploration, state: DeviceState, request: Request, broken: tuple[Clause, ...]
) -> None:
    for clause in broken:
        if clause.name in run.violations:
            continue
        trace = attrs.evolve(run.trace_to(state, request), violates=clause.name)
        last = trace.confirm(run.engine)
        run.violations[clause.name] = Violation(
            clause.kind, clause.name, trace, int(last.outcome.status)
        )
