"""Records, references and parameter maps over arrays: the record-reading terms of a run.

A record is its code in the run's :class:`~.arrays.Book`; the records of the request's service
a code and a flag per name; a reference a service's position and a name's. Look-ups at no name
give no record, so nothing here can fail on a row the interpreter would not evaluate.
"""

from __future__ import annotations

import numpy as np

from ..codegen.residual import (
    AddedTo,
    Lookup,
    NoRecords,
    Rebuilt,
    Record,
    RecordOf,
    RefTo,
    WithoutParam,
    WithParam,
)
from ..concrete import FRESH
from .arrays import NONE, Bools, Map, Names, Params, Rec, Ref, Svc, Unsupported, take
from .loops import Loops


class Records(Loops):
    """The record, reference and parameter terms of a run."""

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

    def _record(self, term: Record, where: Bools) -> Rec:
        values = [self.term(f, where) for f in term.fields]
        fields = [self.boolean(v) for v in values[:-1]]
        return Rec(self.book.build([*fields, self.params(values[-1]).code]))

    def _added(self, term: AddedTo, where: Bools) -> Map:
        found, at = self.mapping(term.records, where), self.key(term.key, where)
        stored = self.record(term.record, where)
        return found.put(self.column_of(at), self.at_row(stored))

    def _no_records(self, term: NoRecords) -> Map:
        empty = np.zeros((self.codes.shape[0], self.width), dtype=np.int64)
        return Map(empty, empty != 0)

    def _with_param(self, term: WithParam, where: Bools) -> Params:
        key, value = self.text(term.key, where), self.text(term.value, where)
        params = self.params(self.term(term.params, where))
        return Params(self.book.edited(params.code, lambda m: m.set(key, value)))

    def _without_param(self, term: WithoutParam, where: Bools) -> Params:
        key = self.text(term.key, where)
        params = self.params(self.term(term.params, where))
        return Params(self.book.edited(params.code, lambda m: m.remove(key)))
