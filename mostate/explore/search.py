"""The breadth-first search over integer-encoded states (see :mod:`.explorer` for what it checks).

Instance names are interchangeable (:mod:`.symmetry`), so the steps from a state are those
from its canonical form with the names renamed back. The engine runs once per orbit and depth:
each state popped is put in canonical form (:meth:`.encoding.Codec.ranking`); the first member
of its orbit has every request sent from the canonical state through the engine; the others
reuse those steps, renaming each request and each next state with integer operations. Within a
canonical state, requests to names holding the same records (two absent names, say) are
renamings of each other too, and run once. With symmetry reduction the next states are put in
canonical form and only orbits are stored; without it every state is.

Shortcuts keep the answers and cut the work. Every stored state keeps the invariants, so a step
from one is checked on what the step changed. The search asks providers for next states and
knows nothing of the language: :mod:`.steps` (each request through its successor, the engine's
generated code specialised to the concrete request, or the engine), and with numpy, in bulk
(:mod:`.frontier`, a chunk of states at a time), :mod:`.tables` (requests whose answer depends
on the target's record alone) and :mod:`.vectors` (successors' residual functions run over
arrays). The requests from a canonical state reach a few distinct states, each renamed and
looked up once per member of the orbit (:func:`_plan`); states are stored by the one
breadth-first kernel, :func:`mostate.bfs.walk` (the bulk search stores its levels itself).
"""

from __future__ import annotations

import gc
import logging
import resource
import time

import attrs

