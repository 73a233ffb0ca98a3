"""The scope of an exploration: which requests the explorer sends, derived from the spec.

An :class:`ExploreScope` names a small world (services, instance names ``i1..iN``, parameter
names ``p``, ``q``... and values ``v1..vK``); the requests are the one alphabet every checker
enumerates (:mod:`mostate.alphabet`): every operation of the spec, by both actors, to every
service and name, each argument over a small domain chosen by its type and its use. So a
changed spec changes the scope: a new operation or argument is explored without any code here
changing. A server request carrying ``confirm = "decline"`` is added (``declines``).
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ..alphabet import Alphabet
from ..alphabet import op_requests as _op_requests
from ..alphabet import requests as _requests
from ..model import Request, check_name
from ..rules import Operation, Spec


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

    def alphabet(self) -> Alphabet:
        """The world of this scope, as every checker enumerates requests in it."""
        world = Alphabet(self.services, self.names, self.key_domain, self.value_domain)
        return world.declining() if self.declines else world

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
    (['add', 'delete', 'delete_param'], 32)
    """
    return _requests(spec, scope.alphabet())


def op_requests(op: Operation, scope: ExploreScope, names: tuple[str, ...]) -> Iterator[Request]:
    """The requests of one operation over the given instance names (used by plans too)."""
    return _op_requests(op, attrs.evolve(scope.alphabet(), names=names))
