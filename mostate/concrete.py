"""The concrete meaning of spec expressions: each AST node compiled once into a Python closure.

This is the engine's half of the two interpretations of a spec; :mod:`mostate.symbolic.compiler`
is the other and mirrors this module function for function (``_compile_lit`` here,
``_compile_lit`` there, in the order of :data:`mostate.rules.EXPR_NODES`).

Values: an instance is a reference ``(service, name)``; ``none`` is ``None``; a parameter map is a
:class:`~mostate.frozenmap.FrozenMap`. Instance names are unbounded, so a quantifier looks at every
name the states mention plus one *fresh* name standing for all the others (names never contain
NUL, so ``"\\0"`` cannot clash); a ``count`` that the fresh name satisfies is infinite.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias, assert_never

import attrs

from .frozenmap import FrozenMap
from .model import DeviceState, Instance, Params, Role
from .rules import (
    EXPR_NODES,
    Arg,
    BoolOp,
    Builtin,
    BuiltinName,
    Compare,
    Connective,
    Count,
    Domain,
    Expr,
    Field,
    Ite,
    Lit,
    Not,
    Quant,
    Quantifier,
    Read,
    The,
    Type,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
)

FRESH = "\x00"
"""The name that stands for every instance name a state does not mention."""

Ref: TypeAlias = tuple[str, str]


class Ambiguous(Exception):
    """A ``the(...)`` found more than one qualifying instance: the spec names no single one.

    Every checker gives this one meaning (the obligation :data:`mostate.rules.UNIQUE_THE`): the
    engine answers 500 and keeps the state, Z3 reports the state and request that show it.
    """

    def __init__(self, node: The) -> None:
        super().__init__(f"the(...) at {node.loc} has several candidates")
        self.node = node


Compiled: TypeAlias = Callable[["Env"], Any]


@attrs.frozen
class Raw:
    """An instance record as an effect computed it, before the state is normalised: it may say
    ``exists = False`` and still carry flags, which the invariants then catch."""

    exists: bool = False
    active: bool = False
    default: bool = False
    locked: bool = False
    params: Params = FrozenMap()


ABSENT = Raw()
Record: TypeAlias = "Instance | Raw"
_FIELDS = tuple(f.value for f in Field)


def raw(values: Iterable[Any]) -> Raw:
    """The raw record with these fields, in :class:`~mostate.rules.Field` order."""
    named: dict[str, Any] = dict(zip(_FIELDS, values, strict=True))
    return Raw(**named)


record_values: Callable[[Record], tuple[Any, ...]] = operator.attrgetter(*_FIELDS)
"""Every field of a record, whichever class holds it, in :class:`~mostate.rules.Field` order
(an :class:`Instance` exists)."""


class View:
    """A device state as the expressions see it: a normalised :class:`DeviceState` plus the raw
    records of the services that effects have rewritten (with the record of their fresh names).
    """

    __slots__ = ("base", "changed", "fresh_elsewhere")

    def __init__(
        self,
        base: DeviceState,
        changed: dict[str, tuple[dict[str, Record], Record]] | None = None,
        fresh_elsewhere: Record = ABSENT,
    ) -> None:
        self.base = base
        self.changed = changed or {}
        self.fresh_elsewhere = fresh_elsewhere

    def rec(self, service: str, name: str) -> Record:
        if self.changed:
            entry = self.changed.get(service)
            if entry is not None:
                return entry[0].get(name, entry[1])
        # The hot path of every read: go straight to the maps' dicts.
        svc = self.base.services._data.get(service)
        if svc is not None:
            inst = svc.instances._data.get(name)
            if inst is not None:
                return inst
        return self.fresh_elsewhere

    def names(self, service: str) -> Iterator[str]:
        entry = self.changed.get(service)
        if entry is not None:
            return iter(entry[0])
        svc = self.base.services.get(service)
        return iter(svc.instances) if svc is not None else iter(())

    def services(self) -> set[str]:
        return set(self.base.services) | set(self.changed)


class Env:
    """The mutable context one evaluation runs in (internal; never shared between threads)."""

    __slots__ = (
        "args",
        "declined",
        "declines",
        "post",
        "pre",
        "refs",
        "result",
        "role",
        "service",
        "status",
        "target",
        "vars",
    )

    def __init__(self, pre: View, service: str, role: Role) -> None:
        self.pre = pre
        self.post: View | None = None
        self.service = service
        self.role = role
        self.target: Ref | None = None
        self.args: dict[str, Any] = {}
        self.status = 200
        self.result: Ref | None = None
        # Set by the engine when the step stopped at its confirmation point, declined.
        self.declined = False
        # Set by the engine for a server request that carries the user's "no".
        self.declines = False
        self.vars: dict[str, Ref] = {}
        # The instances of each domain (by _SLOT), computed at most once per views.
        self.refs: list[list[Ref] | None] = [None, None, None]

    def reset(self, pre: View, post: View | None, service: str) -> None:
        """Point the environment at other views (and forget the domains computed for the old)."""
        self.pre, self.post, self.service = pre, post, service
        self.refs = [None, None, None]


_SLOT = {domain: index for index, domain in enumerate(Domain)}


def domain_refs(env: Env, domain: Domain, slot: int = -1) -> list[Ref]:
    """Every instance a quantifier over ``domain`` must look at, fresh names included.

    Quantifiers of one evaluation ask for the same domains again and again, so the answer is
    kept in the environment until the views change (:meth:`Env.reset`).
    """
    if slot < 0:
        slot = _SLOT[domain]
    cached = env.refs[slot]
    if cached is not None:
        return cached
    views = (env.pre,) if env.post is None else (env.pre, env.post)
    if domain is Domain.SERVICE:
        refs = _service_refs(views, env.service)
    else:
        services: set[str] = set()
        for view in views:
            services |= view.services()
        if domain is Domain.DEVICE:
            services.add(env.service)
        else:
            services.discard(env.service)
        refs = [ref for service in sorted(services) for ref in _service_refs(views, service)]
        refs.append((FRESH, FRESH))
    env.refs[slot] = refs
    return refs


def _service_refs(views: tuple[View, ...], service: str) -> list[Ref]:
    if len(views) == 1 or service not in views[1].changed:
        names: Any = views[-1].names(service)
    else:
        names = sorted(set(views[0].names(service)) | set(views[1].names(service)))
    refs = [(service, name) for name in names]
    refs.append((service, FRESH))
    return refs


def compile_expr(expr: Expr) -> Compiled:
    """Compile an expression into a closure over an :class:`Env` (done once, at engine load)."""
    match expr:
        case Lit():
            return _compile_lit(expr)
        case Var():
            return _compile_var(expr)
        case Arg():
            return _compile_arg(expr)
        case Builtin():
            return _compile_builtin(expr)
        case Not():
            return _compile_not(expr)
        case BoolOp():
            return _compile_boolop(expr)
        case Compare():
            return _compile_compare(expr)
        case Ite():
            return _compile_ite(expr)
        case Read():
            return _compile_read(expr)
        case Unchanged():
            return _compile_unchanged(expr)
        case WithParam():
            return _compile_withparam(expr)
        case WithoutParam():
            return _compile_withoutparam(expr)
        case Quant():
            return _compile_quant(expr)
        case Count():
            return _compile_count(expr)
        case The():
            return _compile_the(expr)
        case _:
            assert_never(expr)


HANDLED_NODES = EXPR_NODES


def _compile_lit(expr: Lit) -> Compiled:
    value = expr.value
    return lambda env: value


def _compile_var(expr: Var) -> Compiled:
    name = expr.name
    return lambda env: env.vars[name]


def _compile_arg(expr: Arg) -> Compiled:
    name = expr.name
    return lambda env: env.args[name]


def _compile_builtin(expr: Builtin) -> Compiled:
    getters: dict[BuiltinName, Compiled] = {
        BuiltinName.TARGET: operator.attrgetter("target"),
        BuiltinName.ACTOR: operator.attrgetter("role"),
        BuiltinName.STATUS: operator.attrgetter("status"),
        BuiltinName.RESULT: operator.attrgetter("result"),
        BuiltinName.DECLINED: operator.attrgetter("declined"),
        BuiltinName.DECLINES: operator.attrgetter("declines"),
    }
    return getters[expr.name]


def _compile_not(expr: Not) -> Compiled:
    operand = compile_expr(expr.operand)
    return lambda env: not operand(env)


def _compile_boolop(expr: BoolOp) -> Compiled:
    left, right = compile_expr(expr.left), compile_expr(expr.right)
    if expr.op is Connective.AND:
        return lambda env: bool(left(env)) and bool(right(env))
    if expr.op is Connective.OR:
        return lambda env: bool(left(env)) or bool(right(env))
    return lambda env: (not left(env)) or bool(right(env))


def _compile_compare(expr: Compare) -> Compiled:
    left, right, op = compile_expr(expr.left), compile_expr(expr.right), expr.op.function
    return lambda env: op(left(env), right(env))


def _compile_ite(expr: Ite) -> Compiled:
    cond, then, orelse = compile_expr(expr.cond), compile_expr(expr.then), compile_expr(expr.orelse)
    return lambda env: then(env) if cond(env) else orelse(env)


def _compile_read(expr: Read) -> Compiled:
    attr, primed = expr.field.value, expr.primed
    if isinstance(expr.of, Var):
        # The common case (a bound variable), without the extra call.
        name = expr.of.name
        # Primed reads only compile inside transition properties, which run with ``post`` set.
        if primed:
            return lambda env: getattr(env.post.rec(*env.vars[name]), attr)  # type: ignore[union-attr]
        return lambda env: getattr(env.pre.rec(*env.vars[name]), attr)
    if isinstance(expr.of, Builtin) and expr.of.type is Type.INSTANCE:
        # An instance-typed ``target`` exists only for operations that name one, so it is set.
        if primed:
            return lambda env: getattr(env.post.rec(*env.target), attr)  # type: ignore[union-attr,misc]
        return lambda env: getattr(env.pre.rec(*env.target), attr)  # type: ignore[misc]
    of = compile_expr(expr.of)

    def read(env: Env) -> Any:
        ref = of(env)
        if ref is None:
            return False
        view = env.post if primed else env.pre
        assert view is not None, "a primed read outside a transition property"
        return getattr(view.rec(ref[0], ref[1]), attr)

    return read


def _compile_unchanged(expr: Unchanged) -> Compiled:
    of = compile_expr(expr.of)

    def unchanged(env: Env) -> bool:
        service, name = of(env)
        assert env.post is not None, "unchanged() outside a transition property"
        before, after = env.pre.rec(service, name), env.post.rec(service, name)
        return before is after or record_values(before) == record_values(after)

    return unchanged


def _compile_withparam(expr: WithParam) -> Compiled:
    params, key, value = compile_expr(expr.params), compile_expr(expr.key), compile_expr(expr.value)
    return lambda env: params(env).set(key(env), value(env))


def _compile_withoutparam(expr: WithoutParam) -> Compiled:
    params, key = compile_expr(expr.params), compile_expr(expr.key)
    return lambda env: params(env).remove(key(env))


# Quantifiers bind their variable in ``env.vars`` and never restore it: the parser forbids a
# variable that hides another, so after a quantifier nothing reads it until it is bound again.


def _compile_quant(expr: Quant) -> Compiled:
    var, body, domain = expr.var, compile_expr(expr.body), expr.domain
    slot = _SLOT[domain]
    if expr.kind is Quantifier.ALL:

        def forall(env: Env) -> bool:
            bound = env.vars
            for ref in domain_refs(env, domain, slot):
                bound[var] = ref
                if not body(env):
                    return False
            return True

        return forall

    def exists(env: Env) -> bool:
        bound = env.vars
        for ref in domain_refs(env, domain, slot):
            bound[var] = ref
            if body(env):
                return True
        return False

    return exists


def _compile_count(expr: Count) -> Compiled:
    var, body, domain = expr.var, compile_expr(expr.body), expr.domain
    slot = _SLOT[domain]

    def count(env: Env) -> float:
        total: float = 0
        bound = env.vars
        for ref in domain_refs(env, domain, slot):
            bound[var] = ref
            if body(env):
                total += math.inf if ref[1] == FRESH else 1
        return total

    return count


def _compile_the(expr: The) -> Compiled:
    var, body, domain = expr.var, compile_expr(expr.body), expr.domain
    slot = _SLOT[domain]

    def the(env: Env) -> Ref | None:
        bound, found = env.vars, None
        for ref in domain_refs(env, domain, slot):
            bound[var] = ref
            # A fresh name stands for infinitely many (as in count): a candidate there is many.
            if body(env):
                if found is not None or ref[1] == FRESH:
                    raise Ambiguous(expr)
                found = ref
        return found

    return the
