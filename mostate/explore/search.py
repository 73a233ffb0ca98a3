"""The breadth-first search over integer-encoded states (see :mod:`.explorer` for what it checks).

Each state popped is decoded once and every request of the scope sent from it through the
engine; each next state is encoded (and, with symmetry, made canonical) and looked up in the
visited dict. With symmetry, requests to interchangeable names of a state (two names holding
the same records, e.g. two absent ones) are renamings of each other: the step of the first
stands for the others, which are counted as edges without running the engine again.
"""

from __future__ import annotations

import gc
import resource
import time

import attrs

from ..engine import Engine
from ..model import Clause, DeviceState, Request
from ..trace import Trace
from .explorer import Exploration, Progress, Stats, Violation, two_run_requests
from .scope import ExploreScope


def explore(
    engine: Engine,
    scope: ExploreScope,
    *,
    symmetry: bool = True,
    progress: Progress | None = None,
    interruptible: bool = False,
    max_states: int | None = None,
    max_memory_mb: int | None = None,
) -> Exploration:
    """Explore every state reachable in ``scope`` and check every step. ``interruptible``: a
    KeyboardInterrupt ends the search and returns what it found so far, marked ``stopped``; so
    does reaching ``max_states`` states or ``max_memory_mb`` MiB of peak memory (checked every
    64 states).

    >>> from mostate import load_spec
    >>> run = explore(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> run.stats.states, run.stats.depth, sorted(run.violations)
    (17, 5, [])
    """
    run = Exploration(engine, scope, symmetry)
    started = time.perf_counter()
    collecting = gc.isenabled()
    # Nothing the search keeps refers back to itself, so the cycle collector would rescan the
    # growing visited set for nothing; it runs once at the end instead.
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
    codec = run.codec
    represented = sum(map(codec.orbit_size, run.keys)) if symmetry else len(run.keys)
    depth = max(run.depth, default=0)
    run.stats = Stats(len(run.keys), run.edges, depth, seconds, represented)
    return run


class Stop(Exception):
    """A limit was reached; the message names it."""


@attrs.frozen
class Limits:
    """When to stop early: after ``states`` states found, or ``memory_mb`` MiB of peak memory."""

    states: int | None
    memory_mb: int | None

    def check(self, found: int) -> None:
        """Raise :class:`Stop` if a limit is reached with ``found`` states found."""
        if self.states is not None and found >= self.states:
            raise Stop("max states")
        if self.memory_mb is not None and peak_mb() >= self.memory_mb:
            raise Stop("max memory")


def peak_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_Result = tuple[int, tuple[Clause, ...]] | None
"""What a request did from the state being expanded: the next state's index and what it broke
(only independences: a step breaking anything else leads nowhere, None)."""


def _start(run: Exploration) -> None:
    run.keys.append(0)  # the empty device: every slot empty, canonical under any renaming
    run.index[0] = 0
    run.parent.append(-1)
    run.via.append(-1)
    run.depth.append(0)
    for clause in run.engine.state_violations(DeviceState()):
        trace = Trace(DeviceState(), (), clause.name)
        trace.confirm_start(run.engine)
        run.violations[clause.name] = Violation(clause.kind, clause.name, trace, None)


def _bfs(run: Exploration, progress: Progress | None, limits: Limits) -> None:
    _start(run)
    requests = run.requests
    two_runs = two_run_requests(run.engine, requests)
    retarget = _retargets(run) if run.symmetry else None
    while run.expanded < len(run.keys):
        i = run.expanded
        state = run.state(i)
        results: list[_Result] = []
        holders = run.codec.holders(run.keys[i]) if retarget is not None else None
        for r, request in enumerate(requests):
            if holders is not None and retarget is not None:
                target, others = retarget[r]
                if target >= 0 and holders[target] != target:
                    found = results[others[holders[target]]]
                    results.append(found)
                    run.edges += found is not None
                    continue
            found = _send(run, i, state, r, request, two_runs[r])
            results.append(found)
        run.expanded += 1
        if run.expanded % 64 == 0:
            limits.check(len(run.keys))
        if progress is not None and (run.expanded % 64 == 0 or run.expanded == len(run.keys)):
            progress(run.expanded, len(run.keys))


def _send(
    run: Exploration, i: int, state: DeviceState, r: int, request: Request, two_run: bool
) -> _Result:
    """Send one request from state ``i``: store the next state if new, count the edge and
    record what it breaks."""
    step = run.engine.evaluate(state, request)
    broken = step.violations
    if two_run:
        broken += run.engine.independence_violations(state, request, step.outcome)
    if step.violations:
        _record(run, i, request, broken)
        return None
    after = step.outcome.state
    # a refused request hands back the state it was given: no need to encode it again
    nxt = i if after is state else _store(run, run.key(after), i, r)
    run.edges += 1
    if broken:
        _record(run, i, request, broken)
    return nxt, broken


def _store(run: Exploration, key: int, parent: int, r: int) -> int:
    """The index of the state ``key``, stored (reached from ``parent`` by request ``r``) if new."""
    found = run.index.get(key)
    if found is not None:
        return found
    found = run.index[key] = len(run.keys)
    run.keys.append(key)
    run.parent.append(parent)
    run.via.append(r)
    run.depth.append(run.depth[parent] + 1)
    return found


def _retargets(run: Exploration) -> list[tuple[int, tuple[int, ...]]]:
    """For each request: the position of its target among the scope's names (-1 for none), and
    the index of the same request sent to each name in turn."""
    names = run.scope.names
    position = {name: j for j, name in enumerate(names)}
    index = {request: r for r, request in enumerate(run.requests)}
    out: list[tuple[int, tuple[int, ...]]] = []
    for request in run.requests:
        if request.instance is None or request.instance not in position:
            out.append((-1, ()))
            continue
        others = tuple(index[attrs.evolve(request, instance=name)] for name in names)
        out.append((position[request.instance], others))
    return out


def _record(run: Exploration, i: int, request: Request, broken: tuple[Clause, ...]) -> None:
    for clause in broken:
        if clause.name in run.violations:
            continue
        steps = run.path_of(i)
        steps.append((run.state(i), request))
        trace = Trace(DeviceState(), tuple(t.request for t in run.replay(steps)), clause.name)
        last = trace.confirm(run.engine)
        run.violations[clause.name] = Violation(
            clause.kind, clause.name, trace, int(last.outcome.status)
        )
