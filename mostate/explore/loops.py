"""Loops over arrays: each loop of a residual term adds an axis, and a reduction reduces it.

A loop walks the request's service's records (a column per name), the other services' slots,
or the services; its variables are bound on its axis, and the cells it runs for are those
that hold a record. ``all``, ``any`` and ``count`` reduce the axis; a ``the`` counts its
candidates over the axes of its lists, and where it finds several hands its row back (or, in a
check, fails the check) at the cells the interpreter reaches.
"""

from __future__ import annotations

from typing import assert_never

import numpy as np

from ..codegen.residual import (
    Candidates,
    Loop,
    One,
    OverOthers,
    OverOtherServices,
    OverRecords,
    Reduce,
    Reduction,
    Term,
    TheOf,
    terms,
)
from .arrays import NONE, Bools, Ints, Names, Rec, Ref, Svc, Unsupported, Value
from .cells import Cells


class Loops(Cells):
    """The loops, reductions and ``the`` of a run."""

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


def _risky(term: Term) -> bool:
    """Whether evaluating ``term`` may find a ``the`` ambiguous."""
    return any(isinstance(t, TheOf) for t in terms(term))
