"""A successor's residual statements run over arrays: where each row (orbit, target) ends.

Each statement of :data:`~mostate.codegen.residual.STMT_NODES` has the meaning here that it has
for one row: a ``let`` binds on the rows still running (the others keep what the name held, as
after an ``if`` that assigns in one branch), an ``if`` runs each branch on its rows, an exit ends
the rows still running with the service's records after the step and the clauses its checks
found broken, a fallback (or a ``the`` that finds several candidates) hands its rows back. The
terms are :mod:`.evaluator`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

import numpy as np

from ..codegen.residual import (
    PRE,
    SERVICE,
    SERVICES,
    TARGET,
    At,
    Check,
    Exit,
    Fallback,
    ForEach,
    Function,
    Guard,
    If,
    Let,
    Local,
    Prologue,
    Stmt,
    Store,
    ValidSplit,
    stmt_bodies,
    stmt_terms,
)
from ..model import Clause
from ..rules import Field
from .arrays import Book, Bools, Ints, Map, Names, Rec, Svc, Unsupported, choose
from .evaluator import Terms, depth

RUNNING, KEEP, NEXT, BROKEN, HANDED_BACK = 0, 1, 2, 3, 4
"""What a row's run ended with: still running, the state kept, a next state, something
broken, the request handed back."""


class Run:
    """One run of a successor's function over ``codes`` (rows, every slot of the scope),
    for the request's service at position ``service`` and each row's target at ``target``
    (rows, 1).

    After :meth:`block`, ``ended`` says how each row ended, ``out`` holds the service's codes
    after the step of the rows that ended ``NEXT``, and ``said`` the clauses each row that
    ended ``BROKEN`` broke, in the order its checks found them."""

    def __init__(
        self,
        book: Book,
        codes: Ints,
        service: int,
        target: Ints,
        names: Sequence[str],
        function: Function,
    ) -> None:
        self.terms = terms = Terms(book, codes, service, names, _depth(function.body))
        rows, width = len(codes), len(names)
        pre = codes[:, service * width : (service + 1) * width]
        self.alive: Bools = np.ones((rows,) + (1,) * (terms.ndim - 1), dtype=np.bool_)
        self.ended = np.zeros(rows, dtype=np.int8)
        self.out = pre.copy()
        self.said: dict[int, tuple[Clause, ...]] = {}
        self._marks: list[tuple[Clause, Bools]] = []
        terms.env.update(
            {
                PRE.name: Map(pre, pre != 0),
                TARGET.name: Names(target.reshape(self.alive.shape)),
                SERVICE.name: Svc(terms.scalar(service, np.int64)),
                SERVICES.name: _SERVICES,
            }
        )

    def rows(self) -> Bools:
        """The rows still running."""
        return self.alive.reshape(-1)

    def block(self, body: Sequence[Stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, stmt: Stmt) -> None:
        terms = self.terms
        match stmt:
            case Let():
                self.bind(stmt.name, terms.term(stmt.value, self.alive))
            case Store():
                self._store(stmt)
            case If():
                holds = terms.boolean(terms.term(stmt.test, self.alive)) & self.alive
                self._settle()
                holds = holds & self.alive
                rest = self.alive & ~holds
                self.alive = holds
                self.block(stmt.body)
                after, self.alive = self.alive, rest
                if stmt.orelse is not None:
                    self.block(stmt.orelse)
                self.alive = self.alive | after
            case ForEach():
                self._for_each(stmt)
            case Guard():
                self.block(stmt.body)
            case Check():
                self._check(stmt)
            case ValidSplit():
                raise Unsupported("a statement of the operation form")
            case Exit():
                self._exit(stmt)
            case Fallback():
                self._end(self.rows(), HANDED_BACK)
            case Prologue():
                raise Unsupported("a statement of the operation form")
            case _:
                assert_never(stmt)
        self._settle()

    def bind(self, name: Local, value: Any) -> None:
        """``name = value`` on the rows still running; the other rows keep what ``name``
        held."""
        env = self.terms.env
        old = env.get(name.name, _UNBOUND)
        if old is _UNBOUND or self.alive.all():
            env[name.name] = value
        elif isinstance(value, Map):
            env[name.name] = choose(self.alive.reshape(-1, 1), value, old)
        else:
            env[name.name] = choose(self.alive, value, old)

    def _store(self, stmt: Store) -> None:
        """``c[k] = record`` for one name a row (the target): on the rows still running."""
        terms = self.terms
        target = terms.env.get(stmt.records.name)
        if not isinstance(target, Map):
            raise Unsupported("a store into something else than records")
        at, stored = terms.key(stmt.key, self.alive), terms.record(stmt.value, self.alive)
        cells = terms.column_of(at) & self.alive.reshape(-1, 1)
        terms.env[stmt.records.name] = target.put(cells, terms.at_row(stored))

    def _settle(self) -> None:
        """Hand back the rows where a ``the`` found several candidates."""
        handed = self.terms.handed & self.rows()
        if handed.any():
            self._end(handed, HANDED_BACK)
        self.terms.handed[:] = False

    def _end(self, rows: Bools, how: int) -> None:
        self.ended[rows] = how
        self.alive = self.alive & ~rows.reshape(self.alive.shape)

    def _for_each(self, stmt: ForEach) -> None:
        """``for n, r in records:`` whose body binds names and stores ``c[n] = ...``."""
        terms = self.terms
        outer = dict(terms.env)
        present = terms.enter(stmt.loop, self.alive)
        try:
            for inner in stmt.body:
                match inner:
                    case Let():
                        terms.env[inner.name.name] = terms.term(inner.value, present)
                    case Store(records=records, key=key) if key == stmt.loop.name:
                        target = outer.get(records.name)
                        stored = terms.term(inner.value, present)
                        if not isinstance(target, Map) or not isinstance(stored, Rec):
                            raise Unsupported("a store into something else than records")
                        cells = np.broadcast_to(present, (len(present), *present.shape[1:]))
                        codes = np.broadcast_to(stored.code, cells.shape)
                        width = target.codes.shape[1]
                        outer[records.name] = target.put(
                            cells.reshape(-1, width), codes.reshape(-1, width)
                        )
                    case _:
                        raise Unsupported(f"{type(inner).__name__} in a loop over records")
        finally:
            terms.leave(outer)

    def _check(self, stmt: Check) -> None:
        terms, rows = self.terms, self.rows()
        if stmt.holds is None:
            self._marks.append((stmt.clause.value, rows.copy()))
            return
        if stmt.guarded:
            terms.caught.append(np.zeros_like(rows))
        try:
            holds = terms.boolean(terms.term(stmt.holds, self.alive))
        finally:
            caught = terms.caught.pop() if stmt.guarded else np.zeros_like(rows)
        holds = np.broadcast_to(holds, self.alive.shape).reshape(-1)
        self._marks.append((stmt.clause.value, rows & (~holds | caught)))

    def _exit(self, stmt: Exit) -> None:
        """The rows still running end here: handed back where the step made the names the
        records do not hold exist, broken where a check fails, else kept or moved."""
        terms = self.terms
        if stmt.fresh is not None:
            exists = terms.book.field(Field.EXISTS, terms.record(stmt.fresh, self.alive))
            made = np.broadcast_to(exists & self.alive, self.alive.shape).reshape(-1)
            self._end(made, HANDED_BACK)
        self._marks = []
        self.block(stmt.checks)
        rows = self.rows()
        broke = np.zeros_like(rows)
        for _, marked in self._marks:
            broke |= marked & rows
        self._said(broke)
        self._end(broke, BROKEN)
        fine = self.rows()
        if stmt.records is None:
            self._end(fine, KEEP)
            return
        answer = self._answer(stmt)
        self.out[fine] = np.broadcast_to(answer, self.out.shape)[fine]
        self._end(fine, NEXT)

    def _answer(self, stmt: Exit) -> Ints:
        """The service's codes an exit hands back, at each row."""
        terms = self.terms
        assert stmt.records is not None
        if not stmt.point:
            return terms.mapping(stmt.records, self.alive).codes
        held = At(stmt.records, TARGET) if stmt.held is None else stmt.held
        code = terms.at_row(terms.record(held, self.alive))
        at = terms.env[TARGET.name]
        found: Ints = np.where(terms.column_of(at.at), code, self.out)
        return found

    def _said(self, broke: Bools) -> None:
        """Keep, for each row in ``broke``, the clauses its checks found broken, in order."""
        at = np.flatnonzero(broke)
        if not len(at):
            return
        names = [clause for clause, _ in self._marks]
        marks = np.stack([marked[at] for _, marked in self._marks], axis=1)
        patterns, which = np.unique(marks, axis=0, return_inverse=True)
        found = [
            tuple(dict.fromkeys(c for c, m in zip(names, p, strict=True) if m))
            for p in patterns.tolist()
        ]
        for row, w in zip(at.tolist(), which.reshape(-1).tolist(), strict=True):
            self.said[row] = found[w]


def _depth(body: Sequence[Stmt]) -> int:
    """How deeply loops nest in ``body``: a loop statement's own, and its terms' within."""
    out = 0
    for stmt in body:
        here = max((depth(term) for term in stmt_terms(stmt, True)), default=0)
        inner = max((_depth(block) for block in stmt_bodies(stmt)), default=0)
        out = max(out, here, inner + isinstance(stmt, ForEach))
    return out


_UNBOUND = object()
_SERVICES = object()
"""What ``svcs`` stands for: read only through the loops over the other services."""
