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

import attrs

from ..frozenmap import FrozenMap
from ..model import DeviceState, Instance, Request, Service, flag_values

Renaming = Mapping[str, str]
_Key = tuple[object, ...]
_ABSENT: tuple[int] = (1,)


def _record_key(inst: Instance | None) -> _Key:
    if inst is None:
        return _ABSENT
    return (0, *flag_values(inst), tuple(inst.params.items()))


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


@attrs.frozen
class Form:
    """A state's canonical form: the canonical state, the renaming to it, and for each name the
    name whose new name is the first of its group of equal contents."""

    state: DeviceState
    renaming: dict[str, str] = attrs.field(eq=False)
    holder: dict[str, str] = attrs.field(eq=False)


def form(state: DeviceState, names: tuple[str, ...]) -> Form:
    """The canonical form of ``state`` (see :func:`canonical`), with what steps need.

    >>> s = DeviceState.from_json({"MMS": {"i3": {}}})
    >>> f = form(s, ("i1", "i2", "i3"))
    >>> f.renaming["i3"], f.holder["i2"]
    ('i1', 'i1')
    """
    ordered = sorted(_contents(state, names), key=lambda item: item[0])
    renaming: dict[str, str] = {}
    holder: dict[str, str] = {}
    first: tuple[_Key, str] | None = None
    for (key, old), new in zip(ordered, names, strict=True):
        renaming[old] = new
        if first is None or first[0] != key:
            first = (key, old)
        holder[old] = first[1]
    identity = all(old == new for old, new in renaming.items())
    return Form(state if identity else rename_state(state, renaming), renaming, holder)


def canonical_step(
    state: DeviceState, request: Request, names: tuple[str, ...], known: Form | None = None
) -> tuple[DeviceState, Request, dict[str, str]]:
    """The canonical form of a step: the canonical state, and the request renamed so that its
    target is the first of the names with the same contents (those are interchangeable, so the
    renaming that swaps them keeps the state). Equivalent steps get equal canonical forms.

    >>> from mostate import Actor
    >>> s = DeviceState.from_json({"MMS": {"i1": {}, "i3": {}}})
    >>> get = Request(Actor.user(), "get", "MMS", "i3")
    >>> c, r, renaming = canonical_step(s, get, ("i1", "i2", "i3"))
    >>> r.instance, sorted(c.service("MMS").instances)
    ('i1', ['i1', 'i2'])
    """
    found = known if known is not None else form(state, names)
    renaming = found.renaming
    target = request.instance
    if target is not None and target in renaming:
        holder = found.holder[target]
        if holder != target:
            renaming = dict(renaming)
            renaming[holder], renaming[target] = renaming[target], renaming[holder]
    return found.state, rename_request(request, renaming), renaming


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
