"""What generated code calls at run time: small helpers with the interpreter's exact meaning.

Generated modules are executed with :data:`NAMESPACE` (plus their own constants) as globals, so
everything they use is listed here, by the name the emitter writes. The helpers mirror pieces of
:mod:`mostate.concrete` and :mod:`mostate.engine` (noted on each) and import nothing beyond them.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from typing import Any

import attrs

from ..concrete import ABSENT, FRESH, Ambiguous, Raw, Record, Ref, record_values
from ..errors import RequestError
from ..frozenmap import FrozenMap
from ..model import (
    EMPTY_PARAMS,
    FLAGS,
    Clause,
    DeviceState,
    Instance,
    Outcome,
    Service,
    Status,
    check_name,
)
from ..rules import CREATES_ONLY_TARGET, UNIQUE_THE, Field

MALFORMED = Clause("request", "malformed")
NONE_RECORD: Any = Raw(*(False for _ in Field))  # type: ignore[arg-type]
"""What the interpreter reads through ``none``: every field false, the parameters included."""

Violations = tuple[Clause, ...]
Answer = tuple[Outcome, Violations]


class Fallback(enum.Enum):
    """What a successor function (the explorer's form of generated code) returns where the
    engine must answer instead: a malformed request, an ambiguous ``the``, an unbounded
    effect. Rare by design: the explorer sends well-formed requests."""

    FALLBACK = "fallback"


FALLBACK = Fallback.FALLBACK
Successor = tuple[dict[str, Record] | tuple[str, Record] | None, Violations] | Fallback
"""A successor function's answer: the request's service's records after the step, raw
(a pair ``(name, record)`` when the step changed that name's record alone, ``None`` when it
changed nothing), and what the step breaks; or :data:`FALLBACK`."""


@functools.cache
def reason(status: Status, clause: Clause) -> str | None:
    """The outcome's reason: ``None`` for 200, else the status and the clause that decided it.

    >>> reason(Status.NOT_FOUND, Clause("refusal", "missing"))
    'not found: missing'
    """
    if status is Status.OK:
        return None
    return f"{status.name.lower().replace('_', ' ')}: {clause.name}"


def rec(
    ref: Ref | None, service: str, services: Any, records: dict[str, Record], fresh: Record
) -> Record:
    """The record of a reference computed at run time (``View.rec``): ``records``/``fresh`` are
    the request's service in the view at hand; other services are as the state holds them."""
    if ref is None:
        return NONE_RECORD  # type: ignore[no-any-return]
    if ref[0] == service:
        return records.get(ref[1], fresh)
    held = services.get(ref[0])
    if held is not None:
        inst = held.instances._data.get(ref[1])
        if inst is not None:
            return inst  # type: ignore[no-any-return]
    return ABSENT


def same(before: Record, after: Record) -> bool:
    """``unchanged``: the same five fields (``_compile_unchanged``)."""
    return before is after or record_values(before) == record_values(after)


def the(node: Any, found: list[Ref]) -> Ref | None:
    """The one candidate of a ``the(...)``, ``None`` for none; several break :data:`UNIQUE_THE`,
    and so does a fresh name, which stands for infinitely many (``_compile_the``)."""
    if len(found) > 1 or (found and found[0][1] == FRESH):
        raise Ambiguous(node)
    return found[0] if found else None


def bad(state: DeviceState, why: str) -> Answer:
    """A malformed request: 400, the state kept."""
    return Outcome(Status.BAD_REQUEST, state, MALFORMED, None, why), ()


def name_error(value: str, what: str) -> str | None:
    """Why ``value`` is not a name, or ``None`` when it is (``check_name``)."""
    try:
        check_name(value, what)
    except RequestError as err:
        return str(err)
    return None


def ambiguous(state: DeviceState, err: Ambiguous) -> Answer:
    """A step whose ``the(...)`` names several instances: 500, the obligation named."""
    clause = Clause("obligation", UNIQUE_THE.name, err.node.loc)
    return Outcome(Status.COMMAND_FAILED, state, clause, None, str(err)), (clause,)


def unbounded(state: DeviceState, where: Clause, service: str) -> Answer:
    """An effect made every unnamed instance of the service exist (``normalise``)."""
    clause = Clause("obligation", CREATES_ONLY_TARGET.name, where.location)
    why = f"an effect makes every instance of service {service!r} exist"
    return Outcome(Status.COMMAND_FAILED, state, clause, None, why), (clause,)


# -- lighter values ----------------------------------------------------------------------------
# attrs' frozen ``__init__`` sets each field through ``object.__setattr__``; on the hot path (an
# Outcome per request, an Instance per changed record) that is most of the cost of a step. The
# constructors below write the same slots directly. They are checked against the classes' fields
# at import (a field added to a class and not here fails at once) and, for equality with the
# attrs constructors, by tests/codegen/test_runtime.py.


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    fields = tuple(f.name for f in attrs.fields(cls))
    if fields != names:
        raise AssertionError(f"{cls.__name__} has fields {fields}, the fast constructor {names}")
    return tuple(cls.__dict__[name].__set__ for name in names)


_new = object.__new__
_HASH = "_attrs_cached_hash"
_INSTANCE = (*FLAGS, "params")
"""The fields of an :class:`Instance`, in order."""
_I_SETTERS = _slot_setters(Instance, _INSTANCE)
_I_HASH = Instance.__dict__[_HASH].__set__
(_S_INSTANCES,) = _slot_setters(Service, ("instances",))
_S_HASH = Service.__dict__[_HASH].__set__
(_D_SERVICES,) = _slot_setters(DeviceState, ("services",))
_D_HASH = DeviceState.__dict__[_HASH].__set__
_O_STATUS, _O_STATE, _O_CLAUSE, _O_RESULT, _O_REASON = _slot_setters(
    Outcome, ("status", "state", "clause", "result", "reason")
)


def _constructor() -> Callable[..., Instance]:
    """``new_instance``, written for the fields :class:`Instance` declares: one setter call
    each, as attrs writes ``__init__``, without a loop on the hot path (the names are the
    class's own field names, which are identifiers)."""
    setters = {f"_set_{name}": setter for name, setter in zip(_INSTANCE, _I_SETTERS, strict=True)}
    lines = [f"def new_instance({', '.join(_INSTANCE)}):", "    inst = _new(_Instance)"]
    lines += [f"    _set_{name}(inst, {name})" for name in _INSTANCE]
    lines += ["    _hash(inst, None)", "    return inst"]
    namespace: dict[str, Any] = {**setters, "_new": _new, "_Instance": Instance, "_hash": _I_HASH}
    exec(compile("\n".join(lines), "<mostate.codegen.runtime new_instance>", "exec"), namespace)
    made: Callable[..., Instance] = namespace["new_instance"]
    made.__doc__ = "``Instance(*fields)``, without attrs' frozen ``__init__``."
    return made


new_instance = _constructor()


def new_outcome(
    status: Status, state: DeviceState, clause: Clause, result: Any, why: str | None
) -> Outcome:
    """``Outcome(status, state, clause, result, why)``, without attrs' frozen ``__init__``."""
    out: Outcome = _new(Outcome)
    _O_STATUS(out, status)
    _O_STATE(out, state)
    _O_CLAUSE(out, clause)
    _O_RESULT(out, result)
    _O_REASON(out, why)
    return out


def rewrite(state: DeviceState, service: str, records: dict[str, Record]) -> DeviceState:
    """The state with ``service`` holding the existing records (``normalise``)."""
    instances = {}
    for name, r in records.items():
        if type(r) is Instance:
            instances[name] = r
        elif r.exists:
            instances[name] = new_instance(*record_values(r)[1:])
    return _with_instances(state, service, instances)


def rewrite_point(
    state: DeviceState, service: str, records: dict[str, Record], target: str
) -> DeviceState:
    """:func:`rewrite` of records in which only ``target``'s may be other than an existing
    :class:`Instance` (a ``point`` view): the dict itself when it is one, else a copy."""
    r = records[target]
    if type(r) is Instance:
        return _with_instances(state, service, records)  # type: ignore[arg-type]
    instances = dict(records)
    if r.exists:
        instances[target] = new_instance(*record_values(r)[1:])
    else:
        del instances[target]
    return _with_instances(state, service, instances)  # type: ignore[arg-type]


def added(records: dict[str, Record], name: str, record: Record) -> dict[str, Record]:
    """A copy of ``records`` with ``name`` (not in it) added at the end: one copy, in C. The
    state built from it adopts the dict out of order (``FrozenMap._adopt``), sorted only when
    someone iterates it.

    >>> added({"a": 1, "c": 3}, "b", 2)
    {'a': 1, 'c': 3, 'b': 2}
    """
    out = dict(records)
    out[name] = record
    return out


def _with_instances(
    state: DeviceState, service: str, instances: dict[str, Instance]
) -> DeviceState:
    """The state with ``service`` holding ``instances`` (sorted by name), none removing it."""
    services = state.services._data
    if instances:
        held: Service = _new(Service)
        _S_INSTANCES(held, FrozenMap._adopt(instances))
        _S_HASH(held, None)
        if service in services:
            data = dict(services)
            data[service] = held
            mapping = FrozenMap._wrap(data)
        else:
            mapping = FrozenMap({**services, service: held})
    elif service in services:
        mapping = state.services.remove(service)
    else:
        return state
    after: DeviceState = _new(DeviceState)
    _D_SERVICES(after, mapping)
    _D_HASH(after, None)
    return after


def instance_of(state: DeviceState, ref: Ref | None) -> Instance | None:
    """A query's instance result, as the state after the step holds it (``_render``)."""
    return None if ref is None else state.instance(ref[0], ref[1])


def name_of(ref: Ref | None) -> str | None:
    """A query's ``instance?`` result: its name (``_render``)."""
    return None if ref is None else ref[1]


_GONE = object()
"""The value ``_without_param`` keys its memo with (no parameter value is this object)."""


def interned_values(limit: int = 4096) -> dict[str, Any]:
    """The constructors of one successor module (the explorer's form of generated code) that
    hand back one object per value asked again: ``_with_param`` and ``_without_param``
    (``m.set(k, v)``, ``m.remove(k)``) and ``_Instance`` (:func:`new_instance`). The explorer
    then meets the very record again and codes it by identity, without hashing it; values are
    immutable, so sharing them changes no answer. Each memo keeps the objects it was asked
    about alive (so no other object takes their ``id``) and is emptied past ``limit`` entries.

    >>> fns = interned_values()
    >>> m = FrozenMap({"p": "v1"})
    >>> a, b = fns["_with_param"](m, "p", "v2"), fns["_with_param"](m, "p", "v2")
    >>> a is b, a == m.set("p", "v2"), fns["_without_param"](m, "p") == FrozenMap()
    (True, True, True)
    >>> fns["_Instance"](True, False, False, a) is fns["_Instance"](True, False, False, b)
    True
    """
    maps: dict[tuple[int, Any, Any], tuple[FrozenMap[str, str], FrozenMap[str, str]]] = {}
    records: dict[tuple[Any, ...], Instance] = {}

    def edited(params: FrozenMap[str, str], key: str, value: Any) -> FrozenMap[str, str]:
        """``params`` with ``key`` set to ``value`` (removed for :data:`_GONE`), shared."""
        asked = (id(params), key, value)
        entry = maps.get(asked)
        if entry is not None and entry[0] is params:
            return entry[1]
        if len(maps) >= limit:
            maps.clear()
        out = params.remove(key) if value is _GONE else params.set(key, value)
        maps[asked] = (params, out)
        return out

    def with_param(params: FrozenMap[str, str], key: str, value: str) -> FrozenMap[str, str]:
        return edited(params, key, value)

    def without_param(params: FrozenMap[str, str], key: str) -> FrozenMap[str, str]:
        return edited(params, key, _GONE)

    def instance(*fields: Any) -> Instance:
        asked = (*fields[:-1], id(fields[-1]))
        found = records.get(asked)
        if found is not None and found.params is fields[-1]:
            return found
        if len(records) >= limit:
            records.clear()
        out = records[asked] = new_instance(*fields)
        return out

    return {"_with_param": with_param, "_without_param": without_param, "_Instance": instance}


NAMESPACE: dict[str, Any] = {
    "_ABSENT": ABSENT,
    "_NONE_RECORD": NONE_RECORD,
    "_INF": math.inf,
    "_FRESH": FRESH,
    "_EMPTY": {},
    "_EMPTY_PARAMS": EMPTY_PARAMS,
    "_FALLBACK": FALLBACK,
    "_Ambiguous": Ambiguous,
    "_Instance": new_instance,
    "_Raw": Raw,
    "_Outcome": new_outcome,
    "_FrozenMap": FrozenMap,
    "_rec": rec,
    "_same": same,
    "_the": the,
    "_bad": bad,
    "_name_error": name_error,
    "_ambiguous": ambiguous,
    "_unbounded": unbounded,
    "_rewrite": rewrite,
    "_rewrite_point": rewrite_point,
    "_add": added,
    "_instance_of": instance_of,
    "_name_of": name_of,
}
"""The globals every generated module starts from."""
