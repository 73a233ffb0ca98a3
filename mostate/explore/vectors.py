"""Steps over a whole block of orbits at once: a generated successor's own code run over arrays.

A request that reads more of the state than its target's record (a switch that clears the
other instances' Active flag, a query over the service) cannot be read from :mod:`.tables`;
the search state by state runs its successor once per orbit. Here the successor's code (the
Python :mod:`mostate.codegen` wrote from the spec's AST, read back with :mod:`ast`) is
evaluated over numpy arrays instead: a row per (orbit, target name), a column per name of the
service, each record as its code (:mod:`.encoding`) and each field as a look-up in an array
over the codes. Each construct the generator writes has one array meaning, the same as its
meaning per row: ``any(... for n, r in pre.items())`` reduces over the columns holding a
record, ``x if c else y`` is a ``where``, ``return`` answers for the rows still running where
its test holds, ``_the`` over several candidates hands the row back (the successor's
:data:`~mostate.codegen.runtime.FALLBACK`). A construct not listed here makes the function
:class:`Unsupported`, and its requests go through the engine as before.

No rule is written here: the arrays follow the generated code node by node, and
``tests/explore/test_vectors.py`` holds every answer to the successor's own, on every state of
the shipped spec and the mutants.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..codegen.runtime import NONE_RECORD, new_instance
from ..concrete import ABSENT, Record
from ..frozenmap import FrozenMap
from ..model import Clause, Instance
from .encoding import Codec
from .explorer import Route
from .tables import BREAKS, EDGE

log = logging.getLogger(__name__)

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

_FIELDS = ("exists", "active", "default", "locked")

# What a row's run ended with.
RUNNING, KEEP, NEXT, BROKEN, HANDED_BACK = 0, 1, 2, 3, 4


class Unsupported(Exception):
    """The code holds a construct with no array meaning here."""


class Rec:
    """Records, as codes in a :class:`Book` (0: no record)."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


class Names:
    """Names of the service, as positions among the scope's names (-1: none)."""

    __slots__ = ("at",)

    def __init__(self, at: Ints) -> None:
        self.at = at


class Ref(Names):
    """A reference ``(S, name)`` to the request's service, as the name's position (-1:
    ``None``)."""


class Map:
    """A dict of records by name, as one code per column and whether the dict holds that
    name (a dict may hold :data:`ABSENT`, code 0, under a name)."""

    __slots__ = ("codes", "held")

    def __init__(self, codes: Ints, held: Bools) -> None:
        self.codes, self.held = codes, held

    def put(self, where: Bools, code: Ints) -> None:
        """Store the records ``code`` in the cells ``where``."""
        self.codes = np.where(where, code, self.codes)
        self.held = self.held | where


