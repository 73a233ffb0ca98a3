"""A successor's residual function evaluated over arrays, one row per (orbit, target).

Each node of :mod:`mostate.codegen.residual` has the meaning here that it has for each row,
in the order of :data:`~mostate.codegen.residual.TERM_NODES` and
:data:`~mostate.codegen.residual.STMT_NODES`: a reduction over a loop reduces the axis the loop
adds, a conditional is a ``where``, an exit ends the rows still running, a ``the`` with several
candidates hands its row back (the successor's :data:`~mostate.codegen.runtime.FALLBACK`) or,
inside a check, breaks it. Both sides of a test are computed for every row (nothing here can
fail on a row Python would not evaluate: look-ups at no name give no record), and only the rows
Python would evaluate count: a ``the`` counts where the interpreter reaches it, in name order
for a loop that stops at the first instance that decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

import numpy as np

from ..codegen.residual import (
    AddedTo,
    And,
    At,
    Candidates,
    Compare,
    Cond,
    Const,
    Copied,
    FieldOf,
    Has,
    Known,
    Lit,
    Local,
    Lookup,
    Loop,
    NoRecords,
    Not,
    One,
    Or,
    OverOthers,
    OverOtherServices,
    OverRecords,
    Rebuilt,
    Record,
    RecordOf,
    Reduce,
    Reduction,
    RefTo,
    Same,
    Sum,
    Term,
    TheOf,
    Well,
    WithoutParam,
    WithParam,
    term_children,
    terms,
)
from ..concrete import FRESH
from ..frozenmap import FrozenMap
from ..rules import Comparison
from .arrays import (
    COMPARE,
    NONE,
    Book,
    Bools,
    Ints,
    Map,
    Names,
    Params,
    Rec,
    Ref,
    Svc,
    Unsupported,
    Value,
    choose,
    plain,
    take,
)


class Terms:
    """The terms of one run: ``codes`` (rows, every slot of the scope: service by service, a
    name a column), the request's service at position ``service``, ``names`` the scope's
    names, and ``depth`` the deepest nesting of loops in the function."""

    def __init__(
        self, book: Book, codes: Ints, service: int, names: Sequence[str], depth: int
    ) -> None:
        self.book, self.names, self.service = book, names, service
        self.width = len(names)
        self.services = codes.shape[1] // self.width
        self.codes = codes
        self.ndim = 1 + max(1, depth)
        self.axis = 0
        """The axis of the innermost loop being run (0: none)."""
        self.env: dict[str, Value] = {}
        self.order = np.argsort(np.array(names, dtype=object), kind="stable").astype(np.int64)
        """The positions of the names in name order (a ``sorted`` walk of the records)."""
        self.dry = False
        """Whether ``the`` counts nowhere (a body run once to see where a loop stops)."""
        self.caught: list[Bools] = []
        """The rows of the checks being run where a ``the`` had several candidates."""
        self.handed: Bools = np.zeros((codes.shape[0],), dtype=np.bool_)

    def at_row(self, values: Any) -> Any:
        """Values of one cell a row (a name, a record) as a column of a row's records: the
        cell of the name ``values`` names, for a name."""
        flat = np.broadcast_to(values, (values.shape[0], *values.shape[1:])).reshape(-1, 1)
        if flat.shape[0] != values.shape[0]:
            raise Unsupported("a row's name or record that varies over a loop")
        return flat

    def column_of(self, at: Ints) -> Bools:
        """Each row's cells of the names ``at`` (one a row)."""
        column: Bools = np.arange(self.width)[None, :] == self.at_row(at)
        return column

    def scalar(self, value: Any, dtype: Any = None) -> Any:
        """``value`` as an array of the run's number of axes."""
        return np.full((1,) * self.ndim, value, dtype=dtype)

    def lift(self, values: Any, axis: int) -> Any:
        """Values with a row per row and a column per step of a loop, on the loop's axis."""
        shape = [values.shape[0]] + [1] * (self.ndim - 1)
        shape[axis] = values.shape[1]
        return values.reshape(shape)

    # -- terms ------------------------------------------------------------------------------

    def term(self, term: Term, where: Bools) -> Value:
        """The value of ``term`` at each cell; ``where`` holds the cells where the interpreter
        evaluates it (only there may a ``the`` count)."""
        match term:
            case Lit():
                return term.value
            case Const():
                return self._const(term.value)
            case Local():
                if term.name not in self.env:
                    raise Unsupported(f"{term.name} read before it is bound")
                return self.env[term.name]
            case Known():
                return self._known(term.which)
            case Not():
                return ~self.boolean(self.term(term.operand, where))
            case And():
                left = self.boolean(self.term(term.left, where))
                return left & self.boolean(self.term(term.right, where & left))
            case Or():
                left = self.boolean(self.term(term.left, where))
                return left | self.boolean(self.term(term.right, where & ~left))
            case Compare():
                return self._compare(term, where)
            case Cond():
                holds = self.boolean(self.term(term.test, where))
                then = self.term(term.then, where & holds)
                return choose(holds, then, self.term(term.orelse, where & ~holds))
            case FieldOf():
                return self.book.field(term.field, self.record(term.record, where))
            case Has():
                found, at = self.mapping(term.records, where), self.key(term.key, where)
                return take(found.held, at, False)
            case Lookup():
                return self._lookup(term, where)
            case At():
                found, at = self.mapping(term.records, where), self.key(term.key, where)
                return Rec(take(found.codes, at))
            case RecordOf():
                return self._record_of(term, where)
            case Same():
                before, after = self.record(term.before, where), self.record(term.after, where)
                return before == after
            case RefTo():
                return self._ref_to(term, where)
            case Record():
                values = [self.term(f, where) for f in term.fields]
                fields = [self.boolean(v) for v in values[:-1]]
                return Rec(self.book.build([*fields, self.params(values[-1]).code]))
            case Rebuilt():
                return self._rebuilt(term, where)
            case Copied():
                found = self.mapping(term.records, where)
                return Map(found.codes, found.held)
            case AddedTo():
                found, at = self.mapping(term.records, where), self.key(term.key, where)
                stored = self.record(term.record, where)
                return found.put(self.column_of(at), self.at_row(stored))
            case NoRecords():
                empty = np.zeros((self.codes.shape[0], self.width), dtype=np.int64)
                return Map(empty, empty != 0)
            case WithParam():
                key, value = self.text(term.key, where), self.text(term.value, where)
                params = self.params(self.term(term.params, where))
                return Params(self.book.edited(params.code, lambda m: m.set(key, value)))
            case WithoutParam():
                key = self.text(term.key, where)
                params = self.params(self.term(term.params, where))
                return Params(self.book.edited(params.code, lambda m: m.remove(key)))
            case Sum():
                return sum((self.number(self.term(t, where)) for t in term.terms), self.scalar(0))
            case Reduce():
                return self._reduce(term, where)
            case Candidates() | One():
                raise Unsupported("candidates outside a the()")
            case TheOf():
                return self._the(term, where)
            case _:
                assert_never(term)

    def _const(self, value: Any) -> Value:
        if isinstance(value, FrozenMap):
            return Params(self.scalar(self.book.map_code(value), np.int64))
        return value

    def _known(self, which: Well) -> Value:
        match which:
            case Well.ABSENT:
                return Rec(self.scalar(0, np.int64))
            case Well.NONE_RECORD:
                return Rec(self.scalar(self.book.none, np.int64))
            case Well.INF:
                return self.scalar(np.inf)
            case Well.EMPTY_PARAMS:
                return self._const(FrozenMap())
            case _:
                assert_never(which)

    def _compare(self, term: Compare, where: Bools) -> Bools:
        a, b = self.term(term.left, where), self.term(term.right, where)
        if term.op not in (Comparison.EQ, Comparison.NE):
            found: Bools = COMPARE[term.op](self.number(a), self.number(b))
            return found
        same = self.same(a, b)
        return same if term.op is Comparison.EQ else ~same

    def same(self, a: Value, b: Value) -> Bools:
        """``a == b`` as Python compares the values the arrays stand for."""
        if isinstance(a, str) and isinstance(b, Names):
            a, b = b, a
        if isinstance(b, str) and isinstance(a, Names):
            return a.at == self.position(b)  # type: ignore[no-any-return]
        if b is None and isinstance(a, Ref):
            a, b = b, a
        if a is None and isinstance(b, Ref):
            return b.at == NONE  # type: ignore[no-any-return]
        for kind in (Names, Svc):
            if isinstance(a, kind) and isinstance(b, kind):
                return a.at == b.at  # type: ignore[no-any-return]
        if isinstance(a, Ref) and isinstance(b, Ref):
            return (a.svc == b.svc) & (a.at == b.at)  # type: ignore[no-any-return]
        if isinstance(a, Params) and isinstance(b, Params):
            return a.code == b.code  # type: ignore[no-any-return]
        if isinstance(a, Rec | Map | Names | Svc | Ref | Params) or isinstance(
            b, Rec | Map | Names | Svc | Ref | Params
        ):
            raise Unsupported(f"{type(a).__name__} compared with {type(b).__name__}")
        equal: Bools = np.equal(plain(a), plain(b))
        return equal

    def _lookup(self, term: Lookup, where: Bools) -> Rec:
        if term.default is None:
            raise Unsupported("a look-up without a default (a query's result)")
        found, at = self.mapping(term.records, where), self.key(term.key, where)
        other = self.record(term.default, where)
        return Rec(np.where(take(found.held, at, False), take(found.codes, at), other))

    def _record_of(self, term: RecordOf, where: Bools) -> Rec:
        """The record of a reference: of the request's service in ``records`` (``fresh`` for
        a name they do not hold), of another service in the state, of none none's."""
        ref = self.term(term.ref, where)
        if not isinstance(ref, Ref):
            raise Unsupported("the record of something else than a reference")
        found, fresh = self.mapping(term.records, where), self.record(term.fresh, where)
        here = np.where(take(found.held, ref.at, False), take(found.codes, ref.at), fresh)
        slot = np.where(ref.at < self.width, ref.svc * self.width + ref.at, -1)
        elsewhere = take(self.codes, np.where(ref.svc >= 0, slot, -1))
        code = np.where(ref.svc == self.service, here, elsewhere)
        return Rec(np.where(ref.at == NONE, self.book.none, code))

    def _ref_to(self, term: RefTo, where: Bools) -> Ref:
        service, name = self.term(term.service, where), self.term(term.name, where)
        if name == FRESH:
            at = self.scalar(self.width, np.int64)
        elif isinstance(name, Names):
            at = name.at
        else:
            raise Unsupported("a reference to something else than a name")
        if service == FRESH:
            return Ref(self.scalar(self.services, np.int64), at)
        if not isinstance(service, Svc):
            raise Unsupported("a reference into something else than a service")
        return Ref(service.at, at)

    def _rebuilt(self, term: Rebuilt, where: Bools) -> Rec:
        """The record, where one of its fields differs from the old record's; the old one
        itself where none does."""
        differs = self.scalar(False)
        for a, b in term.differs:
            differs = differs | ~self.same(self.term(a, where), self.term(b, where))
        old = self.record(term.old, where & ~differs)
        return Rec(np.where(differs, self.record(term.record, where & differs), old))

    # -- loops and reductions ---------------------------------------------------------------

    def enter(self, loop: Loop, where: Bools) -> Bools:
        """Bind the loop's variables on a new axis; the cells it runs for."""
        self.axis += 1
        if self.axis >= self.ndim:
            raise Unsupported("loops nested deeper than the function says")
        axis, width = self.axis, self.width
        match loop:
            case OverRecords():
                found = self.mapping(loop.records, where)
                self.env[loop.name.name] = Names(self.lift(np.arange(width)[None, :], axis))
                self.env[loop.rec.name] = Rec(self.lift(found.codes, axis))
                present = self.lift(found.held, axis) & where
                if loop.unless is not None:
                    unless = self.term(loop.unless, where)
                    present = present & ~self.same(self.env[loop.name.name], unless)
                runs: Bools = present
                return runs
            case OverOthers():
                slots = np.arange(self.codes.shape[1])[None, :]
                service = Svc(self.lift(slots // width, axis))
                self.env[loop.service.name] = service
                self.env[loop.name.name] = Names(self.lift(slots % width, axis))
                self.env[loop.rec.name] = Rec(self.lift(self.codes, axis))
                held = self.lift(self.codes != 0, axis)
                others: Bools = held & (service.at != self.service) & where
                return others
            case OverOtherServices():
                positions = np.arange(self.services)
                held = self.codes.reshape(len(self.codes), self.services, width).any(axis=2)
                service = Svc(self.lift(positions[None, :], axis))
                self.env[loop.service.name] = service
                holding: Bools = self.lift(held, axis) & (service.at != self.service) & where
                return holding
            case _:
                assert_never(loop)

    def leave(self, outer: dict[str, Value]) -> None:
        self.axis -= 1
        self.env = outer

    def _reduce(self, term: Reduce, where: Bools) -> Value:
        outer, axis = dict(self.env), self.axis + 1
        present = self.enter(term.loop, where)
        try:
            reached = present
            if term.kind is not Reduction.COUNT and _risky(term.body):
                reached = self._reached(term, present)
            body = self.boolean(self.term(term.body, reached))
        finally:
            self.leave(outer)
        match term.kind:
            case Reduction.ALL:
                return (body | ~present).all(axis=axis, keepdims=True)
            case Reduction.ANY:
                return (body & present).any(axis=axis, keepdims=True)
            case Reduction.COUNT:
                return (body & present).sum(axis=axis, keepdims=True, dtype=np.int64)
            case _:
                assert_never(term.kind)

    def _reached(self, term: Reduce, present: Bools) -> Bools:
        """The cells an ``all`` or ``any`` whose body may raise evaluates its body at: in name
        order, up to the first that decides it."""
        if not isinstance(term.loop, OverRecords) or not term.loop.ordered:
            raise Unsupported("a body that may raise over a walk in no fixed order")
        self.dry, was = True, self.dry
        try:
            body = self.boolean(self.term(term.body, present))
        finally:
            self.dry = was
        decides = present & (~body if term.kind is Reduction.ALL else body)
        decides = np.broadcast_to(decides, np.broadcast_shapes(decides.shape, present.shape))
        ordered = np.take(decides, self.order, axis=self.axis)
        before = (np.cumsum(ordered, axis=self.axis) - ordered) > 0
        earlier = np.take(before, np.argsort(self.order), axis=self.axis)
        reached: Bools = present & ~earlier
        return reached

    def _the(self, term: TheOf, where: Bools) -> Ref:
        """The one candidate of the lists, none for none; several: the row is handed back
        (or, in a check, the check fails) where the interpreter evaluates the ``the``."""
        count = self.scalar(0, np.int64)
        svc, at = self.scalar(NONE, np.int64), self.scalar(NONE, np.int64)
        for part in term.lists:
            found, ref = self._candidates(part, where)
            one = found == 1
            svc, at = np.where(one, ref.svc, svc), np.where(one, ref.at, at)
            count = count + found
        several = (count > 1) & where
        if several.any() and not self.dry:
            rows = several.reshape(len(several), -1).any(axis=1)
            if self.caught:
                self.caught[-1] = self.caught[-1] | rows
            else:
                self.handed = self.handed | rows
        single = count == 1
        return Ref(np.where(single, svc, NONE), np.where(single, at, NONE))

    def _candidates(self, part: Candidates | One, where: Bools) -> tuple[Ints, Ref]:
        """How many candidates a list holds at each cell, and the first of them."""
        if isinstance(part, One):
            holds = self.scalar(True) if part.when is None else self.term(part.when, where)
            item = self.term(part.item, where)
            if not isinstance(item, Ref):
                raise Unsupported("a candidate that is not a reference")
            return self.boolean(holds).astype(np.int64), item
        outer, axis = dict(self.env), self.axis + 1
        present = self.enter(part.loop, where)
        try:
            if part.where is not None:
                present = present & self.boolean(self.term(part.where, present))
            item = self.term(part.item, present)
        finally:
            self.leave(outer)
        if not isinstance(item, Ref):
            raise Unsupported("a candidate that is not a reference")
        shape = np.broadcast_shapes(present.shape, item.at.shape, item.svc.shape)
        present = np.broadcast_to(present, shape)
        first = np.expand_dims(present.argmax(axis=axis), axis)
        pick_svc = np.take_along_axis(np.broadcast_to(item.svc, shape), first, axis)
        pick_at = np.take_along_axis(np.broadcast_to(item.at, shape), first, axis)
        return present.sum(axis=axis, keepdims=True, dtype=np.int64), Ref(pick_svc, pick_at)

    # -- values of a kind -------------------------------------------------------------------

    def boolean(self, value: Value) -> Bools:
        if isinstance(value, bool):
            return self.scalar(value)  # type: ignore[no-any-return]
        if isinstance(value, np.ndarray) and value.dtype == np.bool_:
            return value
        raise Unsupported(f"a bool expected, not {type(value).__name__}")

    def number(self, value: Value) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.scalar(value)
        if isinstance(value, np.ndarray) and value.dtype.kind in "if":
            return value
        raise Unsupported(f"a number expected, not {type(value).__name__}")

    def record(self, term: Term, where: Bools) -> Ints:
        found = self.term(term, where)
        if not isinstance(found, Rec):
            raise Unsupported(f"a record expected, not {type(found).__name__}")
        return found.code

    def params(self, value: Value) -> Params:
        if isinstance(value, FrozenMap):
            return self._const(value)  # type: ignore[no-any-return]
        if not isinstance(value, Params):
            raise Unsupported(f"parameters expected, not {type(value).__name__}")
        return value

    def text(self, term: Term, where: Bools) -> str:
        found = self.term(term, where)
        if not isinstance(found, str):
            raise Unsupported("a parameter's key or value that is not known")
        return found

    def mapping(self, term: Term, where: Bools) -> Map:
        found = self.term(term, where)
        if not isinstance(found, Map):
            raise Unsupported(f"records expected, not {type(found).__name__}")
        return found

    def key(self, term: Term, where: Bools) -> Ints:
        """A name's position (a string naming one: its position, or none for a name outside
        the scope)."""
        found = self.term(term, where)
        if isinstance(found, str):
            return self.scalar(self.position(found), np.int64)  # type: ignore[no-any-return]
        if not isinstance(found, Names):
            raise Unsupported(f"a name expected, not {type(found).__name__}")
        return found.at

    def position(self, name: str) -> int:
        """A name's position among the scope's (-2 for one outside it, which no records
        hold and no name equals)."""
        return self.names.index(name) if name in self.names else -2


def _risky(term: Term) -> bool:
    """Whether evaluating ``term`` may find a ``the`` ambiguous."""
    return any(isinstance(t, TheOf) for t in terms(term))


def depth(term: Term) -> int:
    """How deeply loops nest in ``term``."""
    inner = max((depth(child) for child in term_children(term)), default=0)
    return inner + 1 if isinstance(term, Reduce | Candidates) else inner
