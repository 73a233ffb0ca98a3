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
from one is checked on what the step changed. A request goes through its *successor*
(:meth:`Engine.successor <mostate.engine.Engine.successor>`: the engine's generated code
specialised to the concrete request, handing back the service's records after the step, or the
target's record alone), and the next state's int is the state's with those slots rewritten
(:meth:`.encoding.Codec.encode_record`); where a successor hands a request back, or an
independence needs two runs, the engine answers (:meth:`Engine.evaluate_valid
<mostate.engine.Engine.evaluate_valid>`, :meth:`.encoding.Codec.encode_step`). The requests
from a canonical state reach a few distinct states, each renamed and looked up once per member
of the orbit (:func:`_plan`). With numpy, the same search runs a chunk of states at a time over
arrays (:mod:`.frontier`): requests whose answer depends on the target's record alone are read
from tables (:mod:`.tables`), most others have their successor's code run over arrays
(:mod:`.vectors`), the engine's part of the rest is this module's :func:`_expand`, and the
renaming and storing are done in bulk.
"""

from __future__ import annotations

import gc
import logging
import resource
import time
from collections.abc import Callable, Sequence

import attrs

from ..codegen.runtime import FALLBACK, Violations
from ..engine import Engine
from ..model import Clause, DeviceState, Outcome, Request
from ..trace import Trace
from .explorer import Exploration, Progress, Route, Stats, Violation
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
    64 states, or every chunk of :data:`.frontier.CHUNK` in bulk).

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


_Result = tuple[int, tuple[Clause, ...]]
"""What a request does from a canonical state: the next state's int on the same names (-1
when the step breaks something other than an independence: it leads nowhere) and what it
breaks."""


def _start(run: Exploration) -> None:
    run.keys.append(0)  # the empty device: every slot empty, canonical under any renaming
    run.visited.add(0)
    run.parent.append(-1)
    run.via.append(-1)
    run.depth.append(0)
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
    """Expand the states in BFS order. The steps from a state are those of its canonical
    form, renamed back: they are computed (:func:`_expand`) once per orbit and depth (every
    member of an orbit has the same depth, as renaming keeps the empty device), so the engine
    runs once per orbit even without symmetry reduction."""
    _start(run)
    codec = run.codec
    retarget = _retargets(run)
    if _in_bulk(run, retarget, progress, limits):
        return
    memo: dict[int, _Plan] = {}
    # With symmetry, the canonical forms of the next states met in this level and the next
    # (a state is reached from many orbits, often as the same int on their names).
    forms: dict[int, int] = {}
    identity = list(range(len(run.scope.names)))
    level = 0
    while run.expanded < len(run.keys):
        i = run.expanded
        key = run.keys[i]
        if run.depth[i] != level:
            memo.clear()
            forms.clear()
            level = run.depth[i]
        canon, order = (key, identity) if run.symmetry else codec.ranking(key)
        plan = memo.get(canon)
        if plan is None:
            plan = _plan(canon, _expand(run, canon, retarget))
            if not run.symmetry:  # with symmetry each orbit is expanded once: nothing to share
                memo[canon] = plan
        _follow(run, i, plan, order if order != identity else None, retarget, forms)
        run.expanded += 1
        if run.expanded % 64 == 0:
            limits.check(len(run.keys))
        if progress is not None and (run.expanded % 64 == 0 or run.expanded == len(run.keys)):
            progress(run.expanded, len(run.keys))


def _in_bulk(
    run: Exploration,
    retarget: list[tuple[int, tuple[int, ...]]],
    progress: Progress | None,
    limits: Limits,
) -> bool:
    """Run the search in bulk (:mod:`.frontier`) where numpy is installed and the scope's
    records fit its keys; False (the search's arrays as :func:`_start` left them) where not."""
    try:
        from . import frontier
    except ImportError:  # numpy is not installed: the search goes state by state
        return False
    if not frontier.fits(run.codec):
        return False
    try:
        frontier.bfs(
            run,
            retarget,
            _routes(run, retarget),
            lambda r, canon, only: _expand(r, canon, retarget, only),
            _record,
            limits.check,
            progress,
        )
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


def _plan(canon: int, results: list[_Result]) -> _Plan:
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
) -> None:
    """Store the states the steps from state ``i`` reach and record what they break, as if
    its requests were sent in turn: ``order`` (``None``: no renaming) maps the canonical
    names back to its own, so request ``q`` on the canonical names is its request
    ``others[order[target]]``. A state reached by several requests is stored as reached by the
    first of them, and states are stored in the order of those first requests. ``forms``
    caches canonical forms (with symmetry)."""
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
                _record(run, i, run.requests[r], clauses)
    visited = run.visited
    if order is None:
        rename = run.codec.canonical
        for nxt, qs in groups:
            key = nxt
            if run.symmetry:
                key = forms.get(nxt, -1)
                if key < 0:
                    key = forms[nxt] = rename(nxt)
            if key not in visited:
                _store(run, key, i, qs[0])
        return
    move = run.codec.mover(order)
    firsts = sorted((min(map(real, qs)), nxt) for nxt, qs in groups)
    for r, nxt in firsts:
        key = move(nxt)
        if key not in visited:
            _store(run, key, i, r)