class Params:
    """The parameters of records, as those records' codes."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


class Broken:
    """The list ``broken``: each clause appended, with the rows it was appended on."""

    __slots__ = ("appended",)

    def __init__(self) -> None:
        self.appended: list[tuple[Clause, Bools]] = []


class Book:
    """The records one run can meet, by code: the codec's (0: no record, :data:`ABSENT`),
    then :data:`NONE_RECORD`, then the records the code builds that the codec has not met
    (given codes here; the codec codes only those a step hands back)."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        size = codec.size()
        self.records: list[Record] = [ABSENT]
        self.records += [codec.record(c) or ABSENT for c in range(1, size)]
        self.none = size
        self.records.append(NONE_RECORD)
        self.fields = {f: np.array([_field(r, f) for r in self.records]) for f in _FIELDS}
        self.built: dict[Record, int] = {}

    def field(self, name: str, code: Ints) -> Ints:
        """The field ``name`` of the records ``code``."""
        return self.fields[name][code]

    def build(self, active: Bools, default: Bools, locked: Bools, params: Ints) -> Ints:
        """The codes of ``_Instance(active, default, locked, params)`` at each cell: a record
        equal to one the codec or this book holds has its code."""
        shape = np.broadcast_shapes(active.shape, default.shape, locked.shape, params.shape)
        key = (
            np.broadcast_to(active, shape).astype(np.int64)
            | np.broadcast_to(default, shape).astype(np.int64) << 1
            | np.broadcast_to(locked, shape).astype(np.int64) << 2
            | np.broadcast_to(params, shape).astype(np.int64) << 3
        )
        unique, inverse = np.unique(key, return_inverse=True)
        codes = np.empty(len(unique), dtype=np.int64)
        for u, k in enumerate(unique.tolist()):
            held = self.records[k >> 3].params
            record = new_instance(bool(k & 1), bool(k & 2), bool(k & 4), held)
            codes[u] = self._code(record)
        return codes[inverse].reshape(shape)

    def hold(self, params: FrozenMap[str, str]) -> int:
        """The code of a record holding ``params`` (and no flag): what a constant's
        parameters are read from."""
        return self._code(new_instance(False, False, False, params))

    def _code(self, record: Record) -> int:
        found = self.codec.find(record) if isinstance(record, Instance) else None
        if found is not None:
            return found
        code = self.built.get(record)
        if code is None:
            code = self.built[record] = len(self.records)
            self.records.append(record)
            for f in _FIELDS:
                self.fields[f] = np.append(self.fields[f], _field(record, f))
        return code

    def coded(self, codes: Ints) -> Ints:
        """``codes`` with each built record given its code by the codec."""
        if self.none in codes:
            raise Unsupported("a step hands back the record of no reference")
        top = int(codes.max(initial=0))
        if top <= self.none:
            return codes
        table = np.arange(top + 1, dtype=np.int64)
        for c in np.unique(codes[codes > self.none]).tolist():
            table[c] = self.codec.record_code(self.records[c])
        return table[codes]


def _field(record: Record, name: str) -> bool:
    return bool(getattr(record, name))


Value = Any
"""What a name or expression stands for: a bool or int array, one of the classes above, or
a constant (``None``, a clause, a string)."""


