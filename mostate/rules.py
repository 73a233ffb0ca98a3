"""The typed syntax tree of the spec language: expressions, operations, invariants, properties.

These values are the single source of truth for a spec. The engine (:mod:`mostate.engine`)
executes them and the Z3 compiler (:mod:`mostate.symbolic`) proves them; both dispatch on the
node classes below, in the order they are defined here. Every node carries the location of the
text it came from (left out of equality and hashing), so that any outcome can say which clause
of the spec decided it.

Semantics in brief (the README has the grammar):

* An *instance reference* names one instance of one service. ``target`` is the request's instance.
* Quantifiers ``all``/``any``/``count``/``the`` bind a variable over the instances of a *domain*:
  ``service`` (the target's service, or the service an invariant is checked on), ``others``
  (every other service) or ``device`` (all). Instance names are unbounded: a name the state
  does not mention has no flags and no parameters.
* ``exists/active/default/locked(x)`` read the state before the step; the primed forms
  (``active'(x)``) read it after, in transition properties only.
* An operation is a sequence of *steps*: refusals, a confirmation point, and effects. Steps run in
  order; the first refusal that fires ends the request with its status, keeping what earlier
  effects did (so a spec that puts an effect before a refusal is a spec with a bug the
  properties can catch).
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from typing import Any, TypeAlias, assert_never

import attrs

from .errors import Location, RequestError
from .frozenmap import FrozenMap
from .model import EMPTY_PARAMS, ArgValue, Request, Role, Status, check_name
from .model import FLAGS as INSTANCE_FLAGS


class Type(enum.Enum):
    """The types of the expression language."""

    BOOL = "bool"
    INT = "int"
    STR = "str"
    INSTANCE = "instance"
    OPT_INSTANCE = "instance?"
    PARAMS = "params"
    ACTOR = "actor"


class Domain(enum.Enum):
    """Which instances a quantifier (or an effect) ranges over."""

    SERVICE = "service"
    OTHERS = "others"
    DEVICE = "device"


class Field(enum.Enum):
    """The per-instance state an effect can change and a predicate can read: whether the
    instance exists, its flags (:data:`mostate.model.FLAGS`, in that order) and its
    parameters. ``tests/core/test_schema.py`` holds it to :class:`~mostate.model.Instance`."""

    EXISTS = "exists"
    ACTIVE = "active"
    DEFAULT = "default"
    LOCKED = "locked"
    PARAMS = "params"


FLAGS = tuple(f for f in Field if f is not Field.PARAMS)
"""The boolean fields of a record: whether it exists, and its flags."""
STATUS = tuple(Field(name) for name in INSTANCE_FLAGS)
"""The flags of an instance (:data:`mostate.model.FLAGS`)."""

NOWHERE = Location("<built in code>", 0, 0)
_loc: Location = attrs.field(eq=False, repr=False, default=NOWHERE)

LitValue: TypeAlias = "bool | int | str | Role | FrozenMap[str, str] | None"


@attrs.frozen
class Lit:
    """A literal: ``true``, ``3``, ``"x"``, ``user``, ``none`` or ``{}``."""

    value: LitValue
    type: Type
    loc: Location = _loc


@attrs.frozen
class Var:
    """A variable bound by a quantifier, or the ``i`` of an effect."""

    name: str
    loc: Location = _loc


@attrs.frozen
class Arg:
    """An argument the operation declares (``value``, ``param``, ``params``, ...)."""

    name: str
    type: Type
    loc: Location = _loc


class BuiltinName(enum.Enum):
    TARGET = "target"
    ACTOR = "actor"
    STATUS = "status"
    RESULT = "result"
    DECLINED = "declined"
    DECLINES = "declines"


@attrs.frozen
class Builtin:
    """``target``, ``actor``; and ``status``, ``result``, ``declined``, ``declines`` in
    transition properties.

    ``declines`` (Bool) holds when a server's request carries the user's "no" to a confirmation,
    whether or not the operation asks for one. ``declined`` holds when, besides, the operation
    reached its confirmation point: the user was asked, said no, and the step stopped there with
    215 (a refusal that fires earlier means nobody was asked). A property ``declines -> ...``
    can thus see an operation that forgot to ask."""

    name: BuiltinName
    type: Type
    loc: Location = _loc


@attrs.frozen
class Not:
    operand: Expr
    loc: Location = _loc


class Connective(enum.Enum):
    AND = "and"
    OR = "or"
    IMPLIES = "->"


@attrs.frozen
class BoolOp:
    op: Connective
    left: Expr
    right: Expr
    loc: Location = _loc


class Comparison(enum.Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def function(self) -> Callable[[Any, Any], bool]:
        """What the comparison means on two values, for every backend that runs it in Python.

        >>> Comparison.LE.function(2, 3)
        True
        """
        return _COMPARISONS[self]


_COMPARISONS: dict[Comparison, Callable[[Any, Any], bool]] = {
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
}


@attrs.frozen
class Compare:
    op: Comparison
    left: Expr
    right: Expr
    loc: Location = _loc


@attrs.frozen
class Ite:
    """``if cond then a else b``."""

    cond: Expr
    then: Expr
    orelse: Expr
    type: Type
    loc: Location = _loc


@attrs.frozen
class Read:
    """``exists(x)``, ``active(x)``, ``params(x)``...; ``primed`` reads the state after the step."""

    field: Field
    of: Expr
    primed: bool
    loc: Location = _loc


@attrs.frozen
class Unchanged:
    """``unchanged(x)``: every field of instance ``x`` is the same after the step as before."""

    of: Expr
    loc: Location = _loc


@attrs.frozen
class WithParam:
    """``with(m, k, v)``: the parameter map ``m`` with ``k`` set to ``v``."""

    params: Expr
    key: Expr
    value: Expr
    loc: Location = _loc


@attrs.frozen
class WithoutParam:
    """``without(m, k)``: the parameter map ``m`` with no value for ``k``."""

    params: Expr
    key: Expr
    loc: Location = _loc


class Quantifier(enum.Enum):
    ALL = "all"
    ANY = "any"


@attrs.frozen
class Quant:
    """``all(i, body)`` / ``any(i in others, body)``."""

    kind: Quantifier
    var: str
    domain: Domain
    body: Expr
    loc: Location = _loc


@attrs.frozen
class Count:
    """``count(i, body)``: how many instances of the domain satisfy ``body`` (an Int)."""

    var: str
    domain: Domain
    body: Expr
    loc: Location = _loc


@attrs.frozen
class The:
    """``the(i, body)``: the instance satisfying ``body``, or ``none``.

    It may not stand where a variable is bound. Where several instances qualify, the spec names
    no single one: the step breaks the obligation :data:`UNIQUE_THE` (in the engine, the
    solver and the explorer alike), so no checker depends on how instances are named."""

    var: str
    domain: Domain
    body: Expr
    loc: Location = _loc


Expr: TypeAlias = (
    "Lit | Var | Arg | Builtin | Not | BoolOp | Compare | Ite | Read | Unchanged | WithParam"
    " | WithoutParam | Quant | Count | The"
)

EXPR_NODES: tuple[type, ...] = (
    Lit,
    Var,
    Arg,
    Builtin,
    Not,
    BoolOp,
    Compare,
    Ite,
    Read,
    Unchanged,
    WithParam,
    WithoutParam,
    Quant,
    Count,
    The,
)
"""Every expression node class, in the order both interpreters handle them."""


# --- Operations -------------------------------------------------------------------------------


@attrs.frozen
class ArgDecl:
    """An argument an operation reads from the request: name, type, and whether it may be left
    out (an omitted ``params`` is the empty map). ``is_name`` marks a string that names
    something (a parameter): non-empty, without ``/``, ``?`` or NUL."""

    name: str
    type: Type
    optional: bool = False
    is_name: bool = False


@attrs.frozen
class Refusal:
    """A step that answers ``status`` and stops, when ``when`` holds for a request of ``roles``."""

    name: str
    when: Expr
    status: Status
    roles: frozenset[Role]
    loc: Location = _loc


@attrs.frozen
class Confirmation:
    """The point at which a server request carrying a declined confirmation stops with 215."""

    name: str
    loc: Location = _loc


@attrs.frozen
class Effect:
    """A step that gives each instance of ``over`` the next value of the listed fields.

    In each expression, ``i`` is the instance being updated; unlisted fields keep their value.
    """

    name: str
    over: Domain
    updates: tuple[tuple[Field, Expr], ...]
    loc: Location = _loc


Step: TypeAlias = "Refusal | Confirmation | Effect"

STEP_NODES: tuple[type, ...] = (Refusal, Confirmation, Effect)
"""Every step class, in the order the interpreter, the Z3 compiler and the specialiser handle
them."""


@attrs.frozen
class Operation:
    """One command a device accepts (``add``, ``set_active``, ``get``...)."""

    name: str
    args: tuple[ArgDecl, ...]
    has_target: bool
    steps: tuple[Step, ...]
    result: Expr | None = None
    result_type: Type | None = None
    doc: str = ""
    loc: Location = _loc

    @property
    def is_query(self) -> bool:
        """A query answers with a result; the instance-typed result ``target`` of ``get`` is
        shown as the instance's record, an ``instance?`` result as a name or null."""
        return self.result is not None

    def request_args(self, request: Request) -> dict[str, ArgValue]:
        """``request``'s arguments as this operation declares them, an optional one left out
        being the empty map; RequestError for one missing, of another type, or (an argument
        that names something) not a name. The engine and generated code both take them so.

        >>> op = Operation("set", (ArgDecl("value", Type.BOOL),), True, ())
        >>> op.request_args(Request.from_json({"actor": "user", "op": "set", "value": True}))
        {'value': True}
        """
        out: dict[str, ArgValue] = {}
        for decl in self.args:
            value = request.args.get(decl.name)
            if value is None:
                if not decl.optional:
                    raise RequestError(f"{request.op}: {decl.name!r} is missing")
                value = EMPTY_PARAMS
            elif not isinstance(value, ARG_TYPES.get(decl.type, ())):
                raise RequestError(f"{request.op}: {decl.name!r} must be {decl.type.value}")
            elif decl.is_name:
                check_name(value, f"{request.op}: {decl.name!r}")
            out[decl.name] = value
        return out


