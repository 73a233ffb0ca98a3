"""Hypothesis strategies for mostate values, derived from a spec.

Everything a spec declares decides what is generated: the operations come from ``spec.ops``,
whether a request names a target from ``Operation.has_target``, and each argument's value from
its declared type. Change the spec and the generated requests change with it. Names come from
small pools (:class:`Pools`) so that collisions (418, 404, locks held by another instance)
happen often rather than never.

States are built by applying drawn server requests through the engine from the empty device,
skipping any step that breaks the spec (as :meth:`Engine.apply` refuses it), so every drawn
state satisfies the spec's invariants without this module restating one of them.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from hypothesis import strategies as st

from ..engine import Engine
from ..frozenmap import FrozenMap
from ..model import (
    Actor,
    ArgValue,
    Confirm,
    DeviceState,
    Instance,
    Params,
    Request,
    Role,
    Service,
    Status,
)
from ..rules import Operation, Spec, Type

_UNKNOWN_OPS = ("exec", "copy", "frobnicate")


@attrs.frozen
class Pools:
    """The small sets of names generated values are drawn from.

    >>> Pools().services, Pools(instances=("x",)).instances
    (('MMS', 'WAP'), ('x',))
    """

    services: tuple[str, ...] = ("MMS", "WAP")
    instances: tuple[str, ...] = ("a", "b", "c")
    params: tuple[str, ...] = ("MMSC", "proxy")
    values: tuple[str, ...] = ("x", "y")
    server_ids: tuple[str | None, ...] = (None, "operator")

    def __attrs_post_init__(self) -> None:
        for field in ("services", "instances", "params", "values", "server_ids"):
            if not getattr(self, field):
                raise ValueError(f"Pools.{field} must not be empty")


DEFAULT_POOLS = Pools()


def names(pool: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A name from a pool; shrinks towards the first one.

    >>> names(("a", "b")).example() in ("a", "b")
    True
    """
    return st.sampled_from(pool)


def params(pools: Pools = DEFAULT_POOLS) -> st.SearchStrategy[Params]:
    """A parameter map of at most two entries.

    >>> isinstance(params().example(), FrozenMap)
    True
    """
    return st.dictionaries(names(pools.params), names(pools.values), max_size=2).map(FrozenMap)


def actors(pools: Pools = DEFAULT_POOLS) -> st.SearchStrategy[Actor]:
    """The user, or a server (with one of the pool's server ids).

    >>> actors().example().role in (Role.USER, Role.SERVER)
    True
    """
    servers = st.sampled_from(pools.server_ids).map(Actor.server)
    return st.one_of(st.just(Actor.user()), servers)


def confirms() -> st.SearchStrategy[Confirm | None]:
    """A server request's confirmation answer: none asked, accepted or declined.

    >>> confirms().example() in (None, Confirm.ACCEPT, Confirm.DECLINE)
    True
    """
    return st.sampled_from((None, Confirm.ACCEPT, Confirm.DECLINE))


def arg_values(
    typ: Type, pools: Pools = DEFAULT_POOLS, *, is_name: bool = False
) -> st.SearchStrategy[ArgValue]:
    """A value of a declared argument type (``str``, ``name``, ``bool`` or ``params``).

    >>> arg_values(Type.BOOL).example() in (True, False)
    True
    >>> arg_values(Type.STR, is_name=True).example() in Pools().params
    True
    """
    if typ is Type.BOOL:
        # true is the interesting value (it moves flags), so it comes three times in four.
        return st.sampled_from((True, True, True, False))
    if typ is Type.STR:
        return names(pools.params if is_name else pools.values)
    if typ is Type.PARAMS:
        return params(pools)
    raise ValueError(f"no argument of type {typ.value!r} can be sent in a request")


def requests_for(
    op: Operation, pools: Pools = DEFAULT_POOLS, actor: st.SearchStrategy[Actor] | None = None
) -> st.SearchStrategy[Request]:
    """A well-formed request for one operation: its declared arguments with values of their type.

    >>> from mostate import load_spec
    >>> r = requests_for(load_spec().ops["set_active"]).example()
    >>> r.op, type(r.args["value"]).__name__, r.instance in Pools().instances
    ('set_active', 'bool', True)
    """
    who = actors(pools) if actor is None else actor

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        sender = draw(who)
        service = draw(names(pools.services))
        instance = draw(names(pools.instances)) if op.has_target else None
        args: dict[str, ArgValue] = {}
        for decl in op.args:
            if decl.optional and draw(st.booleans()):
                continue
            args[decl.name] = draw(arg_values(decl.type, pools, is_name=decl.is_name))
        answer = draw(confirms()) if sender.role is Role.SERVER else None
        return Request(sender, op.name, service, instance, FrozenMap(args), answer)

    return build()


