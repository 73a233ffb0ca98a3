"""Plans for a fleet, computed once per canonical state.

Instance names are interchangeable to the spec (see :mod:`mostate.explore.symmetry`), except the
campaign's target, which the goal names. So a device's state is first renamed, every instance but
the target given a neutral name, and brought to its canonical form; the plan for that form is
computed once, replayed through the engine to check it reaches the goal with the campaign's
parameters, and renamed back for each device. A fleet of millions holds a few thousand canonical
states, so planning costs about what reading and writing the lines costs.

The plan is as short as :func:`mostate.explore.plan`'s, and the same when it sends requests to
the target only (what a campaign's goal asks); where it must also touch other instances, it may
take interchangeable ones in another order, since the search runs on canonical names.

Parameter values are interchangeable too, but for the strings something can name: the spec's
and the goal's string literals, the keys and values the plan's requests carry and the campaign's
parameters. The spec language reads strings only by equality (``<`` compares integers only), so
renaming every other string, one to one, renames the whole search: a device whose MMSC is
``http://a`` and one whose MMSC is ``http://b`` share one plan. (:func:`abstract_values`.)

The search is :func:`mostate.explore.plan`'s breadth-first search over the same requests in the
same order, except that it tests the goal on each new state as it is found rather than when it
is taken from the queue (the first goal state found is the first one the queue would yield), and
that it is guided by what the spec proves of the goal's conjuncts, leaving out states that cannot
lie on a shortest plan (:mod:`mostate.campaign.search`): the plan is the same, found without
walking the rest of the state space. A goal it cannot reach is
handed to :func:`mostate.explore.plan` itself, whose reason is the one ``mostate plan`` gives.
(One difference: a goal found past ``max_states`` is reported where ``mostate plan`` would
already have stopped.)
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..engine import Engine
from ..errors import Location
from ..explore.plan import Goal, plan, plan_requests
from ..explore.symmetry import canonical, rename_request, rename_state
from ..frozenmap import FrozenMap
from ..model import DeviceState, Instance, Request, Role, Service, Status
from ..progress import Progress
from ..rules import Lit, Type, spec_exprs, walk
from ..syntax import Scope, parse_expr
from .search import shortest

NEUTRAL = "campaign-instance-"
"""The prefix of the neutral names given to the instances that are not the target."""
PLACEHOLDER = "campaign-value-"
"""The prefix of the strings parameter keys and values are renamed to."""

Params = FrozenMap[str, str]


def _params(value: Mapping[str, str]) -> Params:
    return FrozenMap(sorted(value.items()))


@attrs.frozen
class Campaign:
    """What a campaign asks of every device: a goal on one service, the instance ``target``
    names, and the parameters that instance is added with. A value, so that it travels to
    worker processes and Dask workers, which build their own planner from it.

    >>> Campaign("active(target)", "new").service
    'MMS'
    """

    goal: str
    target: str
    service: str = "MMS"
    params: Params = attrs.field(default=FrozenMap(), converter=_params)
    values: int = 2
    max_states: int = 200_000
    spec: str | None = None
    """The spec file (None: the shipped ccs.toml)."""
    progress: Progress | None = None
    """What the spec proves of the goal's conjuncts
    (:func:`mostate.symbolic.progress.prove_goal` on this spec and goal): the search is guided
    by it, the same plans found sooner (:mod:`mostate.campaign.search`); None: the plain
    breadth-first search."""


@attrs.frozen
class DevicePlan:
    """One device's plan: the requests in order, or why the goal cannot be reached.

    >>> DevicePlan("d1", None, "no way").to_json()
    {'device': 'd1', 'unreachable': 'no way'}
    """

    device: str
    requests: tuple[Request, ...] | None
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        if self.requests is None:
            return {"device": self.device, "unreachable": self.reason}
        return {"device": self.device, "plan": [r.to_json() for r in self.requests]}


Found = tuple[tuple[Request, ...] | None, str]
"""A plan's requests, or None and the reason there is none."""