from ..bfs import Stop, walk
from ..engine import Engine
from ..model import Clause, DeviceState
from ..trace import Trace
from .explorer import Exploration, Progress, Stats, Violation
from .scope import ExploreScope
from .steps import PerState, Result, retargets


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
    64 states, or every chunk of :data:`.frontier.CHUNK` in bulk).

    >>> from mostate import load_spec
    >>> run = explore(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> run.stats.states, run.stats.depth, sorted(run.violations)
    (17, 4, [])
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
        settle(run)
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


log = logging.getLogger(__name__)


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


def _start(run: Exploration) -> None:
    run.add(0, -1, -1)  # the empty device: every slot empty, canonical under any renaming
    broken = run.engine.state_violations(DeviceState())
    for clause in broken:
        trace = Trace(DeviceState(), (), clause.name)
        trace.confirm_start(run.engine)
        run.violations[clause.name] = Violation(clause.kind, clause.name, trace, None)
    # Every other state is stored only when the step to it broke nothing, the invariants on
    # what it changed included: if the empty device keeps every invariant, so does every state
    # stored, and the engine may check a step from one on what the step changed alone.
    run.valid_states = not broken


def _bfs(run: Exploration, progress: Progress | None, limits: Limits) -> None:
    """Expand the states in BFS order (in bulk where numpy can, else through
    :func:`mostate.bfs.walk` with :class:`_Orbits` as the successors)."""
    _start(run)
    steps = PerState(run, retargets(run))
    if _in_bulk(run, steps, progress, limits):
        return

    def check(found: int) -> None:
        limits.check(found)
        if progress is not None:
            progress(run.expanded, found)

    walk(run, _Orbits(steps), check=check, every=64)
    if progress is not None:
        progress(run.expanded, len(run.keys))


class _Orbits:
    """The next states of each state of the search state by state. The steps from a state
    are those of its canonical form, renamed back: they are computed (:mod:`.steps`) once
    per orbit and depth (every member of an orbit has the same depth, as renaming keeps the
    empty device), so the engine runs once per orbit even without symmetry reduction."""

    def __init__(self, steps: PerState) -> None:
        run = steps.run
        self.run, self.steps, self.retarget = run, steps, steps.retarget
        self.memo: dict[int, _Plan] = {}
        # With symmetry, the canonical forms of the next states met in this level and the
        # next (a state is reached from many orbits, often as the same int on their names).
        self.forms: dict[int, int] = {}
        self.identity = list(range(len(run.scope.names)))
        self.level = 0

    def __call__(self, i: int, key: int) -> list[tuple[int, int]]:
        run = self.run
        if run.depth[i] != self.level:
            self.memo.clear()
            self.forms.clear()
            self.level = run.depth[i]
        canon, order = (key, self.identity) if run.symmetry else run.codec.ranking(key)
        plan = self.memo.get(canon)
        if plan is None:
            plan = _plan(canon, self.steps.results(canon))
            if not run.symmetry:  # with symmetry each orbit is expanded once: nothing to share
                self.memo[canon] = plan
        renaming = order if order != self.identity else None
        return _follow(run, i, plan, renaming, self.retarget, self.forms)


def _in_bulk(run: Exploration, steps: PerState, progress: Progress | None, limits: Limits) -> bool:
    """Run the search in bulk (:mod:`.frontier`) where numpy is installed and the scope's
    records fit its keys; False (the search's arrays as :func:`_start` left them) where not."""
    try:
        from . import frontier
    except ImportError:  # numpy is not installed: the search goes state by state
        return False
    if not frontier.fits(run.codec):
        return False
    try:
        frontier.bfs(run, steps, limits.check, progress)
    except frontier.TooWide as err:
        log.info("the search goes on state by state: %s", err)
        _restart(run)
        return False
    return True


def _restart(run: Exploration) -> None:
    """Forget what the search found, down to the empty device (the codec keeps its codes)."""
    run.keys.clear()
    run.visited.clear()
    del run.parent[:], run.via[:], run.depth[:]
    run.expanded = run.edges = 0
    run.violations.clear()
    _start(run)


_Plan = tuple[int, list[tuple[int, list[int]]], list[tuple[int, tuple[Clause, ...]]]]
"""What the requests from a canonical state do, ready for each member of its orbit: how many
lead somewhere (the edges), each next state other than itself with the requests (indices on
the canonical names) that reach it, in the order they first do, and the requests that break
something, with what they break."""


def _plan(canon: int, results: list[Result]) -> _Plan:
    """Group the results of the requests from ``canon`` by the state they lead to: a member
    of the orbit renames each next state once, not once per request reaching it."""
    edges = 0
    groups: dict[int, list[int]] = {}
    broken: list[tuple[int, tuple[Clause, ...]]] = []
    for q, (nxt, clauses) in enumerate(results):
        if clauses:
            broken.append((q, clauses))
        if nxt >= 0:
            edges += 1
            if nxt != canon:
                groups.setdefault(nxt, []).append(q)
    return edges, list(groups.items()), broken


def _follow(
    run: Exploration,
    i: int,
    plan: _Plan,
    order: list[int] | None,
    retarget: list[tuple[int, tuple[int, ...]]],
    forms: dict[int, int],
) -> list[tuple[int, int]]:
    """The states the steps from state ``i`` reach, each with the first request that does,
    in the order of those first requests (as if its requests were sent in turn), and record
    what they break: ``order`` (``None``: no renaming) maps the canonical names back to its
    own, so request ``q`` on the canonical names is its request ``others[order[target]]``.
    ``forms`` caches canonical forms (with symmetry)."""
    edges, groups, broken = plan
    run.edges += edges

    def real(q: int) -> int:
        assert order is not None
        target, others = retarget[q]
        return others[order[target]] if target >= 0 else q

    violations = run.violations
    if broken and any(c.name not in violations for _, clauses in broken for c in clauses):
        for r, clauses in sorted((real(q) if order else q, c) for q, c in broken):
            if any(c.name not in violations for c in clauses):
                run.record(i, run.requests[r], clauses)
    if order is None:
        if not run.symmetry:
            return [(qs[0], nxt) for nxt, qs in groups]
        rename, out = run.codec.canonical, []
        for nxt, qs in groups:
            key = forms.get(nxt, -1)
            if key < 0:
                key = forms[nxt] = rename(nxt)
            out.append((qs[0], key))
        return out
    move = run.codec.mover(order)
    return [(r, move(nxt)) for r, nxt in sorted((min(map(real, qs)), nxt) for nxt, qs in groups)]


def settle(run: Exploration) -> None:
    """After an interruption, drop a state whose storing was cut short (its arrays unequal)."""
    whole = min(len(run.keys), len(run.parent), len(run.via), len(run.depth))
    for key in run.keys[whole:]:
        run.visited.discard(key)
    del run.keys[whole:], run.parent[whole:], run.via[whole:], run.depth[whole:]
