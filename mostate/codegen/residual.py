"""The residual language: what the partial evaluator leaves of a step once it has folded what is
known, as values.

The specialiser (:mod:`.expr`, :mod:`.domains`, :mod:`.checks`, :mod:`.operation`) builds these
frozen nodes; it never writes text. Each back end reads them by an exhaustive ``match``: the
Python printer (:mod:`.python`) writes the source the engine compiles, the array evaluator
(:mod:`mostate.explore.evaluator`) runs a successor over a block of states, and
:mod:`.locality` reads what a successor reads of the state. A test names, for every node, its
case in each of them (``tests/codegen/test_residual.py``).

The nodes say what is computed, not how a language spells it: a record of the schema's fields
(:class:`Record`), the records of one service by name and the look-ups into them, loops over
those records (:data:`Loop`) and the reductions over a loop (:class:`Reduce`, :class:`TheOf`),
parameter maps changed by one key, and the exits of a step (:class:`Exit`: a status, the
deciding clause, the service's records after the step and the clauses it breaks). Constants
are the values themselves (:class:`Const`), literals are ``None``, booleans, integers, strings
and finite floats (:class:`Lit`); names (:class:`Local`) are the generator's own. Nothing here
is a Python object a C printer could not spell: a function's state is its parameters, its locals
and the records it builds; a backend that has no exceptions reads :class:`Guard` as "a ``the``
found several candidates: hand the request back".
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, TypeAlias, assert_never

import attrs

from ..model import Clause, Status
from ..rules import Comparison, Field, Type


def _typed(value: object) -> tuple[type, object]:
    """What makes two literals or constants the same: ``True`` is not ``1``."""
    return (type(value), value)


# -- terms -------------------------------------------------------------------------------------


@attrs.frozen
class Lit:
    """A literal: ``None``, a bool, an int, a str or a finite float."""

    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class Const:
    """A value the module names (a clause, a status, a parameter map, an AST node, a type)."""

    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class Local:
    """A name the generator chose: a parameter (``S``, ``N``, ``pre``...) or a local."""

    name: str


class Well(enum.Enum):
    """Values every generated module may read without naming them itself."""

    ABSENT = "absent"
    """The record of a name a service does not hold: no flag, no parameter, not existing."""
    NONE_RECORD = "none record"
    """The record read through ``none``: every field false, the parameters included."""
    INF = "inf"
    """The count of the infinitely many names a state does not mention."""
    EMPTY_PARAMS = "empty params"


@attrs.frozen
class Known:
    """One of the values of :class:`Well`."""

    which: Well


@attrs.frozen
class Not:
    operand: Term


@attrs.frozen
class And:
    left: Term
    right: Term


@attrs.frozen
class Or:
    left: Term
    right: Term


@attrs.frozen
class Compare:
    op: Comparison
    left: Term
    right: Term


@attrs.frozen
class Cond:
    """``then`` where ``test`` holds, else ``orelse`` (only the branch taken is evaluated)."""

    test: Term
    then: Term
    orelse: Term


@attrs.frozen
class FieldOf:
    """One field of a record."""

    record: Term
    field: Field


@attrs.frozen
class Has:
    """Whether the records ``records`` hold the name ``key``."""

    records: Term
    key: Term


@attrs.frozen
class Lookup:
    """The record of ``key`` in ``records``, ``default`` when they hold none (``None``: no
    record, as a query's result)."""

    records: Term
    key: Term
    default: Term | None


@attrs.frozen
class At:
    """The record of ``key`` in ``records``, which hold it."""

    records: Term
    key: Term


@attrs.frozen
class RecordOf:
    """The record of a reference computed at run time: a name of the request's service is
    looked up in ``records`` (``fresh`` for a name they do not hold), another service's in the
    state as it was, ``none`` reads :data:`Well.NONE_RECORD`."""

    ref: Term
    records: Term
    fresh: Term


@attrs.frozen
class Same:
    """Whether two records have the same fields."""

    before: Term
    after: Term


@attrs.frozen
class RefTo:
    """The reference to the instance ``name`` of the service ``service``."""

    service: Term
    name: Term


@attrs.frozen
class Record:
    """A record with these fields, in the schema's order (:class:`~mostate.rules.Field`); the
    first says whether it exists."""

    fields: tuple[Term, ...]


@attrs.frozen
class Rebuilt:
    """``record`` where some pair of ``differs`` differs, else ``old`` itself: a record
    rewritten only when one of its fields changes."""

    record: Term
    old: Term
    differs: tuple[tuple[Term, Term], ...]


@attrs.frozen
class Copied:
    """A copy of ``records`` that later statements may change."""

    records: Term


@attrs.frozen
class AddedTo:
    """A copy of ``records`` with ``key`` (a name they do not hold) given ``record``."""

    records: Term
    key: Term
    record: Term


@attrs.frozen
class NoRecords:
    """Empty records, to be filled by :class:`Store`."""


@attrs.frozen
class WithParam:
    params: Term
    key: Term
    value: Term


@attrs.frozen
class WithoutParam:
    params: Term
    key: Term


@attrs.frozen
class Sum:
    """The sum of counts (``inf`` included)."""

    terms: tuple[Term, ...]


class Reduction(enum.Enum):
    ALL = "all"
    ANY = "any"
    COUNT = "count"


@attrs.frozen
class Reduce:
    """``body`` over every step of ``loop``: whether all hold, whether any does, or how many."""

    kind: Reduction
    body: Term
    loop: Loop


@attrs.frozen
class Candidates:
    """The references ``item`` for each step of ``loop`` where ``where`` holds (every step
    when ``None``)."""

    item: Term
    loop: Loop
    where: Term | None


@attrs.frozen
class One:
    """The reference ``item`` alone, when ``when`` holds (always when ``None``)."""

    item: Term
    when: Term | None


@attrs.frozen
class TheOf:
    """The one reference the candidate lists hold, ``None`` for none; several: the ``the``
    ``node`` (a :class:`Const` of the spec's node) is ambiguous (see :class:`Guard`)."""

    node: Const
    lists: tuple[Candidates | One, ...]


Term: TypeAlias = (
    "Lit | Const | Local | Known | Not | And | Or | Compare | Cond | FieldOf | Has | Lookup | At"
    " | RecordOf | Same | RefTo | Record | Rebuilt | Copied | AddedTo | NoRecords | WithParam"
    " | WithoutParam | Sum | Reduce | Candidates | One | TheOf"
)

# -- loops -------------------------------------------------------------------------------------


@attrs.frozen
class OverRecords:
    """Each ``(name, rec)`` of ``records`` (in name order when ``ordered``: a body that may
    find a ``the`` ambiguous stops where the interpreter does), but the name ``unless``."""

    name: Local
    rec: Local
    records: Term
    ordered: bool = False
    unless: Term | None = None


@attrs.frozen
class OverOthers:
    """Each instance ``(service, name, rec)`` of every service of the state but the
    request's, through the service's holder ``holder``."""

    service: Local
    holder: Local
    name: Local
    rec: Local
    ordered: bool = False


@attrs.frozen
class OverOtherServices:
    """Each service of the state but the request's."""

    service: Local


Loop: TypeAlias = "OverRecords | OverOthers | OverOtherServices"

# -- statements --------------------------------------------------------------------------------


@attrs.frozen
class Let:
    name: Local
    value: Term


@attrs.frozen
class Store:
    """``records`` (built by this function) give ``key`` the record ``value``."""

    records: Local
    key: Term
    value: Term


@attrs.frozen
class If:
    """``body`` where ``test`` holds, else ``orelse`` (``None``: no else branch)."""

    test: Term
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] | None = None


