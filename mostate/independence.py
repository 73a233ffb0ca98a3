"""Two-run properties, checked on concrete states: a step's verdict must not depend on a flag.

``[independence.NAME]`` in a spec says that, for requests of some actors, whether and how a
request is executed does not depend on one flag (the shipped spec: Locked never blocks a server).
One step cannot show that; two can: the same request from the same state with the flag flipped on
one instance. The Z3 side (:mod:`mostate.symbolic`) makes the same comparison symbolically.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .frozenmap import FrozenMap
from .model import Clause, DeviceState, Instance, Outcome, Request, Service
from .rules import Field

if TYPE_CHECKING:  # the engine calls in here; importing it at run time would be a cycle
    from .engine import Engine


def independence_violations(
    engine: Engine, state: DeviceState, request: Request
) -> tuple[Clause, ...]:
    """The independence properties ``request`` breaks from ``state``, found by flipping the
    field on each instance of the target's service in turn and comparing the two steps."""
    if request.service is None:
        return ()
    broken = []
    first = engine.evaluate(state, request).outcome
    for indep in engine.spec.independences:
        if request.actor.role not in indep.roles:
            continue
        for flipped in _flips(state, request.service, indep.field):
            second = engine.evaluate(flipped, request).outcome
            if not _same_apart_from(first, second, indep.field):
                broken.append(Clause("independence", indep.name, indep.loc))
                break
    return tuple(broken)


def _flips(state: DeviceState, service: str, field: Field) -> Iterator[DeviceState]:
    instances = state.service(service).instances
    for name, inst in instances.items():
        flipped = _with_flag(inst, field, not getattr(inst, field.value))
        yield state.with_service(service, Service(instances.set(name, flipped)))


def _same_apart_from(a: Outcome, b: Outcome, field: Field) -> bool:
    """Same status, same result and same next state, once ``field`` is blanked everywhere."""

    def blank(inst: Instance) -> Instance:
        return _with_flag(inst, field, False)

    def strip(state: DeviceState) -> DeviceState:
        return DeviceState(
            FrozenMap(
                (name, Service(FrozenMap((n, blank(i)) for n, i in svc.instances.items())))
                for name, svc in state.services.items()
            )
        )

    ra = blank(a.result) if isinstance(a.result, Instance) else a.result
    rb = blank(b.result) if isinstance(b.result, Instance) else b.result
    return a.status == b.status and ra == rb and strip(a.state) == strip(b.state)


def _with_flag(inst: Instance, field: Field, value: bool) -> Instance:
    flags = {"active": inst.active, "default": inst.default, "locked": inst.locked}
    flags[field.value] = value
    return Instance(flags["active"], flags["default"], flags["locked"], inst.params)
