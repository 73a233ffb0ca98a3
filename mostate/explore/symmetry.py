"""Symmetry reduction: instance names are interchangeable, so one state stands for its orbit.

Why this is sound: the spec language cannot name a particular instance. Expressions compare
instances only with each other and with ``target``, and the scope sends every request to every
name ``i1..iN``; so renaming the names of a state (the same renaming in every service) renames
its successors and keeps every verdict. The one place names are ordered is ``the(i, ...)`` when
several instances qualify, which happens only in states that already break an invariant; every
trace the explorer reports is replayed on the real names by the engine, so this cannot produce
a false report.

The canonical form of a state gives the names, in order, to the instances sorted by what they
hold (their record in every service, absent last). Names with equal contents are
interchangeable, so ties do not matter: the canonical form is exact, and an orbit has
``N! / prod(k!)`` members for the groups of ``k`` names with equal contents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from ..frozenmap import FrozenMap
from ..model import DeviceState, Instance, Request, Service

Renaming = Mapping[str, str]
_Key = tuple[object, ...]
_ABSENT: tuple[int] = (1,)


def _record_key(inst: Instance | None) -> _Key:
    if inst is None:
        return _ABSENT
    return (0, inst.active, inst.default, inst.locked, tuple(inst.params.items()))


def _contents(state: DeviceState, names: tuple[str, ...]) -> list[tuple[_Key, str]]:
    services = list(state.services.values())
    return [
        (tuple(_record_key(svc.instances.get(name)) for svc in services), name) for name in names
    ]


def canonical(state: DeviceState, names: tuple[str, ...]) -> tuple[DeviceState, dict[str, str]]:
    """The canonical member of the state's orbit, and the renaming (real name -> canonical).

    Only the given names are renamed (the scope's ``i1..iN``); other names stay as they are.

    >>> s = DeviceState.from_json({"MMS": {"i2": {"active": True}}})
    >>> c, renaming = canonical(s, ("i1", "i2", "i3"))
    >>> c.to_json()["MMS"]["i1"]["active"], renaming["i2"]
    (True, 'i1')
    """
    ordered = sorted(_contents(state, names), key=lambda item: item[0])
    renaming = {old: new for (_, old), new in zip(ordered, names, strict=True)}
    if all(old == new for old, new in renaming.items()):
        return state, renaming
    return rename_state(state, renaming), renaming


def rename_state(state: DeviceState, renaming: Renaming) -> DeviceState:
    """The state with its instances renamed (names the renaming does not list stay).

    >>> s = DeviceState.from_json({"MMS": {"a": {}}})
    >>> list(rename_state(s, {"a": "b"}).service("MMS").instances)
    ['b']
    """
    return DeviceState(
        FrozenMap(
            (
                sname,
                Service(
                    FrozenMap(
                        (renaming.get(name, name), inst) for name, inst in svc.instances.items()
                    )
                ),
            )
            for sname, svc in state.services.items()
        )
    )


def rename_request(request: Request, renaming: Renaming) -> Request:
    """The request sent to the renamed target (requests without a target are unchanged).

    >>> from mostate import Actor
    >>> rename_request(Request(Actor.user(), "get", "MMS", "a"), {"a": "b"}).instance
    'b'
    """
    if request.instance is None or request.instance not in renaming:
        return request
    return Request(
        request.actor,
        request.op,
        request.service,
        renaming[request.instance],
        request.args,
        request.confirm,
    )


def inverse(renaming: Renaming) -> dict[str, str]:
    """The renaming that undoes ``renaming``.

    >>> inverse({"a": "b", "b": "a"})
    {'b': 'a', 'a': 'b'}
    """
    return {new: old for old, new in renaming.items()}


def orbit_size(state: DeviceState, names: tuple[str, ...]) -> int:
    """How many states the canonical ``state`` stands for: ``N! / prod(k!)``.

    >>> s = DeviceState.from_json({"MMS": {"i1": {}}})
    >>> orbit_size(s, ("i1", "i2", "i3")), orbit_size(DeviceState(), ("i1", "i2"))
    (3, 1)
    """
    groups = Counter(key for key, _ in _contents(state, names))
    size = math.factorial(len(names))
    for count in groups.values():
        size //= math.factorial(count)
    return size