ARG_TYPES: dict[Type, type] = {Type.STR: str, Type.BOOL: bool, Type.PARAMS: FrozenMap}
"""The Python type of an argument of each type a request can carry."""


# --- Properties -------------------------------------------------------------------------------


@attrs.frozen
class Invariant:
    """A condition every reachable state satisfies, checked for each service on its own."""

    name: str
    expr: Expr
    doc: str = ""
    loc: Location = _loc


@attrs.frozen
class Property:
    """A condition over one step (state before, state after, status, result).

    ``ops`` and ``roles`` restrict which steps it speaks of (``None``: all operations).
    """

    name: str
    expr: Expr
    ops: frozenset[str] | None
    roles: frozenset[Role]
    doc: str = ""
    loc: Location = _loc


@attrs.frozen
class Independence:
    """A two-run property: for requests of ``roles``, the step's status, result and effect on
    every other field do not depend on ``field`` of any instance of the device, in the target's
    service or any other (e.g. Locked never blocks a server)."""

    name: str
    field: Field
    roles: frozenset[Role]
    doc: str = ""
    loc: Location = _loc


@attrs.frozen
class Obligation:
    """A condition every spec must meet whatever its properties say, checked on every step by
    every checker like a property (the engine answers 500 on a step that breaks one)."""

    name: str
    doc: str


