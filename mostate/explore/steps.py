"""Steps state by state: each request's step from one canonical state, through its successor
or the engine. One of the search's three providers of next states, beside the tables of
:mod:`.tables` and the arrays of :mod:`.vectors`; the search itself (:mod:`.search`,
:mod:`.frontier`) asks them for next states and knows nothing of the language.

A request goes through its *successor* (:meth:`Engine.successor
<mostate.engine.Engine.successor>`: the engine's generated code specialised to the concrete
request, handing back the service's records after the step, or the target's record alone),
and the next state's int is the state's with those slots rewritten; where a successor hands a
request back, or an independence needs two runs, the engine answers (:meth:`Engine.evaluate_valid
<mostate.engine.Engine.evaluate_valid>`, :meth:`.encoding.Codec.encode_step`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from ..codegen.runtime import FALLBACK, Violations
from ..engine import Engine
from ..model import Clause, DeviceState, Instance, Outcome, Request
from .explorer import Exploration, Route

Result = tuple[int, tuple[Clause, ...]]
"""What a request does from a canonical state: the next state's int on the same names (-1
when the step breaks something other than an independence: it leads nowhere) and what it
breaks."""
Retargets = list[tuple[int, tuple[int, ...]]]
"""For each request: its target's position among the scope's names (-1 for none), and the
index of the same request sent to each name in turn."""


class PerState:
    """The steps of a search's requests from one canonical state at a time."""

    def __init__(self, run: Exploration, retarget: Retargets) -> None:
        self.run, self.retarget = run, retarget
        self.routes = routes(run, retarget)
        self.step = run.engine.evaluate_valid if run.valid_states else _evaluate(run.engine)
        self.known = run.codec.known_records()  # live: the codes of records met, by id

    def results(self, canon: int, only: Sequence[int] | None = None) -> list[Result]:
        """Every request from the canonical state ``canon`` (or the requests ``only`` lists,
        ascending, with every name's request of each: the others' results are placeholders,
        ``(0, ())``). A request whose successor is its twin's (:attr:`Exploration.twins`) has
        its twin's answer. Requests to names holding the same records are renamings of each
        other: the step of the first name, with the two names swapped, stands for the others
        (without the swap, with symmetry)."""
        run, codec = self.run, self.run.codec
        state = codec.decode(canon)
        holders = codec.holders(canon)
        records = _Records(state)
        twins, routes = run.twins, self.routes
        results: list[Result] = [(0, ())] * len(routes)
        for r in range(len(routes)) if only is None else only:
            route = routes[r]
            if twins[r] >= 0:
                results[r] = results[twins[r]]
            elif route.target >= 0 and holders[route.target] != route.target:
                results[r] = self._renamed(results, route, holders)
            else:
                found = self._successor(canon, route, records)
                results[r] = found if found is not None else self._engine(canon, state, r)
        return results

    def _renamed(self, results: list[Result], route: Route, holders: list[int]) -> Result:
        """The step of the request to the name holding the same records as the target, with
        the two names swapped."""
        target = route.target
        nxt, broken = results[route.others[holders[target]]]
        # With symmetry only the next state's orbit matters, and the swap keeps it (and keeps
        # the state: the two names hold the same records), so it is left out.
        if nxt >= 0 and not self.run.symmetry:
            swap = list(range(len(holders)))
            swap[target], swap[holders[target]] = holders[target], target
            nxt = self.run.codec.permute(nxt, swap)
        return nxt, broken

    def _successor(self, canon: int, route: Route, records: _Records) -> Result | None:
        """The step through the request's successor; ``None`` where it has none or hands
        the request back."""
        successor = route.successor
        if successor is None:
            return None
        svcs = records.services
        answer = successor(svcs, route.service, route.request.instance, records.of(route.service))
        if answer is FALLBACK:
            return None
        after, broken = answer
        codec = self.run.codec
        if broken:
            return -1, broken
        if after is None:
            return canon, broken
        if isinstance(after, tuple):  # the target's record alone changed
            code = self.known.get(id(after[1]))  # inlined: a record met before
            if code is None:
                code = codec.record_code(after[1])
            return (canon & route.clear) | (code << route.shift), broken  # encode_record
        return codec.encode_records(canon, route.service, after), broken

    def _engine(self, canon: int, state: DeviceState, r: int) -> Result:
        """The step through the engine (and the two runs of an independence)."""
        run = self.run
        request = run.requests[r]
        outcome, violations = self.step(state, request)
        broken = violations
        if run.two_runs[r]:
            broken += run.engine.independence_violations(state, request, outcome)
        after = outcome.state
        if violations:
            return -1, broken
        if after is state:
            return canon, broken
        if request.service is not None:
            return run.codec.encode_step(canon, state, after, request.service), broken
        return run.codec.encode(after), broken


class _Records:
    """The services' records of one state, each service's looked up once."""

    def __init__(self, state: DeviceState) -> None:
        self.services = state.services._data
        self._held: dict[str, dict[str, Instance]] = {}

    def of(self, service: str) -> dict[str, Instance]:
        found = self._held.get(service)
        if found is None:
            held = self.services.get(service)
            found = self._held[service] = held.instances._data if held is not None else {}
        return found


def routes(run: Exploration, retarget: Retargets) -> list[Route]:
    """How each request is sent (:class:`~.explorer.Route`). Its successor is the successor
    form of its generated code (:meth:`Engine.successor <mostate.engine.Engine.successor>`:
    the next state's records and what the step breaks, no outcome built) where that answers as
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


def retargets(run: Exploration) -> Retargets:
    """For each request: the position of its target among the scope's names (-1 for none),
    and the index of the same request sent to each name in turn."""
    names = run.scope.names
    position = {name: j for j, name in enumerate(names)}
    index = {request: r for r, request in enumerate(run.requests)}
    out: Retargets = []
    for request in run.requests:
        if request.instance is None or request.instance not in position:
            out.append((-1, ()))
            continue
        others = tuple(index[attrs.evolve(request, instance=name)] for name in names)
        out.append((position[request.instance], others))
    return out


def _evaluate(engine: Engine) -> Callable[[DeviceState, Request], tuple[Outcome, Violations]]:
    """:meth:`Engine.evaluate` as the search calls it: the outcome and what the step breaks."""

    def step(state: DeviceState, request: Request) -> tuple[Outcome, Violations]:
        transition = engine.evaluate(state, request)
        return transition.outcome, transition.violations

    return step