def valid_requests(
    spec: Spec, pools: Pools = DEFAULT_POOLS, actor: st.SearchStrategy[Actor] | None = None
) -> st.SearchStrategy[Request]:
    """A well-formed request for any operation of the spec (the engine never answers it 400).

    >>> from mostate import load_spec
    >>> valid_requests(load_spec()).example().op in load_spec().ops
    True
    """
    if not spec.ops:
        raise ValueError(f"spec {spec.name!r} declares no operation to send")
    return st.one_of([requests_for(op, pools, actor) for _, op in sorted(spec.ops.items())])


def malformed_requests(spec: Spec, pools: Pools = DEFAULT_POOLS) -> st.SearchStrategy[Request]:
    """A request the engine must answer 400: unknown operation, a missing service, target or
    argument, or an argument of the wrong type.

    >>> from mostate import load_spec, Engine, DeviceState
    >>> spec = load_spec()
    >>> r = malformed_requests(spec).example()
    >>> int(Engine(spec).apply(DeviceState(), r).status)
    400
    """
    valid = valid_requests(spec, pools)
    choices = [
        st.builds(_with_op, valid, st.sampled_from(_unknown_ops(spec))),
        valid.map(lambda r: attrs.evolve(r, service=None)),
    ]
    targeted = [op for _, op in sorted(spec.ops.items()) if op.has_target]
    if targeted:
        choices.append(
            st.one_of([requests_for(op, pools) for op in targeted]).map(
                lambda r: attrs.evolve(r, instance=None)
            )
        )
    with_args = [op for _, op in sorted(spec.ops.items()) if op.args]
    for op in with_args:
        choices.append(_bad_arg(op, pools))
    return st.one_of(choices)


def _with_op(request: Request, op: str) -> Request:
    return attrs.evolve(request, op=op)


def _unknown_ops(spec: Spec) -> tuple[str, ...]:
    return tuple(name if name not in spec.ops else f"{name}_unknown" for name in _UNKNOWN_OPS)


_WRONG: dict[Type, ArgValue] = {Type.BOOL: "yes", Type.STR: True, Type.PARAMS: "none"}


def _bad_arg(op: Operation, pools: Pools) -> st.SearchStrategy[Request]:
    """Requests for ``op`` with one argument of the wrong type (or a name argument that is not
    a name), or one required argument left out."""
    required = [d.name for d in op.args if not d.optional]

    def spoil(request: Request, index: int, drop: bool) -> Request:
        decl = op.args[index % len(op.args)]
        if drop and required:
            return attrs.evolve(request, args=request.args.remove(required[index % len(required)]))
        wrong = "a/b" if decl.is_name and index % 2 else _WRONG[decl.type]
        return attrs.evolve(request, args=request.args.set(decl.name, wrong))

    return st.builds(
        spoil, requests_for(op, pools), st.integers(0, len(op.args) - 1), st.booleans()
    )


def requests(
    spec: Spec, pools: Pools = DEFAULT_POOLS, malformed: float = 0.1
) -> st.SearchStrategy[Request]:
    """Mostly well-formed requests, with a share ``malformed`` of ones the engine answers 400.

    Shrinks towards a well-formed request.

    >>> from mostate import load_spec
    >>> requests(load_spec()).example().op != ""
    True
    """
    if not 0.0 <= malformed <= 1.0:
        raise ValueError("malformed must be a share between 0 and 1")
    valid, bad = valid_requests(spec, pools), malformed_requests(spec, pools)
    cut = round(100 * (1.0 - malformed))
    return st.integers(0, 99).flatmap(lambda n: valid if n < cut else bad)


def keeps_invariants(spec: Spec) -> Callable[[DeviceState], bool]:
    """A test of whether a state keeps every invariant of ``spec`` on each of its services,
    by the engine's own evaluator.

    >>> from mostate import load_spec
    >>> keeps = keeps_invariants(load_spec())
    >>> keeps(DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"active": True}}}))
    False
    """
    engine = Engine(spec)

    def keeps(state: DeviceState) -> bool:
        return not engine.state_violations(state)

    return keeps


def _flag() -> st.SearchStrategy[bool]:
    # Set one time in three: several instances of a service are then seldom all flagged.
    return st.sampled_from((False, False, True))