CREATES_ONLY_TARGET = Obligation(
    "creates_only_target",
    "A step creates no instance but the one it targets, so every state stays finite.",
)
UNIQUE_THE = Obligation(
    "unique_the", "Every the(...) a step evaluates has at most one qualifying instance."
)
OBLIGATIONS = (CREATES_ONLY_TARGET, UNIQUE_THE)


@attrs.frozen
class Spec:
    """A whole loaded spec: operations by name, and the properties the operations must keep."""

    name: str
    source: str
    ops: FrozenMap[str, Operation]
    invariants: tuple[Invariant, ...]
    properties: tuple[Property, ...]
    independences: tuple[Independence, ...]
    doc: str = ""

    def property_names(self) -> tuple[str, ...]:
        """The names of every invariant, transition property and independence, in spec order."""
        return (
            tuple(i.name for i in self.invariants)
            + tuple(p.name for p in self.properties)
            + tuple(i.name for i in self.independences)
        )


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node (for generic walks such as free-name checks)."""
    match expr:
        case Lit() | Var() | Arg() | Builtin():
            return ()
        case Not(operand=e) | Read(of=e) | Unchanged(of=e):
            return (e,)
        case BoolOp(left=a, right=b) | Compare(left=a, right=b) | WithoutParam(params=a, key=b):
            return (a, b)
        case Ite(cond=c, then=a, orelse=b) | WithParam(params=c, key=a, value=b):
            return (c, a, b)
        case Quant(body=b) | Count(body=b) | The(body=b):
            return (b,)
        case _:
            assert_never(expr)


def map_children(expr: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``expr`` with ``fn`` applied to each direct sub-expression, in the order of
    :func:`children`; the node's own fields (and location) are kept. The match is exhaustive, so
    a rewrite built on it cannot skip a node type added later.

    >>> e = BoolOp(Connective.AND, Var("i"), Lit(True, Type.BOOL))
    >>> map_children(e, Not) == BoolOp(Connective.AND, Not(Var("i")), Not(Lit(True, Type.BOOL)))
    True
    >>> map_children(Var("i"), Not)
    Var(name='i')
    """
    match expr:
        case Lit() | Var() | Arg() | Builtin():
            return expr
        case Not():
            return attrs.evolve(expr, operand=fn(expr.operand))
        case Read() | Unchanged():
            return attrs.evolve(expr, of=fn(expr.of))
        case BoolOp() | Compare():
            return attrs.evolve(expr, left=fn(expr.left), right=fn(expr.right))
        case WithoutParam():
            return attrs.evolve(expr, params=fn(expr.params), key=fn(expr.key))
        case Ite():
            return attrs.evolve(
                expr, cond=fn(expr.cond), then=fn(expr.then), orelse=fn(expr.orelse)
            )
        case WithParam():
            return attrs.evolve(
                expr, params=fn(expr.params), key=fn(expr.key), value=fn(expr.value)
            )
        case Quant() | Count() | The():
            return attrs.evolve(expr, body=fn(expr.body))
        case _:
            assert_never(expr)