class CampaignPlanner:
    """The planner of one campaign, with its cache of plans by canonical state.

    >>> from mostate import load_spec
    >>> campaign = Campaign("exists(target) and active(target)", "new")
    >>> planner = CampaignPlanner(Engine(load_spec()), campaign)
    >>> state = DeviceState.from_json({"MMS": {"old": {"active": True}}})
    >>> [r.op for r in planner.plan("d1", state).requests]
    ['add', 'set_active']
    """

    def __init__(self, engine: Engine, campaign: Campaign) -> None:
        self.engine, self.campaign = engine, campaign
        self.target = campaign.target
        self.goal = Goal.parse(campaign.goal, campaign.service, campaign.target)
        self.cache: dict[DeviceState, Found] = {}
        self.progress = campaign.progress
        if self.progress is not None and (
            self.progress.goal != campaign.goal or self.progress.size != len(self.goal.parts)
        ):
            raise ValueError(f"the facts were proved of {self.progress.goal!r}, not this goal")
        self.fixed = fixed_strings(engine, campaign)
        # The requests of a search depend on the services and names only, which canonical
        # forms share: built once per kind, not once per form.
        self.alphabets: dict[tuple[frozenset[str], frozenset[str]], tuple[Request, ...]] = {}

    def plan(self, device: str, state: DeviceState) -> DevicePlan:
        """The plan for one device in ``state``; RequestError if no device can be in it."""
        self.engine.validate(state)
        return DevicePlan(device, *self.found(state))

    def found(self, state: DeviceState) -> Found:
        """The plan for ``state`` (valid), from the cache of its canonical form."""
        names = sorted({n for s in state.services.values() for n in s.instances} - {self.target})
        if any(n.startswith(NEUTRAL) for n in names):  # would clash with the neutral names
            return self._planned(state)
        neutral = tuple(f"{NEUTRAL}{k}" for k in range(1, len(names) + 1))
        first = dict(zip(names, neutral, strict=True))
        form, second = canonical(rename_state(state, first), neutral)
        if self.fixed is not None:
            form, third = canonical(abstract_values(form, self.fixed), neutral)
            second = {old: third[new] for old, new in second.items()}
        found = self.cache.get(form)
        if found is None:
            found = self.cache[form] = self._planned(form)
        requests, reason = found
        if requests is None:
            return None, reason
        back = {second[first[real]]: real for real in names}
        return tuple(rename_request(r, back) for r in requests), ""

    def _planned(self, state: DeviceState) -> Found:
        kind = (
            frozenset(state.services),
            frozenset(n for s in state.services.values() for n in s.instances),
        )
        alphabet = self.alphabets.get(kind)
        if alphabet is None:
            alphabet = self.alphabets[kind] = plan_requests(
                self.engine, state, self.goal, frozenset({Role.SERVER}), self.campaign.values
            )
        campaign = self.campaign
        requests = shortest(
            self.engine, state, self.goal, values=campaign.values,
            max_states=campaign.max_states, alphabet=alphabet, progress=self.progress,
        )  # fmt: skip
        if requests is None:
            found = plan(
                self.engine,
                state,
                self.goal,
                values=self.campaign.values,
                max_states=self.campaign.max_states,
            )
            return None, found.reason
        return self._replayed(state, tuple(self._with_params(r) for r in requests))

    def _replayed(self, state: DeviceState, requests: tuple[Request, ...]) -> Found:
        """The plan if it still reaches the goal with the campaign's parameters."""
        after = state
        for request in requests:
            outcome = self.engine.apply(after, request)
            if outcome.status != Status.OK:
                return None, f"{request.op} answers {int(outcome.status)}: {outcome.reason}"
            after = outcome.state
        if not self.goal.holds(after):
            return None, "with the campaign's parameters the plan no longer reaches the goal"
        return requests, ""

    def _with_params(self, request: Request) -> Request:
        """An add of the target carries the campaign's parameters (none when it has none)."""
        if request.op != "add" or request.instance != self.target:
            return request
        args = FrozenMap((k, v) for k, v in request.args.items() if k != "params")
        if self.campaign.params:
            args = args.set("params", self.campaign.params)
        return attrs.evolve(request, args=args)


def fixed_strings(engine: Engine, campaign: Campaign) -> frozenset[str] | None:
    """The strings a search can tell apart from others (see the module docstring); None when a
    placeholder is among them, so that no renaming is made.

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> sorted(fixed_strings(engine, Campaign("active(target)", "n", params={"K": "x"})))
    ['K', 'p', 'v1', 'v2', 'x']
    """
    goal = parse_expr(campaign.goal, Scope(target=True), Location("<goal>", 1, 1), Type.BOOL)
    literals = {
        node.value
        for expr in [*spec_exprs(engine.spec), goal]
        for node in walk(expr)
        if isinstance(node, Lit) and isinstance(node.value, str)
    }
    # The strings the plan's requests carry (they do not depend on the instance names).
    parsed = Goal.parse(campaign.goal, campaign.service, campaign.target)
    server = frozenset({Role.SERVER})
    for request in plan_requests(engine, DeviceState(), parsed, server, campaign.values):
        for value in request.args.values():
            if isinstance(value, str):
                literals.add(value)
            elif isinstance(value, FrozenMap):
                literals.update(value.keys(), value.values())
    fixed = frozenset(literals | set(campaign.params.keys()) | set(campaign.params.values()))
    return None if any(s.startswith(PLACEHOLDER) for s in fixed) else fixed


def abstract_values(state: DeviceState, fixed: frozenset[str]) -> DeviceState:
    """``state`` with each parameter key and value not in ``fixed`` renamed, one to one, to a
    placeholder numbered in order of first appearance.

    >>> a, b = {"params": {"K": "x"}}, {"params": {"K": "y"}}
    >>> s = DeviceState.from_json({"MMS": {"a": a, "b": b}})
    >>> abstract_values(s, frozenset({"K"})).to_json()["MMS"]["b"]["params"]
    {'K': 'campaign-value-2'}
    """
    names: dict[str, str] = {}

    def rename(text: str) -> str:
        if text in fixed:
            return text
        return names.setdefault(text, f"{PLACEHOLDER}{len(names) + 1}")

    def instance(inst: Instance) -> Instance:
        if not inst.params:
            return inst
        params = FrozenMap((rename(k), rename(v)) for k, v in inst.params.items())
        return attrs.evolve(inst, params=params)

    return DeviceState(
        FrozenMap(
            (sname, Service(FrozenMap((n, instance(i)) for n, i in svc.instances.items())))
            for sname, svc in state.services.items()
        )
    )
