"""Server plans: the shortest sequence of requests from a device's state to a goal.

A goal is a boolean expression of the spec language, parsed by :func:`mostate.syntax.parse_expr`
in a scope with no arguments and no primed state (``target`` only when the plan names one, as
the instance a campaign is about) and compiled by :func:`mostate.concrete.compile_expr`: it reads
a state the way an invariant does, for the plan's service. The search is the breadth-first
kernel (:func:`mostate.bfs.walk`) over the real names of the start state (no symmetry: those
names mean something to the campaign), each request answered by :meth:`Engine.apply
<mostate.engine.Engine.apply>` as a device would, the goal tested as states are found.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ..bfs import Search, Stop, walk
from ..concrete import Compiled, Env, View, compile_expr
from ..engine import Engine
from ..errors import Location
from ..model import DeviceState, Request, Role
from ..rules import Expr, Type, conjuncts
from ..syntax import Scope, parse_expr
from ..trace import Trace
from .scope import ExploreScope, op_requests


@attrs.frozen
class Goal:
    """A condition on a state, for one service (and one named instance, if ``target``)."""

    text: str
    service: str
    target: str | None
    check: Compiled = attrs.field(eq=False, repr=False)
    expr: Expr = attrs.field(eq=False, repr=False)
    parts: tuple[Compiled, ...] = attrs.field(eq=False, repr=False)
    """Each conjunct of the goal (:func:`mostate.rules.conjuncts`), compiled."""

    @classmethod
    def parse(cls, text: str, service: str = "MMS", target: str | None = None) -> Goal:
        """Parse a goal; a :class:`~mostate.errors.SpecError` says where it is wrong.

        >>> g = Goal.parse("exists(target) and active(target)", target="new")
        >>> g.holds(DeviceState.from_json({"MMS": {"new": {"active": True}}}))
        True
        >>> Goal.parse("active(tagret)", target="new")
        Traceback (most recent call last):
        ...
        mostate.errors.SpecError: <goal>:1:8: unknown name 'tagret'; did you mean 'target'?
        """
        scope = Scope(target=target is not None)
        expr = parse_expr(text, scope, Location("<goal>", 1, 1), Type.BOOL)
        parts = tuple(compile_expr(part) for part in conjuncts(expr))
        return cls(text, service, target, compile_expr(expr), expr, parts)

    def holds(self, state: DeviceState) -> bool:
        return bool(self.check(self._env(state)))

    def met(self, state: DeviceState) -> tuple[bool, ...]:
        """Whether each conjunct holds in ``state`` (the goal holds when all do).

        >>> g = Goal.parse("exists(target) and active(target)", target="new")
        >>> g.met(DeviceState.from_json({"MMS": {"new": {}}}))
        (True, False)
        """
        env = self._env(state)
        return tuple(bool(part(env)) for part in self.parts)

    def _env(self, state: DeviceState) -> Env:
        env = Env(View(state), self.service, Role.SERVER)
        if self.target is not None:
            env.target = (self.service, self.target)
        return env


@attrs.frozen
class Plan:
    """The shortest trace to the goal, or why there is none (``bounded``: the search stopped
    at ``max_states`` before it could say)."""

    trace: Trace | None
    states: int
    reason: str = ""
    bounded: bool = False


def plan(
    engine: Engine,
    start: DeviceState,
    goal: Goal,
    *,
    roles: frozenset[Role] = frozenset({Role.SERVER}),
    values: int = 2,
    max_states: int = 200_000,
) -> Plan:
    """The shortest sequence of requests by ``roles`` that takes ``start`` to ``goal``.

    >>> from mostate import load_spec
    >>> start = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {}}})
    >>> goal = Goal.parse("active(target) and locked(target)", target="new")
    >>> [r.op for r in plan(Engine(load_spec()), start, goal).trace.requests]
    ['add', 'set_active', 'set_locked']
    """
    requests = plan_requests(engine, start, goal, roles, values)
    search = Search([start])

    def successors(_: int, state: DeviceState) -> Iterator[tuple[int, DeviceState]]:
        return ((r, engine.apply(state, request).state) for r, request in enumerate(requests))

    def bounded(found: int) -> None:
        if found > max_states:
            raise Stop(f"stopped after {found} states (--max-states {max_states})")

    try:
        reached = walk(search, successors, goal=goal.holds, check=bounded)
    except Stop as stop:
        return Plan(None, len(search.states), str(stop), bounded=True)
    if reached is not None:
        trace = Trace(start, tuple(requests[r] for r in search.path(reached)))
        return Plan(trace, len(search.states))
    why = (
        f"none of the {len(search.states)} states reachable from the start with "
        f"{len(requests)} kinds of request by {_names(roles)} satisfies the goal"
    )
    return Plan(None, len(search.states), why)


def _names(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(r.value for r in roles))


def plan_requests(
    engine: Engine, start: DeviceState, goal: Goal, roles: frozenset[Role], values: int
) -> tuple[Request, ...]:
    """The requests a plan from ``start`` sends: the one alphabet (:mod:`mostate.alphabet`)
    over the names of the start and the goal's target, by ``roles``."""
    services = sorted(set(start.services) | {goal.service})
    names = {n for s in start.services.values() for n in s.instances}
    if goal.target is not None:
        names.add(goal.target)
    scope = ExploreScope(max(1, len(names)), values, services=tuple(services))
    ordered = tuple(sorted(names)) or scope.names
    return tuple(
        r
        for op in engine.spec.ops.values()
        for r in op_requests(op, scope, ordered)
        if r.actor.role in roles
    )