@attrs.frozen
class ForEach:
    """``body`` for each step of ``loop``."""

    loop: OverRecords
    body: tuple[Stmt, ...]


@attrs.frozen
class Guard:
    """``body``, ended where a ``the`` it evaluates has several candidates: the operation
    form answers with the obligation it breaks, the successor form hands the request back."""

    body: tuple[Stmt, ...]


@attrs.frozen
class Check:
    """``clause`` is broken unless ``holds`` (``None``: broken outright). ``guarded``: a
    ``the`` in ``holds`` may be ambiguous, which counts as broken."""

    holds: Term | None
    clause: Const
    guarded: bool = False


@attrs.frozen
class ValidSplit:
    """The invariants' checks: ``quick`` when the caller says the service kept every
    invariant before the step, else ``full`` (operation form only)."""

    quick: tuple[Stmt, ...]
    full: tuple[Stmt, ...]


@attrs.frozen
class Result:
    """A query's result: the reference ``ref`` (``name``: the name of the instance of the
    request's service it refers to, when the function has it at hand), given as the
    instance's record (``type`` instance) or its name (``instance?``)."""

    ref: Term
    name: Term | None
    type: Type


@attrs.frozen
class Exit:
    """The end of a step: its ``status`` and deciding ``clause``; the request's service after
    it (``records``: ``None`` for unchanged; ``point``: only the target's record differs, held
    in ``held`` when the function has it at hand; ``fresh``: the record of the names they do
    not hold, which must not exist); the query's ``result``; and the ``checks`` of what the
    step may break."""

    status: Status
    clause: Clause
    records: Local | None
    point: bool
    held: Local | None
    fresh: Local | None
    result: Result | None
    checks: tuple[Stmt, ...]


