"""The one request alphabet: every request a checker sends in a small world, derived from the spec.

Nothing here knows an operation by name. Every operation of the spec is sent (in spec order), by
each actor, to every service of the world and, when it names a target, to every instance name;
each declared argument ranges over a small domain chosen by its type and by how the spec uses
it:

* ``bool``: both values;
* ``str`` that names a parameter (declared so, or used as the key of ``with(m, key, value)``
  or ``without(m, key)``): the world's parameter names;
* any other ``str``: the world's values;
* ``params``: the empty map (left out of the request when optional) and each map of one
  parameter, a parameter name of the world with one of its values (so an operation that drops
  or garbles the parameters it is given is seen).

A server request declining the confirmation is added (``declines``) to every operation: one
that forgot to ask must show it. ``malformed`` adds, per operation and actor, a request
without a service (a 400). The explorer (:mod:`mostate.explore.scope`), plans and campaigns,
and the conformance kit's edge-complete suite (:mod:`mostate.testing.coverage`) all enumerate
requests here, so a changed spec changes what each of them sends alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import assert_never

import attrs

from .frozenmap import FrozenMap
from .model import EMPTY_PARAMS, Actor, ArgValue, Confirm, Request, Role
from .rules import Arg, ArgDecl, Operation, Spec, Type, WithoutParam, WithParam, step_exprs, walk

ROLES = (Role.USER, Role.SERVER)


@attrs.frozen
class Alphabet:
    """The world requests are sent in: services, instance names, parameter names and values.

    >>> from mostate import load_spec
    >>> world = Alphabet(("MMS",), ("a",), ("p",), ("v1", "v2"))
    >>> len(requests(load_spec(), world)), len(requests(load_spec(), world.declining()))
    (32, 48)
    """

    services: tuple[str, ...]
    names: tuple[str, ...]
    keys: tuple[str, ...]
    """What a ``str`` argument that names a parameter takes."""
    values: tuple[str, ...]
    """What any other ``str`` argument takes."""
    declines: bool = False
    malformed: bool = False
    roles: tuple[Role, ...] = ROLES

    def declining(self) -> Alphabet:
        """This world with a declining server request added to every operation."""
        return attrs.evolve(self, declines=True)


def requests(spec: Spec, world: Alphabet) -> tuple[Request, ...]:
    """Every request of ``world``, in a fixed order: operations in spec order, then actor,
    service, target, arguments and answer to the confirmation."""
    out: list[Request] = []
    for op in spec.ops.values():
        out.extend(op_requests(op, world))
    return tuple(out)


def op_requests(op: Operation, world: Alphabet) -> Iterator[Request]:
    """The requests of one operation in ``world`` (see :func:`requests`)."""
    targets: tuple[str | None, ...] = world.names if op.has_target else (None,)
    argsets = list(_argsets(op, world))
    for role in world.roles:
        actor = Actor(role)
        confirms: tuple[Confirm | None, ...] = (None,)
        if world.declines and role is Role.SERVER:
            confirms = (None, Confirm.DECLINE)
        for service, target, args, confirm in itertools.product(
            world.services, targets, argsets, confirms
        ):
            yield Request(actor, op.name, service, target, args, confirm)
        if world.malformed:
            yield Request(actor, op.name)  # no service: malformed, 400


def _argsets(op: Operation, world: Alphabet) -> Iterator[FrozenMap[str, ArgValue]]:
    keys = _key_args(op)
    domains: list[tuple[tuple[str, ArgValue | None], ...]] = []
    for decl in op.args:
        values = _domain(decl, decl.is_name or decl.name in keys, world)
        domains.append(tuple((decl.name, v) for v in values))
    for combo in itertools.product(*domains):
        yield FrozenMap((name, value) for name, value in combo if value is not None)


def _domain(decl: ArgDecl, is_key: bool, world: Alphabet) -> tuple[ArgValue | None, ...]:
    """The values an argument takes (``None``: left out)."""
    match decl.type:
        case Type.BOOL:
            return (False, True)
        case Type.STR:
            return world.keys if is_key else world.values
        case Type.PARAMS:
            return (None if decl.optional else EMPTY_PARAMS, *_one_parameter_maps(world))
        case Type.INT | Type.INSTANCE | Type.OPT_INSTANCE | Type.ACTOR:
            raise ValueError(f"argument {decl.name!r} of type {decl.type.value} cannot be sent")
        case _:
            assert_never(decl.type)


def _one_parameter_maps(world: Alphabet) -> tuple[FrozenMap[str, str], ...]:
    """Every map of one parameter the world can name: ``{"p": "v1"}``, ``{"p": "v2"}``...

    >>> [m.to_dict() for m in _one_parameter_maps(Alphabet(("MMS",), ("a",), ("p",), ("v1",)))]
    [{'p': 'v1'}]
    """
    return tuple(FrozenMap({key: value}) for key in world.keys for value in world.values)


def _key_args(op: Operation) -> frozenset[str]:
    """The arguments the operation uses as a parameter's name (the key of ``with``)."""
    keys = set()
    for expr in step_exprs(op):
        for node in walk(expr):
            if isinstance(node, WithParam | WithoutParam) and isinstance(node.key, Arg):
                keys.add(node.key.name)
    return frozenset(keys)
