"""Coverage of a random run: which states and (operation, actor, status) triples it visited.

A :class:`Coverage` records every step of a stateful run. A :class:`Universe` is what a small
:class:`Scope` (one service, two instance names by default) can reach from the empty device,
found breadth-first through the engine with requests derived from the spec (every operation,
both actors, declined confirmations, one malformed request per operation). Comparing the two
says what random testing missed, and the universe holds a shortest request sequence reaching
each missed state or triple, so a run can be seeded with them (``mostate conform --cover``).

The testing layer does not import :mod:`mostate.explore` (the checkers stay independent), so
the scope here is a small breadth-first walk of its own.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any, TypeAlias

import attrs

from ..engine import Engine
from ..frozenmap import FrozenMap
from ..model import EMPTY_PARAMS, Actor, ArgValue, Confirm, DeviceState, Request, Service, Status
from ..rules import ArgDecl, Confirmation, Operation, Spec, Type

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


def _arg_choices(decl: ArgDecl, scope: Scope) -> list[ArgValue | None]:
    if decl.type is Type.BOOL:
        return [True, False]
    if decl.type is Type.STR:
        return [scope.param if decl.is_name else scope.value]
    # An optional params map is left out; a required one is the empty map.
    return [None] if decl.optional else [EMPTY_PARAMS]


def _op_requests(op: Operation, scope: Scope) -> Iterator[Request]:
    targets: list[str | None] = list(scope.instances) if op.has_target else [None]
    confirms: list[Confirm | None] = [None]
    if any(isinstance(step, Confirmation) for step in op.steps):
        confirms.append(Confirm.DECLINE)
    arg_lists = [_arg_choices(d, scope) for d in op.args]
    for service, target, values in itertools.product(
        scope.services, targets, itertools.product(*arg_lists)
    ):
        args = FrozenMap((d.name, v) for d, v in zip(op.args, values, strict=True) if v is not None)
        yield Request(Actor.user(), op.name, service, target, args)
        for answer in confirms:
            yield Request(Actor.server(), op.name, service, target, args, answer)


def scope_requests(spec: Spec, scope: Scope = Scope()) -> tuple[Request, ...]:
    """Every request of the scope: each operation of the spec for both actors, each target and
    argument choice, declined confirmations, and one malformed request per operation and actor.

    >>> from mostate import load_spec
    >>> reqs = scope_requests(load_spec())
    >>> {r.op for r in reqs} == set(load_spec().ops)
    True
    """
    out: list[Request] = []
    for _, op in sorted(spec.ops.items()):
        out.extend(_op_requests(op, scope))
        for actor in (Actor.user(), Actor.server()):
            out.append(Request(actor, op.name))  # no service: malformed, 400
    return tuple(out)


class Universe:
    """The states and triples a scope reaches, each with a shortest request sequence to it."""

    def __init__(self, engine: Engine, scope: Scope = Scope()) -> None:
        self.scope = scope
        self.states: dict[DeviceState, tuple[Request, ...]] = {DeviceState(): ()}
        self.triples: dict[Triple, tuple[Request, ...]] = {}
        self.engine = engine
        self.alphabet = scope_requests(engine.spec, scope)
        self.complete = self._walk(engine, self.alphabet)

    def _walk(self, engine: Engine, alphabet: tuple[Request, ...]) -> bool:
        queue = deque([DeviceState()])
        while queue:
            state = queue.popleft()
            path = self.states[state]
            for request in alphabet:
                out = engine.apply(state, request)
                triple = (request.op, request.actor.role.value, int(out.status))
                self.triples.setdefault(triple, (*path, request))
                if out.state not in self.states:
                    if len(self.states) >= self.scope.max_states:
                        return False
                    self.states[out.state] = (*path, request)
                    queue.append(out.state)
        return True

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

    def witnesses(self, coverage: Coverage) -> list[tuple[Request, ...]]:
        """A shortest request sequence for each state and triple of the scope ``coverage``
        missed (sequences that are a prefix of another are left out)."""
        seen = {self.scope.project(s) for s in coverage.states}
        paths = [p for s, p in self.states.items() if s not in seen]
        paths += [p for t, p in self.triples.items() if t not in coverage.triples]
        unique = sorted(set(paths), key=len, reverse=True)
        kept: list[tuple[Request, ...]] = []
        for path in unique:
            if path and not any(k[: len(path)] == path for k in kept):
                kept.append(path)
        return kept

    def seeds(self, coverage: Coverage) -> list[tuple[Request, ...]]:
        """Request sequences that visit every state of the scope ``coverage`` missed and try
        every request of the scope there: the shortest path to the state, then the requests
        that leave it unchanged one after the other; each request that changes it gets a
        sequence of its own. Triples the run missed come with their shortest witness."""
        seen = {self.scope.project(s) for s in coverage.states}
        out: list[tuple[Request, ...]] = []
        for state, path in self.states.items():
            if state in seen:
                continue
            staying = []
            for request in self.alphabet:
                if self.engine.apply(state, request).state == state:
                    staying.append(request)
                else:
                    out.append((*path, request))
            out.append((*path, *staying))
        out += [p for t, p in self.triples.items() if t not in coverage.triples]
        return out


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
