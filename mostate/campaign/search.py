"""One plan's search: the shortest server requests from a state to a goal, guided by what the
spec proves about the goal's conjuncts.

The plain search is the breadth-first kernel (:func:`mostate.bfs.walk`) over
:func:`mostate.explore.plan`'s requests in the same order, the goal tested as states are found.
Each extra flag a goal asks for multiplies its cost by the number of requests (about ten): a
three-flag goal walks every state two requests away. The guided search
(:func:`mostate.bfs.guided`) finds the same plan, request for request, while walking a few
states per level, from two facts about the goal's conjuncts that :mod:`mostate.symbolic.progress`
proves from the spec for any number of instances (a :class:`~mostate.progress.Progress`):

* which pairs of conjuncts no one request makes true together: the conjuncts fall into groups
  one request completes at most one of, so the number of groups not yet done is a consistent
  lower bound on the requests left (:meth:`Progress.estimate`);
* which conjuncts no request of an operation makes true, sent to the goal's instance or
  elsewhere: from a state the bound leaves no slack, only requests that may make an unmet
  conjunct true can lead anywhere, and the others are not even sent (``active(target)``: only a
  ``set_active`` of the target).

The facts are a value (:attr:`mostate.campaign.Campaign.progress`), proved once by whoever
starts the campaign (``mostate campaign plan`` and ``create`` do, when Z3 is installed:
``mostate[verify]``) and carried to every planner, in this process or a worker: no worker
imports the solver. Without them the search is the plain one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .. import bfs
from ..engine import Engine
from ..explore.plan import Goal, plan_requests
from ..model import DeviceState, Request, Role
from ..progress import Progress

Step = Callable[[DeviceState, Request], DeviceState]


def stepper(engine: Engine) -> Step:
    """The state a request leads to from a valid state, as :meth:`Engine.apply` gives it.

    Every state a plan's search meets keeps the invariants (its start is valid, and a step that
    would break one leaves the state as it was), so a monitored step is checked on what it
    changed (:meth:`Engine.evaluate_valid`)."""
    if not engine.monitor:
        return lambda state, request: engine.apply(state, request).state

    def step(state: DeviceState, request: Request) -> DeviceState:
        outcome, broken = engine.evaluate_valid(state, request)
        return state if broken else outcome.state

    return step


def shortest(
    engine: Engine,
    start: DeviceState,
    goal: Goal,
    *,
    values: int = 2,
    max_states: int = 200_000,
    alphabet: tuple[Request, ...] | None = None,
    progress: Progress | None = None,
) -> tuple[Request, ...] | None:
    """The requests of :func:`mostate.explore.plan`'s plan from ``start`` (valid), or None when
    there is none within ``max_states`` states. ``alphabet``: the requests
    :func:`mostate.explore.plan` would send from ``start``, if known; ``progress``: what is
    proved of the goal (None: the plain breadth-first search). The plain search also runs
    when the facts leave the conjuncts in one group: the estimate is then at most one, which
    prunes nothing but the last level, and the guided search's repeated walks cost more than
    that saves (a goal such as ``exists(target) and count(i, exists(i)) == 1``). The guided
    walks share one budget of ``max_states`` steps (the plain search's ``max_states`` states
    cost at least as many); when they spend it (a goal out of reach, whose
    walks go on until the bound passes the deepest state), the plain search decides, within its
    own: the answer is the plain search's in every case, at most ``max_states`` states later.

    >>> from mostate import load_spec
    >>> engine, goal = Engine(load_spec()), Goal.parse("exists(target)", target="new")
    >>> [r.op for r in shortest(engine, DeviceState(), goal)]
    ['add']
    """
    if goal.holds(start):
        return ()
    requests = alphabet
    if requests is None:
        requests = plan_requests(engine, start, goal, frozenset({Role.SERVER}), values)
    step = stepper(engine)
    if progress is not None and len(progress.groups()) >= 2:
        try:
            return _guided(start, goal, progress, requests, step, max_states)
        except bfs.Stop:
            pass  # the walks' budget spent (a goal far or out of reach): the plain search says

    def successors(_: int, state: DeviceState) -> Iterator[tuple[int, DeviceState]]:
        return ((r, step(state, request)) for r, request in enumerate(requests))

    def bounded(found: int) -> None:
        if found > max_states:
            raise bfs.Stop("max states")

    search = bfs.Search([start])
    try:
        reached = bfs.walk(search, successors, goal=goal.holds, check=bounded)
    except bfs.Stop:
        return None
    return None if reached is None else tuple(requests[r] for r in search.path(reached))


def _guided(
    start: DeviceState,
    goal: Goal,
    progress: Progress,
    requests: tuple[Request, ...],
    step: Step,
    budget: int,
) -> tuple[Request, ...] | None:
    """The guided search's plan (None: no goal reachable); bfs.Stop past ``budget`` steps."""
    spent = 0

    def budgeted(state: DeviceState, request: Request) -> DeviceState:
        nonlocal spent
        spent += 1
        if spent > budget:
            raise bfs.Stop("max states")
        return step(state, request)

    def successors(_: int, state: DeviceState) -> Iterator[tuple[int, DeviceState]]:
        return ((r, budgeted(state, request)) for r, request in enumerate(requests))

    guide = _Guide(goal, progress, requests, budgeted)
    search, reached = bfs.guided(
        start, successors, guide.estimate, goal=guide.done, tight=guide.tight
    )
    return None if reached is None else tuple(requests[r] for r in search.path(reached))


class _Guide:
    """The estimate and the narrowed successors of one guided search (not a value: it keeps
    what it computed of each state)."""

    def __init__(
        self, goal: Goal, progress: Progress, requests: tuple[Request, ...], step: Step
    ) -> None:
        self.goal, self.requests, self.step = goal, requests, step
        self.groups = progress.groups()
        self.known: dict[DeviceState, tuple[int, tuple[int, ...]]] = {}
        self.advancing: dict[tuple[int, ...], tuple[int, ...]] = {}
        self.reach = tuple(
            frozenset(
                k
                for k in range(progress.size)
                if progress.may_advance(r.op, _on_target(r, goal), (k,))
            )
            for r in requests
        )

    def _score(self, state: DeviceState) -> tuple[int, tuple[int, ...]]:
        score = self.known.get(state)
        if score is None:
            met = self.goal.met(state)
            open_ = sum(1 for members in self.groups if not all(met[k] for k in members))
            score = self.known[state] = (open_, tuple(k for k, m in enumerate(met) if not m))
        return score

    def estimate(self, state: DeviceState) -> int:
        """The groups of conjuncts not done in ``state`` (:meth:`Progress.estimate`)."""
        return self._score(state)[0]

    def done(self, state: DeviceState) -> bool:
        """The goal holds: every conjunct, hence every group, is done."""
        return self._score(state)[0] == 0

    def tight(self, _: int, state: DeviceState) -> Iterator[tuple[int, DeviceState]]:
        """The next states by the requests that may make an unmet conjunct true, in order."""
        unmet = self._score(state)[1]
        chosen = self.advancing.get(unmet)
        if chosen is None:
            wanted = set(unmet)
            chosen = tuple(r for r, reach in enumerate(self.reach) if reach & wanted)
            self.advancing[unmet] = chosen
        return ((r, self.step(state, self.requests[r])) for r in chosen)


def _on_target(request: Request, goal: Goal) -> bool:
    return request.service == goal.service and request.instance == goal.target
