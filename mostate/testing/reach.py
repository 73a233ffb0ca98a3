"""Setting a device up: a short sequence of server requests that takes the empty device to a
drawn state, found greedily through the engine.

The conformance kit cannot load a state into someone else's implementation; it can only send
requests. To start its random runs from deep states (several instances, flags, locks), it draws
a state that keeps the invariants and sends the requests :func:`path_to` finds for it. Nothing
here knows an operation: the candidate requests are every operation of the spec, sent by a
server to the names of the target state with argument values taken from it, and the engine
says which one brings the device closest to the target.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..engine import Engine
from ..frozenmap import FrozenMap
from ..model import EMPTY_PARAMS, FLAGS, Actor, ArgValue, DeviceState, Request, Status
from ..rules import ArgDecl, Type


def _score(state: DeviceState, target: DeviceState) -> int:
    """How many (instance, field) facts of the target the state already has, minus extras."""
    score = 0
    for sname, service in target.services.items():
        for iname, want in service.instances.items():
            have = state.instance(sname, iname)
            if have is None:
                continue
            score += 1 + sum(getattr(have, flag) == getattr(want, flag) for flag in FLAGS)
            score += sum(have.params.get(k) == v for k, v in want.params.items())
            score -= sum(k not in want.params for k in have.params)
    extra = sum(
        1
        for sname, service in state.services.items()
        for iname in service.instances
        if target.instance(sname, iname) is None
    )
    return score - extra


def _choices(decl: ArgDecl, target: DeviceState) -> list[ArgValue | None]:
    params = [p for s in target.services.values() for i in s.instances.values() for p in [i.params]]
    if decl.type is Type.BOOL:
        return [True, False]
    if decl.type is Type.STR:
        found = sorted({k if decl.is_name else v for p in params for k, v in p.items()})
        return list(found[:3]) or ["x"]
    if decl.optional:
        return [None]
    return [EMPTY_PARAMS]


def candidates(engine: Engine, target: DeviceState) -> Iterator[Request]:
    """Every server command (queries left out; no confirmation asked) to a name of ``target``.

    >>> from mostate import load_spec
    >>> t = DeviceState.from_json({"MMS": {"a": {"locked": True}}})
    >>> sorted({r.op for r in candidates(Engine(load_spec()), t)})[:3]
    ['add', 'delete', 'delete_param']
    """
    names = [(s, i) for s, svc in target.services.items() for i in svc.instances]
    for _, op in sorted(engine.spec.ops.items()):
        if op.result is not None:
            continue  # a query changes nothing (and a spec that lets it would be caught anyway)
        choices = [_choices(d, target) for d in op.args]
        for (service, instance), values in itertools.product(names, itertools.product(*choices)):
            args = FrozenMap(
                (d.name, v) for d, v in zip(op.args, values, strict=True) if v is not None
            )
            yield Request(
                Actor.server(), op.name, service, instance if op.has_target else None, args
            )


def path_to(engine: Engine, target: DeviceState, max_steps: int = 20) -> list[Request]:
    """Server requests that take the empty device as close to ``target`` as greedy search gets
    (to it exactly for the shipped spec). Each request is one the engine answers 200.

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> t = DeviceState.from_json({"MMS": {"a": {"active": True, "locked": True}, "b": {}}})
    >>> path = path_to(engine, t)
    >>> state = DeviceState()
    >>> for r in path:
    ...     state = engine.apply(state, r).state
    >>> state == t, len(path)
    (True, 4)
    """
    state, path = DeviceState(), []
    alphabet = list(candidates(engine, target))
    for _ in range(max_steps):
        if state == target:
            break
        best, best_score = None, _score(state, target)
        for request in alphabet:
            out = engine.apply(state, request)
            if out.status is Status.OK and _score(out.state, target) > best_score:
                best, best_score = (request, out.state), _score(out.state, target)
        if best is None:
            break
        path.append(best[0])
        state = best[1]
    return path