def drawn_states(spec: Spec, pools: Pools = DEFAULT_POOLS) -> st.SearchStrategy[DeviceState]:
    """A state drawn flag by flag and kept only when it satisfies the spec's invariants (so it
    need not be reachable from the empty device by any particular path).

    >>> from mostate import load_spec
    >>> keeps_invariants(load_spec())(drawn_states(load_spec()).example())
    True
    """
    instance = st.builds(Instance, _flag(), _flag(), _flag(), params(pools))
    # Two instances at least where the pool allows: most rules are about one instance and
    # another (the holder of a flag, a locked neighbour).
    fewest = min(2, len(pools.instances))
    service = st.dictionaries(
        names(pools.instances), instance, min_size=fewest, max_size=len(pools.instances)
    )
    state = st.dictionaries(names(pools.services), service.map(FrozenMap).map(Service), min_size=1)
    built = state.map(lambda svcs: DeviceState(FrozenMap(svcs)))
    return built.filter(keeps_invariants(spec))


def states(
    spec: Spec, pools: Pools = DEFAULT_POOLS, max_steps: int = 10
) -> st.SearchStrategy[DeviceState]:
    """A state that satisfies the spec's invariants: either drawn flag by flag and filtered
    (:func:`drawn_states`), or reached by up to ``max_steps`` server requests applied by the
    engine to the empty device (:func:`reached_states`), three times in four the former.

    >>> from mostate import load_spec
    >>> keeps_invariants(load_spec())(states(load_spec()).example())
    True
    """
    drawn, reached = drawn_states(spec, pools), reached_states(spec, pools, max_steps)
    return st.integers(0, 3).flatmap(lambda n: reached if n == 3 else drawn)


def reached_states(
    spec: Spec, pools: Pools = DEFAULT_POOLS, max_steps: int = 10
) -> st.SearchStrategy[DeviceState]:
    """A state the spec reaches: up to ``max_steps`` server requests applied by the engine to
    the empty device. The engine refuses any step that would break an invariant, so every
    state drawn keeps the spec's invariants.

    >>> from mostate import load_spec
    >>> isinstance(reached_states(load_spec()).example(), DeviceState)
    True
    """
    engine = Engine(spec)
    return st.lists(server_requests(spec, pools), max_size=max_steps).map(_fold(engine))


def server_requests(spec: Spec, pools: Pools = DEFAULT_POOLS) -> st.SearchStrategy[Request]:
    """Well-formed server requests that ask no confirmation: the steps that set a device up.

    >>> from mostate import load_spec
    >>> r = server_requests(load_spec()).example()
    >>> r.actor.role.value, r.confirm
    ('server', None)
    """
    server = st.just(Actor.server())
    return valid_requests(spec, pools, actor=server).map(lambda r: attrs.evolve(r, confirm=None))


def _fold(engine: Engine) -> Callable[[list[Request]], DeviceState]:
    def run(steps: list[Request]) -> DeviceState:
        state = DeviceState()
        for request in steps:
            # As Engine.apply would, without its warning: a step that breaks the spec is skipped.
            step = engine.evaluate(state, request)
            if not step.violations:
                state = step.outcome.state
        return state

    return run


AIMS = st.integers(0, 9)
"""The extra draw :func:`aim` takes: below 6 (three times in five), the request is aimed."""


def aim(engine: Engine, state: DeviceState, request: Request, pick: int) -> Request:
    """Aim a drawn request, for ``pick`` below 6, at a target the engine accepts (answers 200)
    in ``state``: a held instance for most operations, a name not held for one that creates.
    Random runs then build deep states (several instances, flags, locks) instead of answering
    404 and 418; the other draws keep the request as drawn, refusals included.

    Which instances are tried first depends on the drawn name and on ``pick`` (Hypothesis
    favours small numbers; the name spreads the choice). Nothing here knows an operation:
    the engine, and so the spec, decides what is accepted.

    >>> from mostate import load_spec
    >>> engine, s = Engine(load_spec()), DeviceState.from_json({"MMS": {"z": {}}})
    >>> get = Request.from_json({"actor": "user", "op": "get", "service": "MMS", "instance": "a"})
    >>> add = attrs.evolve(get, op="add")
    >>> [aim(engine, s, r, pick).instance for r, pick in ((get, 0), (add, 0), (get, 9))]
    ['z', 'a', 'a']
    """
    if request.instance is None or request.service is None or pick >= 6:
        return request
    held = list(state.service(request.service).instances)
    spread = sum(map(ord, request.instance)) + pick
    held = held[spread % len(held) :] + held[: spread % len(held)] if held else held
    fresh = [request.instance] if request.instance not in held else []
    candidates = [attrs.evolve(request, instance=name) for name in held + fresh]
    for candidate in candidates:
        if engine.evaluate(state, candidate).outcome.status is Status.OK:
            return candidate
    return candidates[0] if held else request
