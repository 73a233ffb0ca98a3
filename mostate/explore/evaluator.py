"""A generated successor's code evaluated over arrays, one row per (orbit, target).

Each construct :mod:`mostate.codegen` writes in a successor has the meaning here that it has
for each row: ``any(... for n, r in pre.items())`` reduces over the columns the dict holds,
``x if c else y`` is a ``where``, ``return`` ends the rows still running where its test holds,
``_the`` over several candidates hands the row back (the successor's ``except _Ambiguous``).
Both sides of a test are computed for every row (nothing here can fail on a row Python would
not evaluate: look-ups at no name give no record), and only the rows Python would evaluate
count. A construct not listed raises :class:`~.arrays.Unsupported`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..frozenmap import FrozenMap
from ..model import Clause
from .arrays import (
    COMPARE,
    FIELDS,
    Book,
    Bools,
    Broken,
    Ints,
    Map,
    Names,
    Params,
    Rec,
    Ref,
    Unsupported,
    Value,
    choose,
    plain,
    take,
)

RUNNING, KEEP, NEXT, BROKEN, HANDED_BACK = 0, 1, 2, 3, 4
"""What a row's run ended with: still running, the state kept, a next state, something
broken, the request handed back."""


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
        self.book, self.names, self.constants = book, names, constants
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
                    self.key(key, self.alive),
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
        old = self.env.get(name, _UNBOUND)
        if old is _UNBOUND or self.alive.all():
            self.env[name] = value
            return
        if isinstance(value, Map) and isinstance(old, Map):
            self.env[name] = Map(
                np.where(self.alive, value.codes, old.codes),
                np.where(self.alive, value.held, old.held),
            )
            return
        self.env[name] = choose(self.alive, value, old)

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
                    self.key(key, self.alive),
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
        """The test of an ``if`` at each row: a bool, or the broken list being non-empty."""
        if isinstance(value, Broken):
            out = np.zeros_like(self.alive)
            for _, rows in value.appended:
                out = out | rows[:, None]
            return out
        return self.boolean(value)

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
            case ast.Attribute(value=inner, attr=attr) if attr in (*FIELDS, "params"):
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
                return choose(
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
                found, at = self.expr(inner, where), self.key(key, where)
                if not isinstance(found, Map) or not isinstance(at, Names):
                    raise Unsupported("a subscript of something else than a dict of records")
                return Rec(take(found.codes, at.at))
            case ast.Call(func=ast.Attribute(value=inner, attr="get"), args=[key, fresh]):
                found, at, other = (
                    self.expr(inner, where),
                    self.key(key, where),
                    self.expr(fresh, where),
                )
                if not (
                    isinstance(found, Map) and isinstance(at, Names) and isinstance(other, Rec)
                ):
                    raise Unsupported("get() of something else than a dict of records")
                held = take(found.held, at.at)
                return Rec(np.where(held, take(found.codes, at.at), other.code))
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
        if isinstance(op, ast.In | ast.NotIn):
            a, b = self.key(left, where), self.expr(right, where)
            if not (isinstance(a, Names) and isinstance(b, Map)):
                raise Unsupported("in of something else than a name in a dict")
            held: Bools = take(b.held, a.at)
            return held if isinstance(op, ast.In) else ~held
        a, b = self.expr(left, where), self.expr(right, where)
        if isinstance(a, Names) or isinstance(b, Names):
            same = self.same_name(a, b)
            if isinstance(op, ast.Eq):
                return same
            if isinstance(op, ast.NotEq):
                return ~same
            raise Unsupported("names compared by order")
        x, y = plain(a), plain(b)
        found = COMPARE.get(type(op))
        if found is None:
            raise Unsupported(f"comparison {type(op).__name__}")
        return found(x, y)  # type: ignore[no-any-return]

    def key(self, node: ast.expr, where: Bools) -> Value:
        """A dict's key: a name, or a string naming one (a name outside the scope is at
        position -2, which no dict holds)."""
        found = self.expr(node, where)
        if isinstance(found, str):
            at = self.names.index(found) if found in self.names else -2
            return Names(np.full((1, 1), at, dtype=np.int64))
        return found

    def same_name(self, a: Value, b: Value) -> Bools:
        """``a == b`` where one side is a name (or a reference ``(S, name)``): equal
        positions, ``None`` being position -1; a name outside the scope equals none of the
        service's."""
        if isinstance(b, Names) and not isinstance(a, Names):
            a, b = b, a
        if b is None:
            none: Bools = a.at < 0
            return none
        if isinstance(a, Ref) != isinstance(b, Ref):
            raise Unsupported("a reference compared with a name")
        if isinstance(b, Names):
            return a.at == b.at  # type: ignore[no-any-return]
        if isinstance(b, str) and not isinstance(a, Ref):
            at = self.names.index(b) if b in self.names else -2
            return a.at == at  # type: ignore[no-any-return]
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
        code = np.where(take(found.held, at.at), take(found.codes, at.at), other.code)
        return Rec(np.where(at.at < 0, self.book.none, code))


_UNBOUND = object()
_SVCS = object()
"""What ``svcs`` stands for: reading it (other services) is not supported."""
_BOUND = frozenset({"pre", "N", "S", "svcs"})