class Run:
    """One run of a successor's code over ``codes`` (rows, columns: the service's codes), a
    row's target at ``target`` (rows, 1)."""

    def __init__(
        self,
        book: Book,
        codes: Ints,
        target: Ints,
        names: Sequence[str],
        constants: Mapping[str, Any],
        service: str,
    ) -> None:
        rows, width = codes.shape
        self.book, self.names, self.constants, self.service = book, names, constants, service
        self.alive: Bools = np.ones((rows, 1), dtype=np.bool_)
        self.ended = np.zeros(rows, dtype=np.int8)
        self.out = codes.copy()
        self.returned: list[tuple[Broken | tuple[Clause, ...], Bools]] = []
        self.guarded = False
        self.looping = False
        self.column = np.arange(width, dtype=np.int64)[None, :]
        self.env: dict[str, Value] = {
            "pre": Map(codes, codes != 0),
            "N": Names(target),
            "S": service,
            "svcs": _SVCS,
            "_ABSENT": Rec(np.zeros((1, 1), dtype=np.int64)),
            "_NONE_RECORD": Rec(np.full((1, 1), book.none, dtype=np.int64)),
        }

    # -- statements -------------------------------------------------------------------------

    def block(self, body: Sequence[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        match node:
            case ast.Assign(targets=[ast.Name(id=name)], value=value):
                if name in _BOUND:
                    raise Unsupported(f"{name} rebound")
                self.bind(name, self.assigned(value))
            case ast.Assign(targets=[ast.Subscript(value=ast.Name(id=d), slice=key)], value=value):
                found, at, stored = (
                    self.env.get(d),
                    self.expr(key, self.alive),
                    self.expr(value, self.alive),
                )
                if not (
                    isinstance(found, Map) and isinstance(at, Names) and isinstance(stored, Rec)
                ):
                    raise Unsupported("a store into something else than a dict of records")
                found.put((self.column == at.at) & self.alive, stored.code)
            case ast.If(test=test, body=body, orelse=orelse):
                before = self.alive
                holds = self.truth(self.expr(test, before)) & self.alive
                rest = self.alive & ~holds
                self.alive = holds
                self.block(body)
                after, self.alive = self.alive, rest
                self.block(orelse)
                self.alive = self.alive | after
            case ast.Return(value=value):
                self.answer(value)
            case ast.Expr(
                value=ast.Call(
                    func=ast.Attribute(value=ast.Name(id=lst), attr="append"), args=[ast.Name(id=k)]
                )
            ):
                target = self.env.get(lst)
                if not isinstance(target, Broken) or not isinstance(self.env_const(k), Clause):
                    raise Unsupported("append to something else than the broken list")
                target.appended.append((self.env_const(k), self.alive.reshape(-1).copy()))
            case ast.For(
                target=ast.Tuple(elts=[ast.Name(id=n), ast.Name(id=r)]),
                iter=ast.Call(func=ast.Attribute(value=source, attr="items"), args=[]),
                body=body,
                orelse=[],
            ):
                self.loop(n, r, self.mapping(source), body)
            case ast.Try(body=body, handlers=[handler], orelse=[], finalbody=[]):
                if not (
                    isinstance(handler.type, ast.Name)
                    and handler.type.id == "_Ambiguous"
                    and len(handler.body) == 1
                    and isinstance(handler.body[0], ast.Return)
                    and isinstance(handler.body[0].value, ast.Name)
                    and handler.body[0].value.id == "_FALLBACK"
                ):
                    raise Unsupported("a handler other than the fallback")
                self.guarded, was = True, self.guarded
                self.block(body)
                self.guarded = was
            case _:
                raise Unsupported(f"statement {type(node).__name__}")

    def bind(self, name: str, value: Value) -> None:
        """``name = value`` on the rows still running; the other rows keep what ``name``
        held (an assignment in one branch of an ``if``)."""
        old = self.env.get(name)
        if old is None or self.alive.all():
            self.env[name] = value
            return
        if isinstance(value, Map) and isinstance(old, Map):
            self.env[name] = Map(
                np.where(self.alive, value.codes, old.codes),
                np.where(self.alive, value.held, old.held),
            )
            return
        self.env[name] = _choose(self.alive, value, old)

    def assigned(self, node: ast.expr) -> Value:
        match node:
            case ast.List(elts=[]):
                return Broken()
            case ast.Dict(keys=[], values=[]):
                return Map(np.zeros_like(self.out), np.zeros(self.out.shape, dtype=np.bool_))
            case ast.Call(func=ast.Name(id="dict"), args=[source], keywords=[]):
                found = self.mapping(source)
                return Map(found.codes, found.held)
            case ast.Call(func=ast.Name(id="_add"), args=[source, key, value], keywords=[]):
                found, at, stored = (
                    self.mapping(source),
                    self.expr(key, self.alive),
                    self.expr(value, self.alive),
                )
                if not (isinstance(at, Names) and isinstance(stored, Rec)):
                    raise Unsupported("_add of something else than a record")
                out = Map(found.codes, found.held)
                out.put(self.column == at.at, stored.code)
                return out
        return self.expr(node, self.alive)

    def loop(self, n: str, r: str, source: Map, body: Sequence[ast.stmt]) -> None:
        """``for n, r in source.items():`` whose body binds names and stores ``d[n] = ...``."""
        if self.looping:
            raise Unsupported("a loop within a loop")
        outer = dict(self.env)
        self.env[n], self.env[r] = Names(self.column), Rec(source.codes)
        present = source.held & self.alive
        self.looping = True
        for statement in body:
            match statement:
                case ast.Assign(targets=[ast.Name(id=name)], value=value):
                    if name in outer:
                        raise Unsupported(f"{name} bound outside the loop")
                    self.env[name] = self.expr(value, present)
                case ast.Assign(
                    targets=[ast.Subscript(value=ast.Name(id=d), slice=ast.Name(id=key))],
                    value=value,
                ) if key == n and isinstance(outer.get(d), Map):
                    stored = self.expr(value, present)
                    if not isinstance(stored, Rec):
                        raise Unsupported("a dict of something else than records")
                    target: Map = outer[d]
                    target.put(present, stored.code)
                case _:
                    raise Unsupported(f"loop statement {type(statement).__name__}")
        self.looping = False
        self.env = outer

    def answer(self, node: ast.expr | None) -> None:
        """``return records, broken``: the rows still running end here."""
        rows = self.alive.reshape(-1)
        match node:
            case ast.Name(id="_FALLBACK"):
                self.ended[rows] = HANDED_BACK
            case ast.Tuple(elts=[records, broken]):
                said = self.clauses(broken)
                answered = self.records(records)
                if said is None:
                    broke = np.zeros_like(rows)
                elif isinstance(said, Broken):
                    broke = np.zeros_like(rows)
                    for _, appended in said.appended:
                        broke |= appended
                    broke &= rows
                    self.returned.append((said, broke))
                else:
                    broke = rows.copy()
                    self.returned.append((said, broke))
                fine = rows & ~broke
                self.ended[broke] = BROKEN
                if answered is None:
                    self.ended[fine] = KEEP
                else:
                    self.ended[fine] = NEXT
                    self.out[fine] = np.broadcast_to(answered, self.out.shape)[fine]
            case _:
                raise Unsupported("a return of another form")
        self.alive = np.zeros_like(self.alive)

    def records(self, node: ast.expr) -> Ints | None:
        """The service's codes a ``return`` hands back (``None``: the state is kept)."""
        match node:
            case ast.Constant(value=None):
                return None
            case ast.Tuple(elts=[name, record]):
                at, rec = self.expr(name, self.alive), self.expr(record, self.alive)
                if not isinstance(at, Names) or not isinstance(rec, Rec):
                    raise Unsupported("a pair of something else than a name and a record")
                return np.where(self.column == at.at, rec.code, self.out)
        found = self.expr(node, self.alive)
        if not isinstance(found, Map):
            raise Unsupported("records handed back as something else than a dict")
        return found.codes

    def clauses(self, node: ast.expr) -> Broken | tuple[Clause, ...] | None:
        """What a ``return`` says is broken: nothing (``None``), the list, or clauses."""
        match node:
            case ast.Tuple(elts=[]):
                return None
            case ast.Call(
                func=ast.Name(id="tuple"),
                args=[
                    ast.Call(
                        func=ast.Attribute(value=ast.Name(id="dict"), attr="fromkeys"),
                        args=[ast.Name(id=name)],
                    )
                ],
            ) if isinstance(self.env.get(name), Broken):
                found: Broken = self.env[name]
                return found
            case ast.Tuple(elts=elts) if all(isinstance(e, ast.Name) for e in elts):
                said = tuple(self.env_const(e.id) for e in elts if isinstance(e, ast.Name))
                if all(isinstance(c, Clause) for c in said):
                    return said
        raise Unsupported("broken clauses of another form")

    # -- expressions ------------------------------------------------------------------------

    def env_const(self, name: str) -> Any:
        if name in self.env:
            return self.env[name]
        if name in self.constants:
            return self.constants[name]
        raise Unsupported(f"name {name}")

    def truth(self, value: Value) -> Bools:
        if isinstance(value, Broken):
            out = np.zeros_like(self.alive)
            for _, rows in value.appended:
                out = out | rows[:, None]
            return out
        if isinstance(value, np.ndarray) and value.dtype == np.bool_:
            return value
        raise Unsupported("a test of something else than a bool")

    def mapping(self, node: ast.expr) -> Map:
        found = self.expr(node, self.alive)
        if not isinstance(found, Map):
            raise Unsupported("items() of something else than a dict")
        return found

    def expr(self, node: ast.expr, where: Bools) -> Value:
        """The value of ``node`` at each cell; ``where`` holds the cells where Python would
        evaluate it (only there may ``_the`` hand a row back)."""
        match node:
            case ast.Constant(value=value) if value is None or isinstance(value, bool | int | str):
                return value
            case ast.Name(id=name):
                found = self.env_const(name)
                if found is _SVCS:
                    raise Unsupported("the other services read")
                return found
            case ast.Attribute(value=inner, attr=attr) if attr in (*_FIELDS, "params"):
                rec = self.expr(inner, where)
                if not isinstance(rec, Rec):
                    raise Unsupported(f".{attr} of something else than a record")
                return Params(rec.code) if attr == "params" else self.book.field(attr, rec.code)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return ~self.boolean(self.expr(operand, where))
            case ast.BoolOp(op=op, values=values):
                return self.boolop(isinstance(op, ast.And), values, where)
            case ast.Compare(left=left, ops=[op], comparators=[right]):
                return self.compare(op, left, right, where)
            case ast.IfExp(test=test, body=body, orelse=orelse):
                holds = self.boolean(self.expr(test, where))
                return _choose(
                    holds, self.expr(body, where & holds), self.expr(orelse, where & ~holds)
                )
            case ast.BinOp(left=left, op=ast.Add() | ast.Sub() | ast.Mult() as op, right=right):
                a, b = self.number(self.expr(left, where)), self.number(self.expr(right, where))
                return (
                    a + b
                    if isinstance(op, ast.Add)
                    else a - b
                    if isinstance(op, ast.Sub)
                    else a * b
                )
            case ast.Subscript(value=inner, slice=key):
                found, at = self.expr(inner, where), self.expr(key, where)
                if not isinstance(found, Map) or not isinstance(at, Names):
                    raise Unsupported("a subscript of something else than a dict of records")
                return Rec(_at(found.codes, at.at))
            case ast.Call(func=ast.Attribute(value=inner, attr="get"), args=[key, fresh]):
                found, at, other = (
                    self.expr(inner, where),
                    self.expr(key, where),
                    self.expr(fresh, where),
                )
                if not (
                    isinstance(found, Map) and isinstance(at, Names) and isinstance(other, Rec)
                ):
                    raise Unsupported("get() of something else than a dict of records")
                held = _at(found.held, at.at)
                return Rec(np.where(held, _at(found.codes, at.at), other.code))
            case ast.Call(func=ast.Name(id=fn), args=args, keywords=[]):
                return self.call(fn, args, where)
        raise Unsupported(f"expression {ast.dump(node)[:60]}")

    def boolean(self, value: Value) -> Bools:
        if isinstance(value, bool):
            return np.full((1, 1), value)
        if isinstance(value, np.ndarray) and value.dtype == np.bool_:
            return value
        raise Unsupported("a bool expected")

    def number(self, value: Value) -> Ints:
        if isinstance(value, int) and not isinstance(value, bool):
            return np.full((1, 1), value, dtype=np.int64)
        if isinstance(value, np.ndarray) and value.dtype == np.int64:
            return value
        raise Unsupported("an int expected")

    def boolop(self, conj: bool, values: Sequence[ast.expr], where: Bools) -> Bools:
        """``and``/``or`` over bools: each operand is evaluated where the ones before did not
        decide."""
        out = self.boolean(self.expr(values[0], where))
        for value in values[1:]:
            undecided = where & (out if conj else ~out)
            this = self.boolean(self.expr(value, undecided))
            out = (out & this) if conj else (out | this)
        return out

    def compare(self, op: ast.cmpop, left: ast.expr, right: ast.expr, where: Bools) -> Bools:
        a, b = self.expr(left, where), self.expr(right, where)
        if isinstance(op, ast.In | ast.NotIn):
            if not (isinstance(a, Names) and isinstance(b, Map)):
                raise Unsupported("in of something else than a name in a dict")
            held: Bools = _at(b.held, a.at)
            return held if isinstance(op, ast.In) else ~held
        if isinstance(a, Names) or isinstance(b, Names):
            x, y = self.position(a), self.position(b)
            same: Bools = (x == y) & (x >= 0)
            if (isinstance(a, Ref) and b is None) or (isinstance(b, Ref) and a is None):
                same = (x if isinstance(a, Ref) else y) < 0
            if isinstance(op, ast.Eq):
                return same
            if isinstance(op, ast.NotEq):
                return ~same
            raise Unsupported("names compared by order")
        x, y = _plain(a), _plain(b)
        found = _COMPARE.get(type(op))
        if found is None:
            raise Unsupported(f"comparison {type(op).__name__}")
        return found(x, y)  # type: ignore[no-any-return]

    def position(self, value: Value) -> Ints:
        if isinstance(value, Names):
            return value.at
        if isinstance(value, str):
            at = self.names.index(value) if value in self.names else -2
            return np.full((1, 1), at, dtype=np.int64)
        if value is None:
            return np.full((1, 1), -3, dtype=np.int64)
        raise Unsupported("a name compared with something else")

    def call(self, fn: str, args: list[ast.expr], where: Bools) -> Value:
        match fn, args:
            case (("any" | "all" | "sum"), [ast.GeneratorExp(elt=elt, generators=[gen])]):
                values, present = self.comprehension(elt, gen, where)
                if fn == "any":
                    return (self.boolean(values) & present).any(axis=1, keepdims=True)
                if fn == "all":
                    return (self.boolean(values) | ~present).all(axis=1, keepdims=True)
                total = np.where(present, self.number(values), 0)
                return total.sum(axis=1, keepdims=True, dtype=np.int64)
            case "_the", [_, ast.ListComp(elt=ast.Tuple(elts=[s, n]), generators=[gen])]:
                return self.the(s, n, gen, where)
            case "_rec", [ref, ast.Name(id="S"), ast.Name(id="svcs"), records, fresh]:
                return self.rec(ref, records, fresh, where)
            case "_same", [before, after]:
                a, b = self.expr(before, where), self.expr(after, where)
                if not (isinstance(a, Rec) and isinstance(b, Rec)):
                    raise Unsupported("_same of something else than records")
                return a.code == b.code
            case "_Instance", [active, default, locked, params]:
                a, d, lk = (self.boolean(self.expr(x, where)) for x in (active, default, locked))
                p = self.expr(params, where)
                if isinstance(p, FrozenMap):  # a constant: the parameters of a record holding it
                    p = Params(np.full((1, 1), self.book.hold(p), dtype=np.int64))
                if not isinstance(p, Params):
                    raise Unsupported("parameters built anew")
                return Rec(self.book.build(a, d, lk, p.code))
        raise Unsupported(f"call of {fn}")

    def comprehension(
        self, elt: ast.expr, gen: ast.comprehension, where: Bools
    ) -> tuple[Value, Bools]:
        """``elt for n, r in d.items() if ...``: its value at each column and the columns it
        runs for (those holding a record)."""
        match gen:
            case ast.comprehension(
                target=ast.Tuple(elts=[ast.Name(id=n), ast.Name(id=r)]),
                iter=ast.Call(func=ast.Attribute(value=source, attr="items"), args=[]),
                ifs=ifs,
                is_async=0,
            ):
                pass
            case _:
                raise Unsupported("a comprehension of another form")
        if self.looping:
            raise Unsupported("a comprehension within a loop")
        found = self.mapping(source)
        outer = dict(self.env)
        self.env[n], self.env[r] = Names(self.column), Rec(found.codes)
        self.looping = True
        try:
            present = found.held & where
            for test in ifs:
                present = present & self.boolean(self.expr(test, present))
            return self.expr(elt, present), present
        finally:
            self.looping = False
            self.env = outer

    def the(self, s: ast.expr, n: ast.expr, gen: ast.comprehension, where: Bools) -> Ref:
        """``_the(k, [(S, n) for n, r in d.items() if ...])``: the one name, ``None`` for
        none; several hand the row back (the successor's ``except _Ambiguous``)."""
        if not (isinstance(s, ast.Name) and s.id == "S" and isinstance(n, ast.Name)):
            raise Unsupported("_the of something else than names of the service")
        if not isinstance(gen.target, ast.Tuple) or not isinstance(gen.target.elts[0], ast.Name):
            raise Unsupported("_the over another loop")
        if gen.target.elts[0].id != n.id:
            raise Unsupported("_the of another name")
        _, present = self.comprehension(ast.Constant(True), gen, where)
        count = present.sum(axis=1, keepdims=True)
        several = (count > 1) & where.any(axis=1, keepdims=True) & self.alive
        if several.any():
            if not self.guarded:
                raise Unsupported("_the with several candidates outside the fallback")
            self.ended[several.reshape(-1)] = HANDED_BACK
            self.alive = self.alive & ~several
        return Ref(np.where(count == 1, present.argmax(axis=1)[:, None], -1))

    def rec(self, ref: ast.expr, records: ast.expr, fresh: ast.expr, where: Bools) -> Rec:
        """``_rec(ref, S, svcs, d, fresh)`` for a reference into the request's service."""
        at, found, other = self.expr(ref, where), self.expr(records, where), self.expr(fresh, where)
        if not (isinstance(at, Ref) and isinstance(found, Map) and isinstance(other, Rec)):
            raise Unsupported("_rec of another form")
        code = np.where(_at(found.held, at.at), _at(found.codes, at.at), other.code)
        return Rec(np.where(at.at < 0, self.book.none, code))


_SVCS = object()
"""What ``svcs`` stands for: reading it (other services) is not supported."""
_BOUND = frozenset({"pre", "N", "S", "svcs"})


def _at(codes: npt.NDArray[Any], at: Ints) -> npt.NDArray[Any]:
    """The values at positions ``at`` (0 or False where ``at`` is none)."""
    rows = max(codes.shape[0], at.shape[0])
    index = np.broadcast_to(np.maximum(at, 0), (rows, at.shape[1]))
    taken = np.take_along_axis(np.broadcast_to(codes, (rows, codes.shape[1])), index, axis=1)
    return np.where(at >= 0, taken, np.zeros((), dtype=codes.dtype))


def _plain(value: Value) -> Any:
    if isinstance(value, np.ndarray | bool | int):
        return value
    raise Unsupported("a comparison of something else than bools and ints")


def _choose(holds: Bools, a: Value, b: Value) -> Value:
    for kind in (Rec, Params):
        if isinstance(a, kind) and isinstance(b, kind):
            return kind(np.where(holds, a.code, b.code))
    if isinstance(a, Ref) and isinstance(b, Ref):
        return Ref(np.where(holds, a.at, b.at))
    if isinstance(a, Names) and isinstance(b, Names):
        return Names(np.where(holds, a.at, b.at))
    return np.where(holds, _plain(a), _plain(b))


_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}


class Template:
    """One successor function on one service, and the requests (with their targets'
    positions, -1 for none) it answers."""

    def __init__(self, function: ast.FunctionDef, constants: Mapping[str, Any], service: str):
        self.function, self.constants, self.service = function, constants, service
        self.requests: list[tuple[int, int]] = []


Answers = tuple[list[int], list[tuple[int, int, tuple[Clause, ...]]]]
"""What :meth:`Vectors.fill` leaves to the engine (requests, ascending) and what the steps it
filled in break: (state, request, clauses)."""


class Vectors:
    """The requests of one search answered by running their successors' code over arrays.
    ``bulk[r]`` says request ``r`` is (until its code turns out :class:`Unsupported`);
    ``skip`` marks the requests answered otherwise (from :mod:`.tables`)."""

    def __init__(self, codec: Codec, routes: Sequence[Route], skip: Bools) -> None:
        self.codec = codec
        self.templates: list[Template] = []
        self.bulk = np.zeros(len(routes), dtype=np.bool_)
        found: dict[tuple[int, str], Template | None] = {}
        for r, (request, target, _, successor, service, _, _) in enumerate(routes):
            if successor is None or skip[r] or service not in codec.services:
                continue
            if request.instance is not None and target < 0:
                continue  # a name outside the scope: the engine answers
            key = (id(successor), service)
            if key not in found:
                function = _function(getattr(successor, "source", ""))
                constants = getattr(successor, "constants", {})
                found[key] = None if function is None else Template(function, constants, service)
                if found[key] is not None:
                    self.templates.append(found[key])  # type: ignore[arg-type]  # just set
            template = found[key]
            if template is not None:
                template.requests.append((r, target))
                self.bulk[r] = True

    def fill(
        self,
        rows: npt.NDArray[np.uint16],
        succ: npt.NDArray[np.uint16],
        kind: npt.NDArray[np.uint8],
    ) -> Answers:
        """Fill in ``succ`` and ``kind`` (see :func:`.frontier._steps`) for the requests in
        bulk from the states ``rows``; what is left to the engine, and what breaks."""
        handed: list[int] = []
        broken: list[tuple[int, int, tuple[Clause, ...]]] = []
        for template in list(self.templates):
            try:
                done = self._run(template, rows, succ, kind, broken)
            except Unsupported as err:
                log.info(
                    "%s on %s goes through the engine: %s",
                    template.function.name,
                    template.service,
                    err,
                )
                self.templates.remove(template)
                for r, _ in template.requests:
                    self.bulk[r] = False
                done = False
            if not done:
                handed += [r for r, _ in template.requests]
        return sorted(handed), broken

    def _run(
        self,
        template: Template,
        rows: npt.NDArray[np.uint16],
        succ: npt.NDArray[np.uint16],
        kind: npt.NDArray[np.uint8],
        broken: list[tuple[int, int, tuple[Clause, ...]]],
    ) -> bool:
        """Run one template over ``rows``; False if a row was handed back (the template's
        requests then go through the engine for these states)."""
        codec, width = self.codec, len(self.codec.names)
        s = codec.services.index(template.service)
        columns = slice(s * width, (s + 1) * width)
        positions = sorted({p for _, p in template.requests})
        count, many = len(rows), len(positions)
        codes = np.repeat(rows[:, columns].astype(np.int64), many, axis=0)
        target = np.tile(np.array(positions, dtype=np.int64), count)[:, None]
        book = Book(codec)
        run = Run(book, codes, target, codec.names, template.constants, template.service)
        run.block(template.function.body)
        if (run.ended == RUNNING).any():
            raise Unsupported("a row runs off the end")
        if (run.ended == HANDED_BACK).any():
            return False
        nexts = run.ended == NEXT
        run.out[nexts] = book.coded(run.out[nexts])
        clauses = _clauses(run)
        for r, p in template.requests:
            at = slice(positions.index(p), None, many)
            ended = run.ended[at]
            kind[:, r] = np.where(ended == BROKEN, BREAKS, EDGE)
            succ[:, r] = rows
            moved = np.flatnonzero(ended == NEXT)
            succ[moved, r, columns] = run.out[at][moved]
            for i in np.flatnonzero(ended == BROKEN).tolist():
                broken.append((i, r, clauses[i * many + positions.index(p)]))
        return True


def _clauses(run: Run) -> dict[int, tuple[Clause, ...]]:
    """What each row that ended broken says it breaks, in the order the code appended it."""
    out: dict[int, tuple[Clause, ...]] = {}
    for said, rows in run.returned:
        at = np.flatnonzero(rows & (run.ended == BROKEN))
        if not len(at):
            continue
        if not isinstance(said, Broken):
            out.update(dict.fromkeys(at.tolist(), said))
            continue
        names = [c for c, _ in said.appended]
        marks = np.stack([m[at] for _, m in said.appended], axis=1)
        patterns, which = np.unique(marks, axis=0, return_inverse=True)
        found = [
            tuple(dict.fromkeys(c for c, m in zip(names, p, strict=True) if m))
            for p in patterns.tolist()
        ]
        for row, w in zip(at.tolist(), which.reshape(-1).tolist(), strict=True):
            out[row] = found[w]
    return out


def _function(source: str) -> ast.FunctionDef | None:
    """The ``_step`` function of a successor's module (``None`` if it has none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "_step":
            names = [a.arg for a in node.args.args]
            return node if names == ["svcs", "S", "N", "pre"] else None
    return None