def _expand(
    run: Exploration,
    canon: int,
    retarget: list[tuple[int, tuple[int, ...]]],
    only: Sequence[int] | None = None,
) -> list[_Result]:
    """Every request from the canonical state ``canon`` (or the requests ``only`` lists, in
    ascending order, with every name's request of each: the others' results are
    placeholders, ``(0, ())``), through the engine. A request whose successor is its twin's
    (:attr:`Exploration.twins`) has its twin's answer. Requests to names holding the same
    records are renamings of each other: the step of the first name, with the two names
    swapped, stands for the others (without the swap, with symmetry)."""
    codec = run.codec
    state = codec.decode(canon)
    svcs = state.services._data
    # With one service in scope (the usual case), every request's records are these.
    one = len(codec.services) == 1
    held = svcs.get(codec.services[0]) if one else None
    pre = held.instances._data if held is not None else {}
    holders = codec.holders(canon)
    step = run.engine.evaluate_valid if run.valid_states else _evaluate(run.engine)
    by_id = codec.known_records()
    routes = _routes(run, retarget)
    twins = run.twins
    results: list[_Result] = [(0, ())] * len(routes)
    for r in range(len(routes)) if only is None else only:
        twin = twins[r]
        if twin >= 0:
            results[r] = results[twin]
            continue
        route = routes[r]
        request, target, successor = route.request, route.target, route.successor
        if target >= 0 and holders[target] != target:
            nxt, broken = results[route.others[holders[target]]]
            # With symmetry only the next state's orbit matters, and the swap keeps it (and
            # keeps ``canon``: the two names hold the same records), so it is left out.
            if nxt >= 0 and not run.symmetry:
                swap = list(range(len(holders)))
                swap[target], swap[holders[target]] = holders[target], target
                nxt = run.codec.permute(nxt, swap)
            results[r] = (nxt, broken)
            continue
        if successor is not None:
            if not one:
                held = svcs.get(route.service)
                pre = held.instances._data if held is not None else {}
            answer = successor(svcs, route.service, request.instance, pre)
            if answer is not FALLBACK:
                records, broken = answer
                if broken:
                    nxt = -1
                elif records is None:
                    nxt = canon
                elif isinstance(records, tuple):  # the target's record alone changed
                    code = by_id.get(id(records[1]))  # inlined: a record met before
                    if code is None:
                        code = codec.record_code(records[1])
                    nxt = (canon & route.clear) | (code << route.shift)  # encode_record, inlined
                else:
                    nxt = codec.encode_records(canon, route.service, records)
                results[r] = (nxt, broken)
                continue
        outcome, violations = step(state, request)
        broken = violations
        if run.two_runs[r]:
            broken += run.engine.independence_violations(state, request, outcome)
        after = outcome.state
        if violations:
            nxt = -1
        elif after is state:
            nxt = canon
        elif request.service is not None:
            nxt = run.codec.encode_step(canon, state, after, request.service)
        else:
            nxt = run.codec.encode(after)
        results[r] = (nxt, broken)
    return results


def _routes(run: Exploration, retarget: list[tuple[int, tuple[int, ...]]]) -> list[Route]:
    """How each request is sent (:data:`Route`). Its successor is the successor form of its
    generated code (:meth:`Engine.successor <mostate.engine.Engine.successor>`: the next
    state's records and what the step breaks, no outcome built) where that answers as
    :meth:`Engine.evaluate_valid` does: from states known to keep the invariants, for a
    request no independence needs two runs of; ``None`` for the others, which go through the
    engine. Worked out once per search."""
    found = run.routes
    if found is None:
        found = run.routes = []
        for request, again, (target, others) in zip(
            run.requests, run.two_runs, retarget, strict=True
        ):
            successor = None
            if not again and run.valid_states:
                successor = run.engine.successor(request)
            clear = shift = 0
            service = request.service or ""  # a successor's request names one
            if successor is not None and request.instance is not None:  # else no point answers
                clear, shift = run.codec.slot(service, request.instance)
            found.append(Route(request, target, others, successor, service, clear, shift))
        # Requests whose successors are one function (the same code: Engine.successor shares
        # it) on the same instance have the same answer: the first one's stands for the rest.
        first: dict[tuple[int, str, str | None], int] = {}
        for r, route in enumerate(found):
            key = (id(route.successor), route.service, route.request.instance)
            twin = first.setdefault(key, r) if route.successor is not None else r
            run.twins.append(twin if twin != r else -1)
    return found


def _evaluate(engine: Engine) -> Callable[[DeviceState, Request], tuple[Outcome, Violations]]:
    """:meth:`Engine.evaluate` as the search calls it: the outcome and what the step breaks."""

    def step(state: DeviceState, request: Request) -> tuple[Outcome, Violations]:
        transition = engine.evaluate(state, request)
        return transition.outcome, transition.violations

    return step


def settle(run: Exploration) -> None:
    """After an interruption, drop a state whose storing was cut short (its arrays unequal)."""
    whole = min(len(run.keys), len(run.parent), len(run.via), len(run.depth))
    for key in run.keys[whole:]:
        run.visited.discard(key)
    del run.keys[whole:], run.parent[whole:], run.via[whole:], run.depth[whole:]


def _store(run: Exploration, key: int, parent: int, r: int) -> None:
    """Store the state ``key``, reached from ``parent`` by request ``r``, if it is new."""
    if key in run.visited:
        return
    run.visited.add(key)
    run.keys.append(key)
    run.parent.append(parent)
    run.via.append(r)
    run.depth.append(run.depth[parent] + 1)


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
