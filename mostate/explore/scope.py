"""The scope of an exploration: which requests the explorer sends, derived from the spec.

Nothing here knows an operation by name. Every operation of the spec is sent, by both actors, to
every service of the scope, and (when it names a target) to every instance name ``i1..iN``. Each
declared argument ranges over a small domain chosen by its type and by how the spec uses it:

* ``bool``: both values;
* ``str`` used as the key of ``with(m, key, value)`` somewhere in the operation: the parameter
  names ``p``, ``q``... (``keys`` of them; one by default);
* any other ``str``: the values ``v1..vK``;
* ``params`` (optional or not): the empty map, left out of the request when optional.

So a changed spec changes the scope: a new operation or argument is explored without any code
here changing. A server request carrying ``confirm = "decline"`` is added (``declines``) for
operations that have a confirmation point.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import attrs

from ..frozenmap import FrozenMap
from ..model import EMPTY_PARAMS, Actor, ArgValue, Confirm, Request, check_name
from ..rules import (
    Arg,
    ArgDecl,
    Operation,
    Spec,
    Type,
    WithoutParam,
    WithParam,
    step_exprs,
    walk,
)


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value}")


def _some_services(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value:
        raise ValueError("a scope needs at least one service")
    for name in value:
        check_name(name, "service name")


def _default_services() -> tuple[str, ...]:
    return ("MMS",)


@attrs.frozen
class ExploreScope:
    """How far the explorer looks: services, instance names, parameter keys and values.

    >>> scope = ExploreScope(instances=2, values=3)
    >>> scope.names, scope.value_domain, scope.key_domain
    (('i1', 'i2'), ('v1', 'v2', 'v3'), ('p',))
    >>> ExploreScope(instances=0)
    Traceback (most recent call last):
    ...
    ValueError: instances must be at least 1, not 0
    """

    instances: int = attrs.field(default=2, validator=_positive)
    values: int = attrs.field(default=2, validator=_positive)
    keys: int = attrs.field(default=1, validator=_positive)
    services: tuple[str, ...] = attrs.field(factory=_default_services, validator=_some_services)
    declines: bool = False

    @classmethod
    def of(
        cls, instances: int, values: int = 2, *, services: int = 1, declines: bool = False
    ) -> ExploreScope:
        """A scope over ``MMS`` and ``services - 1`` more services (``S2``, ``S3``...).

        >>> ExploreScope.of(3, services=2).services
        ('MMS', 'S2')
        """
        if services < 1:
            raise ValueError(f"services must be at least 1, not {services}")
        names = ("MMS", *(f"S{n}" for n in range(2, services + 1)))
        return cls(instances, values, services=names, declines=declines)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"i{n}" for n in range(1, self.instances + 1))

    @property
    def value_domain(self) -> tuple[str, ...]:
        return tuple(f"v{n}" for n in range(1, self.values + 1))

    @property
    def key_domain(self) -> tuple[str, ...]:
        return tuple("pqrstuvwxyz"[n] if n < 11 else f"p{n}" for n in range(self.keys))

    def describe(self) -> dict[str, object]:
        return {
            "services": list(self.services),
            "instances": list(self.names),
            "keys": list(self.key_domain),
            "values": list(self.value_domain),
            "declines": self.declines,
        }


def scope_requests(spec: Spec, scope: ExploreScope) -> tuple[Request, ...]:
    """Every request of the scope, in a fixed order (operations in spec order).

    >>> from mostate import load_spec
    >>> reqs = scope_requests(load_spec(), ExploreScope(instances=1, values=2))
    >>> sorted({r.op for r in reqs})[:3], len(reqs)
    (['add', 'delete', 'delete_param'], 28)
    """
    out: list[Request] = []
    for op in spec.ops.values():
        out.extend(_op_requests(op, scope, scope.names))
    return tuple(out)


def op_requests(op: Operation, scope: ExploreScope, names: tuple[str, ...]) -> Iterator[Request]:
    """The requests of one operation over the given instance names (used by plans too)."""
    return _op_requests(op, scope, names)


def _op_requests(op: Operation, scope: ExploreScope, names: tuple[str, ...]) -> Iterator[Request]:
    targets: tuple[str | None, ...] = names if op.has_target else (None,)
    argsets = list(_argsets(op, scope))
    confirms: list[Confirm | None] = [None]
    if scope.declines:  # to every operation: one that forgot to ask must show it
        confirms.append(Confirm.DECLINE)
    for actor in (Actor.user(), Actor.server()):
        for service, target, args, confirm in itertools.product(
            scope.services, targets, argsets, confirms
        ):
            if confirm is not None and actor.role.value != "server":
                continue
            yield Request(actor, op.name, service, target, args, confirm)


def _argsets(op: Operation, scope: ExploreScope) -> Iterator[FrozenMap[str, ArgValue]]:
    keys = _key_args(op)
    domains: list[tuple[tuple[str, ArgValue], ...]] = []
    for decl in op.args:
        values = _domain(decl, decl.name in keys, scope)
        domains.append(tuple((decl.name, v) for v in values))
    for combo in itertools.product(*domains):
        yield FrozenMap((name, value) for name, value in combo if value is not _OMIT)


_OMIT = FrozenMap[str, str]({"": ""})  # a sentinel: an optional argument left out


def _domain(decl: ArgDecl, is_key: bool, scope: ExploreScope) -> tuple[ArgValue, ...]:
    match decl.type:
        case Type.BOOL:
            return (False, True)
        case Type.STR:
            return scope.key_domain if is_key else scope.value_domain
        case Type.PARAMS:
            return (_OMIT,) if decl.optional else (EMPTY_PARAMS,)
    raise ValueError(f"argument {decl.name!r} of type {decl.type.value} cannot be explored")


def _key_args(op: Operation) -> frozenset[str]:
    """The arguments the operation uses as a parameter name (the key of ``with``)."""
    keys = set()
    for expr in step_exprs(op):
        for node in walk(expr):
            if isinstance(node, WithParam | WithoutParam) and isinstance(node.key, Arg):
                keys.add(node.key.name)
    return frozenset(keys)