def walk(expr: Expr) -> list[Expr]:
    """Every node of ``expr``, parents before children."""
    out: list[Expr] = [expr]
    for child in children(expr):
        out.extend(walk(child))
    return out


def step_exprs(op: Operation) -> list[Expr]:
    """Every expression of an operation's steps: refusal conditions and effect updates (not its
    query result), in spec order."""
    out: list[Expr] = []
    for step in op.steps:
        match step:
            case Refusal():
                out.append(step.when)
            case Confirmation():
                pass
            case Effect():
                out.extend(expr for _, expr in step.updates)
            case _:
                assert_never(step)
    return out


def conjuncts(expr: Expr) -> tuple[Expr, ...]:
    """The parts of ``expr`` joined by its top-level ``and``, left to right (``expr`` alone when
    it is no conjunction): a goal holds exactly when each of them does.

    >>> a, b, c = (Read(f, Builtin(BuiltinName.TARGET, Type.INSTANCE), False) for f in STATUS)
    >>> conjuncts(BoolOp(Connective.AND, BoolOp(Connective.AND, a, b), c)) == (a, b, c)
    True
    >>> conjuncts(Not(a)) == (Not(a),)
    True
    """
    if isinstance(expr, BoolOp) and expr.op is Connective.AND:
        return conjuncts(expr.left) + conjuncts(expr.right)
    return (expr,)


def reads_other_services(expr: Expr) -> bool:
    """Whether ``expr`` quantifies beyond its own service (``others`` or ``device``): an
    invariant that does can be broken by a step on another service.

    >>> reads_other_services(Quant(Quantifier.ANY, "i", Domain.OTHERS, Lit(True, Type.BOOL)))
    True
    """
    return any(
        isinstance(node, Quant | Count | The) and node.domain is not Domain.SERVICE
        for node in walk(expr)
    )


def reads_only(expr: Expr, var: str) -> bool:
    """Whether ``expr`` reads the state through plain reads of instance ``var`` alone: no
    other variable, no quantifier, no primed read, ``unchanged`` or builtin. Such a body,
    under ``all`` or ``count`` over a service, is decided per instance: a step that changes
    one instance changes its value for that instance only.

    >>> now, after = Read(Field.ACTIVE, Var("i"), False), Read(Field.ACTIVE, Var("i"), True)
    >>> reads_only(Not(now), "i"), reads_only(after, "i")
    (True, False)
    """
    for node in walk(expr):
        match node:
            case Var(name=name) if name != var:
                return False
            case Read(primed=True) | Unchanged() | Builtin() | Quant() | Count() | The():
                return False
            case Read(of=of) if not isinstance(of, Var):
                return False
            case _:
                pass
    return True


def fields_read(expr: Expr) -> frozenset[Field]:
    """The fields of instances ``expr`` reads: those of its reads, every field for
    ``unchanged``, and ``exists`` wherever it ranges over instances (a quantifier walks the
    instances that exist). A step that writes none of them leaves ``expr`` as it was.

    >>> one = Count("i", Domain.SERVICE, Read(Field.ACTIVE, Var("i"), False))
    >>> sorted(f.value for f in fields_read(one))
    ['active', 'exists']
    """
    out: set[Field] = set()
    for node in walk(expr):
        match node:
            case Read(field=field):
                out.add(field)
            case Unchanged():
                out.update(Field)
            case Quant() | Count() | The():
                out.add(Field.EXISTS)
            case _:
                pass
    return frozenset(out)


def has_the(expr: Expr) -> bool:
    """Whether ``expr`` names an instance with ``the(...)`` (whose ambiguity is an obligation)."""
    return any(isinstance(node, The) for node in walk(expr))


def spec_exprs(spec: Spec) -> list[Expr]:
    """Every expression of a spec: invariants, properties, and each operation's steps and
    result."""
    out: list[Expr] = [inv.expr for inv in spec.invariants]
    out += [prop.expr for prop in spec.properties]
    for op in spec.ops.values():
        out += step_exprs(op)
        if op.result is not None:
            out.append(op.result)
    return out
