"""The small scope the conformance kit tests exhaustively, and coverage of a random run.

A :class:`Universe` is what a small :class:`Scope` (one service, two instance names by default)
can reach from the empty device, found breadth-first through the engine with the request
alphabet every checker uses (:mod:`mostate.alphabet`, through :func:`scope_requests`: every
operation, both actors, declined confirmations, one malformed request per operation and actor).
It holds a shortest request sequence to each state and which requests of the alphabet leave each
state unchanged, so that :meth:`Universe.suite` can list an *edge-complete* suite: every request
of the alphabet sent in every state of the scope, each after a shortest path to that state. A
device that differs from the spec on a single transition of the scope fails that suite, whatever
the seed.

A :class:`Coverage` records every step of a run; :meth:`Universe.report` says what of the scope
a run visited and what it missed.

The testing layer does not import :mod:`mostate.explore` (the checkers stay independent), so
the scope here is a small breadth-first walk of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeAlias

import attrs

from .. import bfs
from ..alphabet import Alphabet, requests
from ..engine import Engine
from ..frozenmap import FrozenMap
from ..model import (
    DeviceState,
    Request,
    Role,
    Service,
    Status,
)
from ..rules import Spec

Triple: TypeAlias = tuple[str, str, int]
"""(operation, actor role, status) of one step."""


class Coverage:
    """What a run visited: distinct states and (op, actor, status) triples (a recorder, not a
    value: the machines of one run share it).

    >>> from mostate import Request
    >>> cov = Coverage()
    >>> cov.record(DeviceState(), Request.from_json({"actor": "user", "op": "in_use",
    ...            "service": "MMS"}), Status.OK)
    >>> cov.steps, sorted(cov.triples)
    (1, [('in_use', 'user', 200)])
    """

    def __init__(self) -> None:
        self.states: set[DeviceState] = {DeviceState()}
        self.triples: set[Triple] = set()
        self.steps = 0

    def record(self, after: DeviceState, request: Request, status: Status) -> None:
        self.steps += 1
        self.states.add(after)
        self.triples.add((request.op, request.actor.role.value, int(status)))


@attrs.frozen
class Scope:
    """The small world coverage is measured in: services, instance names, and the parameter
    name and value that ``str`` arguments take."""

    services: tuple[str, ...] = ("MMS",)
    instances: tuple[str, ...] = ("a", "b")
    param: str = "MMSC"
    value: str = "x"
    max_states: int = 20_000

    def alphabet(self) -> Alphabet:
        """The world of this scope: its one parameter name and value, declined confirmations
        and malformed requests included."""
        world = Alphabet(self.services, self.instances, (self.param,), (self.value,))
        return attrs.evolve(world, declines=True, malformed=True)

    def project(self, state: DeviceState) -> DeviceState:
        """The part of a state the scope can see: its services and instance names only.

        >>> s = DeviceState.from_json({"MMS": {"a": {}, "z": {}}, "WAP": {"a": {}}})
        >>> Scope().project(s).to_json()
        {'MMS': {'a': {'active': False, 'default': False, 'locked': False, 'params': {}}}}
        """
        out = DeviceState()
        for sname in self.services:
            kept = {n: i for n, i in state.service(sname).instances.items() if n in self.instances}
            out = out.with_service(sname, Service(FrozenMap(kept)))
        return out


DEFAULT_SCOPE = Scope()
"""The scope the conformance kit's edge-complete suite covers unless told otherwise."""


def scope_requests(spec: Spec, scope: Scope = Scope()) -> tuple[Request, ...]:
    """Every request of the scope: each operation of the spec for both actors, each target and
    argument choice, declined confirmations, and one malformed request per operation and actor.

    >>> from mostate import load_spec
    >>> reqs = scope_requests(load_spec())
    >>> {r.op for r in reqs} == set(load_spec().ops)
    True
    """
    return requests(spec, scope.alphabet())


