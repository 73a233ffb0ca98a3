"""The values the engine works on: device states, actors, requests and outcomes.

Everything here is a frozen, hashable attrs value (states are graph nodes and dict keys), changed
with ``attrs.evolve`` or the small helpers below. The JSON forms are the language-neutral interface
of mostate (trace lines and state documents); converting from JSON validates the shape and raises
:class:`~mostate.errors.RequestError`, which callers answer with status 400.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import Any, TypeAlias

import attrs

from .errors import Location, RequestError
from .frozenmap import FrozenMap

Params: TypeAlias = FrozenMap[str, str]
ArgValue: TypeAlias = "str | bool | Params"
EMPTY_PARAMS: Params = FrozenMap()

FORBIDDEN_IN_NAMES = frozenset("/?\x00")


class Status(enum.IntEnum):
    """The OMA-DM status codes mostate answers with."""

    OK = 200
    NOT_EXECUTED = 215
    BAD_REQUEST = 400
    NOT_FOUND = 404
    ALREADY_EXISTS = 418
    PERMISSION_DENIED = 425
    COMMAND_FAILED = 500


class Role(enum.Enum):
    """Who sends a request: the device's user (local UI) or a DM server."""

    USER = "user"
    SERVER = "server"


class Confirm(enum.Enum):
    """The user's answer when a server asked for confirmation."""

    ACCEPT = "accept"
    DECLINE = "decline"


@attrs.frozen
class Actor:
    """The sender of a request; a server may carry its server id (used for ACLs).

    >>> Actor.server("srv1").role, Actor.user().server_id
    (<Role.SERVER: 'server'>, None)
    """

    role: Role
    server_id: str | None = None

    @classmethod
    def user(cls) -> Actor:
        return cls(Role.USER)

    @classmethod
    def server(cls, server_id: str | None = None) -> Actor:
        return cls(Role.SERVER, server_id)


@attrs.frozen(cache_hash=True)
class Instance:
    """One MO instance: its Configuration Context Status flags and its parameters.

    The one declaration of an instance's fields: :data:`FLAGS` lists the flags as declared
    here, and every other form of a record derives from it (the spec language's fields,
    :class:`mostate.rules.Field`, whose test pins the two together; the records generated code
    builds; the Z3 state; the explorer's integer codes; the JSON and OMA-DM forms).
    """

    active: bool = False
    default: bool = False
    locked: bool = False
    params: Params = EMPTY_PARAMS

    @property
    def exists(self) -> bool:
        """Always true: an Instance is a record the device holds (the engine's raw records of
        deleted instances say false)."""
        return True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(zip(FLAGS, flag_values(self), strict=True))
        out["params"] = self.params.to_dict()
        return out


FLAGS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Instance) if f.name != "params")
"""The flags of an instance, in the order :class:`Instance` declares them."""
flag_values: Callable[[Any], tuple[bool, ...]] = operator.attrgetter(*FLAGS)
"""The flags of a record (an :class:`Instance`, or a raw record an effect computed), in the
order of :data:`FLAGS`."""


def instance(flags: Iterable[bool], params: Params = EMPTY_PARAMS) -> Instance:
    """The instance with these flags (in the order of :data:`FLAGS`) and parameters.

    >>> instance([True, False, True]) == Instance(active=True, locked=True)
    True
    """
    named: dict[str, Any] = dict(zip(FLAGS, flags, strict=True))
    return Instance(**named, params=params)


@attrs.frozen(cache_hash=True)
class Service:
    """The instances a device holds for one service (e.g. ``MMS``), by instance name."""

    instances: FrozenMap[str, Instance] = FrozenMap()