@attrs.frozen
class Fallback:
    """Hand the request back to the engine (successor form)."""


@attrs.frozen
class ArgCheck:
    """One declared argument as the operation form reads it from the request: into
    ``local``, of the type ``kind`` names (``type`` in messages), left out as the empty map
    when ``optional``, checked as a name when ``is_name``."""

    local: Local
    name: str
    type: str
    kind: Const
    optional: bool
    is_name: bool


@attrs.frozen
class Prologue:
    """The operation form's reading of the request (``Engine._prepare``): its service, its
    target (``target``), its arguments, the state's records of its service, and for a
    server whether it declines (``decline``, the value it compares with)."""

    op: str
    target: bool
    args: tuple[ArgCheck, ...]
    decline: Const | None


Stmt: TypeAlias = (
    "Let | Store | If | ForEach | Guard | Check | ValidSplit | Exit | Fallback | Prologue"
)

TERM_NODES: tuple[type, ...] = (
    Lit,
    Const,
    Local,
    Known,
    Not,
    And,
    Or,
    Compare,
    Cond,
    FieldOf,
    Has,
    Lookup,
    At,
    RecordOf,
    Same,
    RefTo,
    Record,
    Rebuilt,
    Copied,
    AddedTo,
    NoRecords,
    WithParam,
    WithoutParam,
    Sum,
    Reduce,
    Candidates,
    One,
    TheOf,
)
"""Every term node, in the order each backend handles them."""
LOOP_NODES: tuple[type, ...] = (OverRecords, OverOthers, OverOtherServices)
STMT_NODES: tuple[type, ...] = (
    Let,
    Store,
    If,
    ForEach,
    Guard,
    Check,
    ValidSplit,
    Exit,
    Fallback,
    Prologue,
)

# -- functions and modules ---------------------------------------------------------------------

OPERATION_PARAMS = ("state", "request", "check", "valid")
"""The operation form: ``(state, request, check, valid=False) -> (outcome, broken)``."""
SUCCESSOR_PARAMS = ("svcs", "S", "N", "pre")
"""The successor form: the state's services, the request's service and target, and that
service's records."""

SERVICES, SERVICE, TARGET, PRE = (Local(name) for name in SUCCESSOR_PARAMS)
"""The names every function has for the state's services, the request's service and target,
and that service's records before the step."""


@attrs.frozen
class Function:
    """One generated function: ``successor`` says which form (its parameters)."""

    name: str
    successor: bool
    body: tuple[Stmt, ...]


@attrs.frozen
class Module:
    """One generated module: a comment saying what it is, its functions, and the values its
    constants name, in the order they were given names."""

    header: str
    functions: tuple[Function, ...]
    constants: tuple[Any, ...] = attrs.field(eq=False)


def constant_key(value: object) -> tuple[type, object]:
    """What names a constant: equal values of one type share a name (an unhashable value is
    named by identity)."""
    try:
        key: tuple[type, object] = (type(value), value)
        hash(key)
    except TypeError:
        key = (type(value), id(value))
    return key


# -- walks -------------------------------------------------------------------------------------