class Universe:
    """The states and triples a scope reaches, each with a shortest request sequence to it,
    and for each state walked the requests of the alphabet that leave it as it is.

    >>> from mostate import load_spec
    >>> universe = Universe(Engine(load_spec()))
    >>> universe.complete, len(universe.states) > 100, [r.op for r in universe.reads]
    (True, True, ['get', 'get', 'get_active', 'in_use'])
    """

    def __init__(self, engine: Engine, scope: Scope = Scope()) -> None:
        self.scope = scope
        self.states: dict[DeviceState, tuple[Request, ...]] = {DeviceState(): ()}
        self.triples: dict[Triple, tuple[Request, ...]] = {}
        self.stays: dict[DeviceState, tuple[Request, ...]] = {}
        self.moves: dict[DeviceState, tuple[Request, ...]] = {}
        self.engine = engine
        self.alphabet = scope_requests(engine.spec, scope)
        self.reads = tuple(
            r
            for r in self.alphabet
            if r.actor.role is Role.USER
            and r.service is not None
            and engine.spec.ops[r.op].result is not None
        )
        self.complete = self._walk(engine, self.alphabet)

    def _walk(self, engine: Engine, alphabet: tuple[Request, ...]) -> bool:
        """Walk the scope breadth-first (:func:`mostate.bfs.walk`), each state's requests in
        alphabet order: whether it was walked whole (within ``max_states``)."""
        search = bfs.Search([DeviceState()])

        def successors(index: int, state: DeviceState) -> Iterator[tuple[int, DeviceState]]:
            path = tuple(alphabet[r] for r in search.path(index))
            stays: list[Request] = []
            moves: list[Request] = []
            for r, request in enumerate(alphabet):
                out = engine.apply(state, request)
                triple = (request.op, request.actor.role.value, int(out.status))
                self.triples.setdefault(triple, (*path, request))
                (stays if out.state == state else moves).append(request)
                yield r, out.state
            self.stays[state], self.moves[state] = tuple(stays), tuple(moves)

        def bounded(found: int) -> None:
            if found > self.scope.max_states:
                raise bfs.Stop("max states")

        try:
            bfs.walk(search, successors, check=bounded)
        except bfs.Stop:
            return False
        finally:
            self.states = {
                s: tuple(alphabet[r] for r in search.path(i)) for i, s in enumerate(search.states)
            }
        return True

    def suite(self) -> tuple[tuple[Request, ...], ...]:
        """The edge-complete suite. First, for every state walked (breadth-first order), the
        shortest path to it followed by every request that leaves it unchanged (refusals and
        queries, where a missing guard shows) and the :attr:`reads` (the user's well-formed
        queries). Then, for every state and each request that changes it, the path, that
        request and the reads, which show the new state even when the device's ``observe``
        hides part of it.

        Every request of the alphabet is so sent in every state, on a device that got there by
        requests the spec accepts: a device wrong on one transition of the scope fails one of
        these sequences (on a correct device, each unchanged-state request leaves the state as
        the next one needs it).

        >>> from mostate import load_spec
        >>> universe = Universe(Engine(load_spec()))
        >>> suite = universe.suite()
        >>> len(suite) == len(universe.states) + sum(map(len, universe.moves.values()))
        True
        >>> [r.op for r in suite[0]][-5:]  # the empty device: what leaves it empty, the reads
        ['set_locked', 'get', 'get', 'get_active', 'in_use']
        """
        out = [(*self.states[state], *stays, *self.reads) for state, stays in self.stays.items()]
        for state, moves in self.moves.items():
            path = self.states[state]
            out.extend((*path, request, *self.reads) for request in moves)
        return tuple(out)

    def report(self, coverage: Coverage) -> CoverageReport:
        """How much of this universe ``coverage`` visited, and what it missed."""
        seen = {self.scope.project(s) for s in coverage.states}
        states = seen & self.states.keys()
        triples = coverage.triples & self.triples.keys()
        return CoverageReport(
            steps=coverage.steps,
            distinct_states=len(coverage.states),
            distinct_triples=len(coverage.triples),
            scope_states=len(self.states),
            scope_states_visited=len(states),
            scope_triples=len(self.triples),
            scope_triples_visited=len(triples),
            missed_triples=tuple(sorted(self.triples.keys() - coverage.triples)),
            missed_states=len(self.states) - len(states),
        )


@attrs.frozen
class CoverageReport:
    """The numbers of a coverage comparison (``to_json`` for ``--format json``)."""

    steps: int
    distinct_states: int
    distinct_triples: int
    scope_states: int
    scope_states_visited: int
    scope_triples: int
    scope_triples_visited: int
    missed_triples: tuple[Triple, ...]
    missed_states: int

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["missed_triples"] = [list(t) for t in self.missed_triples]
        return out