@attrs.frozen(cache_hash=True)
class DeviceState:
    """A whole device: its services by name. A service exists while it has instances.

    >>> s = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    >>> s.instance("MMS", "a").active, s.instance("MMS", "b")
    (True, None)
    >>> s.to_json()["MMS"]["a"]["params"]
    {}
    """

    services: FrozenMap[str, Service] = FrozenMap()

    def service(self, name: str) -> Service:
        """The named service; an empty one when the device holds none of its instances."""
        return self.services.get(name, _EMPTY_SERVICE)

    def instance(self, service: str, name: str) -> Instance | None:
        return self.service(service).instances.get(name)

    def with_service(self, name: str, service: Service) -> DeviceState:
        """A copy in which ``name`` holds ``service`` (dropped when it has no instances)."""
        if service.instances:
            return DeviceState(self.services.set(name, service))
        return DeviceState(self.services.remove(name))

    def to_json(self) -> dict[str, Any]:
        return {
            sname: {iname: inst.to_json() for iname, inst in service.instances.items()}
            for sname, service in self.services.items()
        }

    def _repr_html_(self) -> str:
        """A table of every instance, for notebooks."""
        flags = "".join(f"<th>{flag.capitalize()}</th>" for flag in FLAGS)
        head = f"<tr><th>service</th><th>instance</th>{flags}<th>parameters</th></tr>"
        rows = [
            _html_row(s, n, i) for s, svc in self.services.items() for n, i in svc.instances.items()
        ]
        if not rows:
            rows = [f'<tr><td colspan="{len(FLAGS) + 3}"><i>no instances</i></td></tr>']
        return f"<table>{head}{''.join(rows)}</table>"

    @classmethod
    def from_json(cls, obj: object) -> DeviceState:
        """Read a state document; raises RequestError naming the first thing wrong in it."""
        services = _expect_object(obj, "state")
        out: dict[str, Service] = {}
        for sname, instances in services.items():
            check_name(sname, "service name")
            insts = _expect_object(instances, f"service {sname!r}")
            out[sname] = Service(
                FrozenMap(
                    (check_name(iname, "instance name"), _instance_from_json(i, f"{sname}/{iname}"))
                    for iname, i in insts.items()
                )
            )
        return cls(FrozenMap((k, v) for k, v in out.items() if v.instances))


_EMPTY_SERVICE = Service()


def _html_row(service: str, name: str, inst: Instance) -> str:
    flags = "".join("<td>✔</td>" if flag else "<td></td>" for flag in flag_values(inst))
    params = escape(", ".join(f"{k}={v}" for k, v in inst.params.items()))
    return f"<tr><td>{escape(service)}</td><td>{escape(name)}</td>{flags}<td>{params}</td></tr>"


def _instance_from_json(obj: object, where: str) -> Instance:
    fields = _expect_object(obj, f"instance {where!r}")
    unknown = set(fields) - {*FLAGS, "params"}
    if unknown:
        raise RequestError(f"instance {where!r}: unknown field {sorted(unknown)[0]!r}")
    flags = {}
    for flag in FLAGS:
        value = fields.get(flag, False)
        if not isinstance(value, bool):
            raise RequestError(f"instance {where!r}: {flag!r} must be true or false")
        flags[flag] = value
    return Instance(**flags, params=params_from_json(fields.get("params", {}), where))


def params_from_json(obj: object, where: str = "params") -> Params:
    """Parameters as a map of names to string values."""
    fields = _expect_object(obj, f"params of {where!r}")
    for key, value in fields.items():
        check_name(key, "parameter name")
        if not isinstance(value, str):
            raise RequestError(f"parameter {key!r} of {where!r} must be a string")
    return FrozenMap(fields)


