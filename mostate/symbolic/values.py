"""The symbolic values the compiler works on: states, instance references, evaluation
environments and counts, with the quantifier helpers (unbounded: Z3 quantifiers over the
uninterpreted sorts; bounded: expansions over the enumerated names)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import attrs

from ..model import Role
from ..rules import Domain, Field
from ._z3 import Bool, Int, Session, Term


class NeedsBound(ValueError):
    """An expression the unbounded encoding cannot express (run with ``--bound N``)."""


FieldFn: TypeAlias = Callable[[Term, Term], Term]


@attrs.frozen(eq=False, init=False)
class SState:
    """A symbolic device state: each field (in :class:`~mostate.rules.Field` order) as a
    function of (service term, instance term), given in that order: ``SState(*fields)``."""

    fields: tuple[FieldFn, ...]

    def __init__(self, *fields: FieldFn) -> None:
        _complete(fields)
        self.__attrs_init__(fields)

    def field(self, field: Field) -> FieldFn:
        return self.fields[_INDEX[field]]

    @property
    def exists(self) -> FieldFn:
        return self.fields[_INDEX[Field.EXISTS]]

    @property
    def params(self) -> FieldFn:
        return self.fields[_INDEX[Field.PARAMS]]


_INDEX = {field: index for index, field in enumerate(Field)}


def _complete(fields: tuple[FieldFn, ...]) -> None:
    if len(fields) != len(_INDEX):
        raise ValueError(f"a state has {len(_INDEX)} fields, not {len(fields)}")


@attrs.frozen(eq=False)
class SRef:
    """An instance reference, possibly ``none`` (``some`` false)."""

    some: Bool
    svc: Term
    inst: Term


@attrs.frozen(eq=False)
class SEnv:
    """What one symbolic evaluation reads (mirrors :class:`mostate.concrete.Env`)."""

    z: Session
    pre: SState
    service: Term
    role: Role
    post: SState | None = None
    target: SRef | None = None
    args: dict[str, Term] = attrs.field(factory=dict)
    status: Int | None = None
    result: SRef | None = None
    declined: Bool | None = None
    declines: Bool | None = None
    vars: dict[str, SRef] = attrs.field(factory=dict)
    bound: tuple[Term, ...] = ()
    side: list[Bool] = attrs.field(factory=list)
    # When the engine evaluates the expression at hand (its short-circuits), and the conditions
    # under which a ``the(...)`` it evaluates has several candidates (the obligation unique_the).
    guard: tuple[Bool, ...] = ()
    ambiguous: list[Bool] = attrs.field(factory=list)

    def bind(self, name: str, ref: SRef, variables: tuple[Term, ...]) -> SEnv:
        return attrs.evolve(self, vars={**self.vars, name: ref}, bound=self.bound + variables)

    def guarded(self, condition: Bool) -> SEnv:
        """The environment of a sub-expression the engine evaluates only when ``condition``."""
        return attrs.evolve(self, guard=(*self.guard, condition))


@attrs.frozen(eq=False)
class SCount:
    """``count(i in domain, body)``, kept apart until a comparison says how to encode it."""

    env: SEnv
    domain: Domain
    body: Callable[[SEnv, SRef, tuple[Term, ...]], Bool]

    def at_least(self, n: int) -> Bool:
        """At least ``n`` distinct instances of the domain satisfy the body."""
        z = self.env.z
        if n <= 0:
            return z.true
        refs = [fresh_ref(self.env, f"c{k}", self.domain) for k in range(n)]
        conds: list[Bool] = [cond for _, cond, _ in refs]
        conds += [self.body(self.env, ref, vs) for ref, _, vs in refs]
        for a in range(n):
            for b in range(a + 1, n):
                ra, rb = refs[a][0], refs[b][0]
                conds.append(z.or_(z.not_(z.eq(ra.svc, rb.svc)), z.not_(z.eq(ra.inst, rb.inst))))
        variables = [v for _, _, vs in refs for v in vs]
        return z.exists(variables, z.and_(*conds))

    def total(self) -> Int:
        """The count as an Int (bounded mode, ``service`` domain only)."""
        z = self.env.z
        if not z.inst_values() or self.domain is not Domain.SERVICE:
            raise NeedsBound(
                "count(...) compared with anything but an integer literal needs --bound N"
                " (and ranges over the target's service only)"
            )
        refs = [SRef(z.true, self.env.service, v) for v in z.inst_values()]
        return z.count([self.body(self.env, ref, ()) for ref in refs])


def fresh_ref(env: SEnv, name: str, domain: Domain) -> tuple[SRef, Bool, tuple[Term, ...]]:
    """A new bound instance of ``domain``: the ref, its domain condition, its bound variables."""
    z = env.z
    inst = z.const(name, z.inst)
    if domain is Domain.SERVICE:
        return SRef(z.true, env.service, inst), z.true, (inst,)
    svc = z.const(name + "s", z.svc)
    cond = z.true if domain is Domain.DEVICE else z.not_(z.eq(svc, env.service))
    return SRef(z.true, svc, inst), cond, (svc, inst)


def quantify(env: SEnv, domain: Domain, body: Callable[[SRef, tuple[Term, ...]], Bool]) -> Bool:
    """``all(i in domain, body)`` as a Z3 formula (expanded over the names when bounded)."""
    z = env.z
    if not z.inst_values():
        ref, cond, variables = fresh_ref(env, "q", domain)
        return z.forall(variables, z.implies(cond, body(ref, variables)))
    if domain is Domain.SERVICE:
        return z.and_(*[body(SRef(z.true, env.service, v), ()) for v in z.inst_values()])

    def one_service(svc: Term, variables: tuple[Term, ...]) -> Bool:
        cond = z.true if domain is Domain.DEVICE else z.not_(z.eq(svc, env.service))
        parts = [body(SRef(z.true, svc, v), variables) for v in z.inst_values()]
        return z.implies(cond, z.and_(*parts))

    return every_service(z, one_service)


def every_service(z: Session, body: Callable[[Term, tuple[Term, ...]], Bool]) -> Bool:
    """``body`` for every service: a conjunction when services are bounded, else a quantifier."""
    if z.svc_values():
        return z.and_(*[body(v, ()) for v in z.svc_values()])
    svc = z.const("qs", z.svc)
    return z.forall([svc], body(svc, (svc,)))


def ref_eq(z: Session, a: SRef, b: SRef) -> Bool:
    """Equality of optional references, as the engine compares ``None`` and tuples."""
    same = z.and_(z.eq(a.svc, b.svc), z.eq(a.inst, b.inst))
    return z.and_(z.eq(a.some, b.some), z.implies(a.some, same))


def empty_state(z: Session) -> SState:
    """The empty device: nothing exists, no flags, no parameters."""
    no: FieldFn = lambda s, i: z.false  # noqa: E731 - five fields share one constant function
    return SState(*(no for f in Field if f is not Field.PARAMS), lambda s, i: z.empty_params())


def none_ref(z: Session) -> SRef:
    return SRef(z.false, z.nil_svc, z.nil_inst)