def term_children(term: Term) -> Iterator[Term]:
    """The terms directly inside ``term`` (a loop's terms included)."""
    match term:
        case Lit() | Const() | Local() | Known() | NoRecords():
            return
        case Not():
            yield term.operand
        case And() | Or() | Compare():
            yield from (term.left, term.right)
        case Cond():
            yield from (term.test, term.then, term.orelse)
        case FieldOf():
            yield term.record
        case Has() | At():
            yield from (term.records, term.key)
        case Lookup():
            yield from (term.records, term.key)
            if term.default is not None:
                yield term.default
        case RecordOf():
            yield from (term.ref, term.records, term.fresh)
        case Same():
            yield from (term.before, term.after)
        case RefTo():
            yield from (term.service, term.name)
        case Record():
            yield from term.fields
        case Rebuilt():
            yield from (term.record, term.old)
            for a, b in term.differs:
                yield from (a, b)
        case Copied():
            yield term.records
        case AddedTo():
            yield from (term.records, term.key, term.record)
        case WithParam():
            yield from (term.params, term.key, term.value)
        case WithoutParam():
            yield from (term.params, term.key)
        case Sum():
            yield from term.terms
        case Reduce():
            yield from loop_terms(term.loop)
            yield term.body
        case Candidates():
            yield from loop_terms(term.loop)
            yield term.item
            if term.where is not None:
                yield term.where
        case One():
            yield term.item
            if term.when is not None:
                yield term.when
        case TheOf():
            yield term.node
            yield from term.lists
        case _:
            assert_never(term)


def loop_terms(loop: Loop) -> Iterator[Term]:
    """The terms a loop names: its variables and what it walks."""
    match loop:
        case OverRecords():
            yield from (loop.name, loop.rec, loop.records)
            if loop.unless is not None:
                yield loop.unless
        case OverOthers():
            yield from (loop.service, loop.holder, loop.name, loop.rec, SERVICES, SERVICE)
        case OverOtherServices():
            yield from (loop.service, SERVICES, SERVICE)
        case _:
            assert_never(loop)


def terms(term: Term) -> Iterator[Term]:
    """``term`` and every term inside it, parents first."""
    yield term
    for child in term_children(term):
        yield from terms(child)


def stmt_terms(stmt: Stmt, successor: bool) -> Iterator[Term]:
    """The terms a statement reads itself (not those of the statements it holds), as the
    ``successor`` or the operation form spells it."""
    match stmt:
        case Let():
            yield from (stmt.name, stmt.value)
        case Store():
            yield from (stmt.records, stmt.key, stmt.value)
        case If():
            yield stmt.test
        case ForEach():
            yield from loop_terms(stmt.loop)
        case Guard() | ValidSplit() | Fallback():
            return
        case Check():
            yield stmt.clause
            if stmt.holds is not None:
                yield stmt.holds
        case Exit():
            yield from exit_terms(stmt, successor)
        case Prologue():
            yield from (SERVICE, PRE, SERVICES)
            yield from (arg.local for arg in stmt.args)
            if stmt.target:
                yield TARGET
        case _:
            assert_never(stmt)


def exit_terms(stmt: Exit, successor: bool) -> Iterator[Term]:
    """What an exit reads besides its checks: the records it hands back or rewrites the
    state with, the record of the names they do not hold, and the result."""
    if stmt.fresh is not None:
        yield stmt.fresh
    if stmt.records is not None:
        if not successor:
            yield from (stmt.records, SERVICE) + ((TARGET,) if stmt.point else ())
        elif not stmt.point:
            yield stmt.records
        elif stmt.held is not None:
            yield from (TARGET, stmt.held)
        else:
            yield from (TARGET, At(stmt.records, TARGET))
    if stmt.result is not None and not successor:
        yield stmt.result.ref
        if stmt.result.name is not None:
            yield stmt.result.name


def stmt_bodies(stmt: Stmt) -> Iterator[tuple[Stmt, ...]]:
    """The blocks of statements a statement holds."""
    match stmt:
        case Let() | Store() | Fallback() | Prologue() | Check():
            return
        case If():
            yield stmt.body
            if stmt.orelse is not None:
                yield stmt.orelse
        case ForEach() | Guard():
            yield stmt.body
        case ValidSplit():
            yield from (stmt.quick, stmt.full)
        case Exit():
            yield stmt.checks
        case _:
            assert_never(stmt)


def statements(body: tuple[Stmt, ...]) -> Iterator[Stmt]:
    """Every statement of ``body``, those inside blocks included, in order."""
    for stmt in body:
        yield stmt
        for inner in stmt_bodies(stmt):
            yield from statements(inner)