def _expect_object(obj: object, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise RequestError(f"{what} must be a JSON object")
    return obj


def check_name(name: object, what: str) -> str:
    """A service, instance or parameter name: a non-empty string without ``/``, ``?`` or NUL.

    >>> check_name("MMS", "service name")
    'MMS'
    >>> check_name("a/b", "instance name")
    Traceback (most recent call last):
    ...
    mostate.errors.RequestError: instance name 'a/b' must not contain '/', '?' or NUL
    """
    if not isinstance(name, str) or not name:
        raise RequestError(f"{what} must be a non-empty string")
    if not FORBIDDEN_IN_NAMES.isdisjoint(name):
        raise RequestError(f"{what} {name!r} must not contain '/', '?' or NUL")
    return name


_REQUEST_KEYS = frozenset({"actor", "server_id", "op", "service", "instance", "confirm"})


@attrs.frozen(cache_hash=True)
class Request:
    """One command sent to a device: the operation, its target and arguments, and who sent it.

    ``args`` holds the operation's own arguments (``params``, ``param``, ``value``, ...); which
    ones an operation reads, and their types, is the spec's business and checked by the engine.

    >>> r = Request.from_json({"actor": "server", "op": "set_active", "service": "MMS",
    ...                        "instance": "new", "value": True, "confirm": "accept"})
    >>> r.op, r.args["value"], r.confirm
    ('set_active', True, <Confirm.ACCEPT: 'accept'>)
    >>> Request.from_json(r.to_json()) == r
    True
    """

    actor: Actor
    op: str
    service: str | None = None
    instance: str | None = None
    args: FrozenMap[str, ArgValue] = FrozenMap()
    confirm: Confirm | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"actor": self.actor.role.value}
        if self.actor.server_id is not None:
            out["server_id"] = self.actor.server_id
        out["op"] = self.op
        if self.service is not None:
            out["service"] = self.service
        if self.instance is not None:
            out["instance"] = self.instance
        for key, value in self.args.items():
            out[key] = value.to_dict() if isinstance(value, FrozenMap) else value
        if self.confirm is not None:
            out["confirm"] = self.confirm.value
        return out

    @classmethod
    def from_json(cls, obj: object) -> Request:
        """Read one trace line's request; raises RequestError (status 400) when malformed.

        Names are checked here; whether the operation exists and which arguments it reads is
        checked by the engine against the spec. ``confirm`` is the user's answer to a server's
        request, so a user's request that carries one is refused:

        >>> Request.from_json({"actor": "user", "op": "get_active", "confirm": "decline"})
        Traceback (most recent call last):
        mostate.errors.RequestError: 'confirm' is the user's answer to a server's request; \
a user's own request carries none
        """
        fields = _expect_object(obj, "request")
        actor = _actor_from_json(fields)
        op = fields.get("op")
        if not isinstance(op, str) or not op:
            raise RequestError("'op' must be a non-empty string")
        service = _optional_name(fields, "service")
        instance = _optional_name(fields, "instance")
        confirm = fields.get("confirm")
        answer: Confirm | None = None
        if confirm is not None:
            try:
                answer = Confirm(confirm)
            except ValueError:
                raise RequestError('\'confirm\' must be "accept" or "decline"') from None
            if actor.role is Role.USER:
                # The engine would ignore it: refused, so that a log line saying the user
                # declined their own request is not taken for a step that was carried out.
                raise RequestError(
                    "'confirm' is the user's answer to a server's request; "
                    "a user's own request carries none"
                )
        args = {k: _arg_from_json(k, v) for k, v in fields.items() if k not in _REQUEST_KEYS}
        return cls(actor, op, service, instance, FrozenMap(args), answer)


def _actor_from_json(fields: Mapping[str, Any]) -> Actor:
    role = fields.get("actor")
    if role not in ("user", "server"):
        raise RequestError('\'actor\' must be "user" or "server"')
    server_id = fields.get("server_id")
    if server_id is not None and not isinstance(server_id, str):
        raise RequestError("'server_id' must be a string")
    if role == "user":
        return Actor.user()
    return Actor.server(server_id)


def _optional_name(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return None if value is None else check_name(value, f"'{key}'")


def _arg_from_json(key: str, value: object) -> ArgValue:
    if isinstance(value, str | bool):
        return value
    if isinstance(value, dict):
        return params_from_json(value, key)
    raise RequestError(f"{key!r} must be a string, a boolean or an object of strings")


@attrs.frozen
class Clause:
    """The part of the spec (or of the engine's structural checks) that decided an outcome.

    >>> str(Clause("refusal", "delete: locked", Location("ccs.toml", 40, 1)))
    'refusal delete: locked (ccs.toml:40:1)'
    """

    kind: str
    name: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.kind} {self.name}{where}"


Result: TypeAlias = "str | Instance | None"


@attrs.frozen
class Outcome:
    """What the engine answers to a request: the status, the next state and why."""

    status: Status
    state: DeviceState
    clause: Clause
    result: Result = None
    reason: str | None = None

    def to_json(self, *, with_state: bool = True) -> dict[str, Any]:
        """The trace output line for this outcome (``mostate run`` prints these)."""
        result = self.result.to_json() if isinstance(self.result, Instance) else self.result
        out: dict[str, Any] = {"status": int(self.status), "result": result, "reason": self.reason}
        out["clause"] = str(self.clause)
        if with_state:
            out["state"] = self.state.to_json()
        return out
