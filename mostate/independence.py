"""Two-run properties, checked on concrete states: a step's verdict must not depend on a flag.

``[independence.NAME]`` in a spec says that, for requests of some actors, whether and how a
request is executed does not depend on one flag (the shipped spec: Locked never blocks a server).
One step cannot show that; two can: the same request from the same state with the flag flipped on
one instance, anywhere on the device (a Locked flag in another service must not block a server
either). The Z3 side (:mod:`mostate.symbolic`) makes the same comparison symbolically.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, assert_never

import attrs

from .model import Clause, DeviceState, Instance, Outcome, Request, Role, Service
from .rules import Confirmation, Effect, Field, Operation, Read, Refusal, Spec, Unchanged, walk


class Steps(Protocol):
    """What the two runs need of an engine (:class:`~mostate.engine.Engine` is one): the spec,
    the raw step, and the invariants a state breaks. The engine calls in here, so this module
    names no engine."""

    @property
    def spec(self) -> Spec: ...

    def evaluate(self, state: DeviceState, request: Request) -> _Step: ...

    def state_violations(self, state: DeviceState) -> tuple[Clause, ...]: ...


class _Step(Protocol):
    @property
    def outcome(self) -> Outcome: ...


def independence_violations(
    engine: Steps, state: DeviceState, request: Request, first: Outcome | None = None
) -> tuple[Clause, ...]:
    """The independence properties ``request`` breaks from ``state``, found by flipping the
    field on each existing instance of the device in turn (any service, not only the
    target's) and comparing the two steps.

    The one definition every checker uses: both states keep the invariants (a flip that breaks
    one gives no state a device can be in, so nothing is compared), the flipped instance exists,
    and the two steps must agree on status, result and next state, the field left out.

    ``first`` is the raw outcome of the request from ``state`` when the caller has it already.
    """
    applicable = [i for i in engine.spec.independences if request.actor.role in i.roles]
    if request.service is None or not applicable:
        return ()
    broken = []
    if first is None:
        first = engine.evaluate(state, request).outcome
    for indep in applicable:
        for flipped in _flips(state, indep.field):
            if engine.state_violations(flipped):
                continue  # not a state a device can be in: no verdict to compare
            second = engine.evaluate(flipped, request).outcome
            if not _same_apart_from(first, second, indep.field):
                broken.append(Clause("independence", indep.name, indep.loc))
                break
    return tuple(broken)


def reads_field(op: Operation, role: Role, field: Field) -> bool:
    """Whether the outcome of ``op`` for a request of ``role`` may depend on ``field`` as the
    two-run check compares it.

    The check compares status, result and next state with ``field`` blanked, so an expression
    matters when it reads ``field`` (``Read`` of it, primed or not, or ``unchanged``, which
    reads every field) and is a refusal condition, the result, or the update of another field.
    An update of ``field`` itself may read it freely: only ``field`` changes, and it is blanked.
    When this is false, the two runs cannot differ and :func:`independence_violations` would
    find nothing, which is how the explorer skips them; a test holds the two together.

    >>> from mostate import load_spec
    >>> spec = load_spec()
    >>> server, user = Role.SERVER, Role.USER
    >>> reads_field(spec.ops["delete"], server, Field.LOCKED)
    False
    >>> reads_field(spec.ops["delete"], user, Field.LOCKED)
    True
    """
    exprs = [] if op.result is None else [op.result]
    for step in op.steps:
        match step:
            case Refusal():
                exprs += [step.when] if role in step.roles else []
            case Confirmation():
                pass  # it reads no flag
            case Effect():
                exprs.extend(expr for updated, expr in step.updates if updated is not field)
            case _:
                assert_never(step)
    return any(
        isinstance(node, Unchanged) or (isinstance(node, Read) and node.field is field)
        for expr in exprs
        for node in walk(expr)
    )


def _flips(state: DeviceState, field: Field) -> Iterator[DeviceState]:
    """``state`` with ``field`` negated on one existing instance, for each instance of every
    service in turn."""
    for service, held in state.services.items():
        instances = held.instances
        for name, inst in instances.items():
            flipped = _with_flag(inst, field, not getattr(inst, field.value))
            yield state.with_service(service, Service(instances.set(name, flipped)))


def _same_apart_from(a: Outcome, b: Outcome, field: Field) -> bool:
    """Same status, same result and same next state, once ``field`` is blanked everywhere."""
    if a.status != b.status:
        return False
    if isinstance(a.result, Instance) and isinstance(b.result, Instance):
        if not _alike(a.result, b.result, field):
            return False
    elif a.result != b.result:
        return False
    services_a, services_b = a.state.services.to_dict(), b.state.services.to_dict()
    if services_a.keys() != services_b.keys():
        return False
    for name, svc in services_a.items():
        mine, other = svc.instances.to_dict(), services_b[name].instances.to_dict()
        if mine.keys() != other.keys():
            return False
        if not all(_alike(inst, other[n], field) for n, inst in mine.items()):
            return False
    return True


def _alike(a: Instance, b: Instance, field: Field) -> bool:
    """Equal in every field but ``field``."""
    if a is b:
        return True
    return all(getattr(a, attr) == getattr(b, attr) for attr in _OTHERS[field])


_OTHERS = {
    field: tuple(f.name for f in attrs.fields(Instance) if f.name != field.value) for field in Field
}
"""The fields of an instance the two runs compare, with each field blanked."""


def _with_flag(inst: Instance, field: Field, value: bool) -> Instance:
    changed: dict[str, Any] = {field.value: value}
    return attrs.evolve(inst, **changed)
