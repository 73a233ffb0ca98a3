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

from typing import assert_never

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
    NoRecords,
    Not,
    One,
    Or,
    Rebuilt,
    Record,
    RecordOf,
    Reduce,
    RefTo,
    Same,
    Sum,
    Term,
    TheOf,
    Well,
    WithoutParam,
    WithParam,
    term_children,
)
from ..frozenmap import FrozenMap
from ..rules import Comparison
from .arrays import (
    COMPARE,
    Bools,
    Map,
    Rec,
    Unsupported,
    Value,
    choose,
    take,
)
from .records import Records


class Terms(Records):
    """The terms of one run (see :class:`~.cells.Cells` for what it holds). :meth:`term` is
    the value of a term at each cell; ``where`` holds the cells where the interpreter
    evaluates it (only there may a ``the`` count)."""

    def term(self, term: Term, where: Bools) -> Value:
        match term:
            case Lit():
                return term.value
            case Const():
                return self._const(term.value)
            case Local():
                return self._local(term)
            case Known():
                return self._known(term.which)
            case Not():
                return ~self.boolean(self.term(term.operand, where))
            case And():
                return self._and(term, where)
            case Or():
                return self._or(term, where)
            case Compare():
                return self._compare(term, where)
            case Cond():
                return self._cond(term, where)
            case FieldOf():
                return self.book.field(term.field, self.record(term.record, where))
            case Has():
                return take(
                    self.mapping(term.records, where).held, self.key(term.key, where), False
                )
            case Lookup():
                return self._lookup(term, where)
            case At():
                return Rec(take(self.mapping(term.records, where).codes, self.key(term.key, where)))
            case RecordOf():
                return self._record_of(term, where)
            case Same():
                return self.record(term.before, where) == self.record(term.after, where)
            case RefTo():
                return self._ref_to(term, where)
            case Record():
                return self._record(term, where)
            case Rebuilt():
                return self._rebuilt(term, where)
            case Copied():
                return self._copied(term, where)
            case AddedTo():
                return self._added(term, where)
            case NoRecords():
                return self._no_records(term)
            case WithParam():
                return self._with_param(term, where)
            case WithoutParam():
                return self._without_param(term, where)
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

    def _local(self, term: Local) -> Value:
        if term.name not in self.env:
            raise Unsupported(f"{term.name} read before it is bound")
        return self.env[term.name]

    def _and(self, term: And, where: Bools) -> Bools:
        left = self.boolean(self.term(term.left, where))
        both: Bools = left & self.boolean(self.term(term.right, where & left))
        return both

    def _or(self, term: Or, where: Bools) -> Bools:
        left = self.boolean(self.term(term.left, where))
        either: Bools = left | self.boolean(self.term(term.right, where & ~left))
        return either

    def _cond(self, term: Cond, where: Bools) -> Value:
        holds = self.boolean(self.term(term.test, where))
        then = self.term(term.then, where & holds)
        return choose(holds, then, self.term(term.orelse, where & ~holds))

    def _has(self, term: Has, where: Bools) -> Bools:
        held: Bools = take(self.mapping(term.records, where).held, self.key(term.key, where), False)
        return held

    def _copied(self, term: Copied, where: Bools) -> Map:
        found = self.mapping(term.records, where)
        return Map(found.codes, found.held)

    def _compare(self, term: Compare, where: Bools) -> Bools:
        a, b = self.term(term.left, where), self.term(term.right, where)
        if term.op not in (Comparison.EQ, Comparison.NE):
            found: Bools = COMPARE[term.op](self.number(a), self.number(b))
            return found
        same = self.same(a, b)
        return same if term.op is Comparison.EQ else ~same


def depth(term: Term) -> int:
    """How deeply loops nest in ``term``."""
    inner = max((depth(child) for child in term_children(term)), default=0)
    return inner + 1 if isinstance(term, Reduce | Candidates) else inner
