"""Steps that depend on the target's record alone, as tables over the records' codes.

Most requests of a spec read nothing of the state but their target's record: deleting an
instance, setting one of its parameters, locking it. The generator says which
(:attr:`SuccessorStep.target_only <mostate.codegen.SuccessorStep.target_only>`, proved from
the code it wrote). Such a request's answer from any state is its answer from the target's
record alone, so it is computed once per record the scope meets, not once per state: a
*template* (one successor function on one service, the same for every name) has a row of
next codes and a row of kinds indexed by the target's code, and the bulk search
(:mod:`.frontier`) reads a whole level's steps of such requests from those rows in numpy.

A table entry is the successor's own answer, on a state holding the target's record alone:
no rule is written here. A template whose successor hands a record back to the engine
(:data:`~mostate.codegen.runtime.FALLBACK`) leaves the tables, and its requests go through
the search's ``expand`` from then on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..codegen.runtime import FALLBACK
from ..model import Clause
from .encoding import Codec
from .explorer import Route

EDGE, BREAKS = 1, 2
"""A step leads somewhere; it breaks something (the bits :mod:`.frontier` uses)."""


class Tables:
    """The tables of one search. ``local[r]`` says request ``r`` is read from them: its
    template ``template[r]`` at the code in slot ``slot[r]``."""

    def __init__(self, codec: Codec, routes: Sequence[Route]) -> None:
        self.codec = codec
        self.templates: list[Route] = []
        keys: dict[tuple[int, str], int] = {}
        self.template = np.zeros(len(routes), dtype=np.intp)
        self.slot = np.zeros(len(routes), dtype=np.intp)
        self.local = np.zeros(len(routes), dtype=np.bool_)
        for r, route in enumerate(routes):
            successor, service = route.successor, route.service
            if successor is None or route.target < 0 or not successor.target_only:
                continue
            try:
                slot = codec.position(service, str(route.request.instance))
            except KeyError:  # a request outside the scope's slots: the engine answers it
                continue
            key = (id(successor), service)
            if key not in keys:
                keys[key] = len(self.templates)
                self.templates.append(route)
            self.template[r] = keys[key]
            self.slot[r] = slot
            self.local[r] = True
        count = len(self.templates)
        self.next: npt.NDArray[np.uint16] = np.zeros((count, 0), dtype=np.uint16)
        self.kind: npt.NDArray[np.uint8] = np.zeros((count, 0), dtype=np.uint8)
        self.broken: list[dict[int, tuple[Clause, ...]]] = [{} for _ in range(count)]
        self._dropped: set[int] = set()

    def grow(self) -> None:
        """Fill the entries of the codes the codec gave since the last call (each template's
        successor run once per new code); a template that hands one back leaves the tables."""
        codec = self.codec
        have, size = self.next.shape[1], codec.size()
        if have >= size or not self.templates:
            return
        count = len(self.templates)
        nxt = np.zeros((count, size - have), dtype=np.uint16)
        kind = np.zeros((count, size - have), dtype=np.uint8)
        for t, route in enumerate(self.templates):
            if t in self._dropped:
                continue
            for code in range(have, size):
                entry = self._entry(t, route, code)
                if entry is None:
                    self._drop(t)
                    break
                nxt[t, code - have], kind[t, code - have] = entry
        self.next = np.concatenate([self.next, nxt], axis=1)
        self.kind = np.concatenate([self.kind, kind], axis=1)
        # A step may have met records the codec had not given yet: their entries come with
        # the next call, before any state holding them is expanded.

    def _entry(self, t: int, route: Route, code: int) -> tuple[int, int] | None:
        """The next code and kind of template ``t`` at ``code``, or ``None`` (handed back)."""
        request, successor, service = route.request, route.successor, route.service
        assert successor is not None and request.instance is not None
        record = self.codec.record(code)
        name = request.instance
        answer = successor({}, service, name, {} if record is None else {name: record})
        if answer is FALLBACK:
            return None
        records, broken = answer
        if broken:
            self.broken[t][code] = broken
            return code, BREAKS
        if records is None:
            return code, EDGE
        if not isinstance(records, tuple):  # a whole service: not a target-only answer
            return None
        return self.codec.record_code(records[1]), EDGE

    def _drop(self, t: int) -> None:
        self._dropped.add(t)
        self.local &= self.template != t

    @property
    def covers(self) -> npt.NDArray[np.bool_]:
        """The requests read from the tables."""
        return self.local

    def fill(
        self,
        rows: npt.NDArray[np.uint16],
        succ: npt.NDArray[np.uint16],
        kind: npt.NDArray[np.uint8],
    ) -> tuple[list[int], list[tuple[int, int, tuple[Clause, ...]]]]:
        """Fill in the steps of the requests read from the tables from the states ``rows``
        (see :func:`.frontier._steps`): each rewrites its target's slot alone. Nothing is
        handed back (a template that would hand a record back left the tables in
        :meth:`grow`); what the steps break, by (state, request)."""
        local = np.flatnonzero(self.local)
        if not len(local):
            return [], []
        slot, template = self.slot[local], self.template[local]
        codes = rows[:, slot]  # (states, local requests): each request's target's code
        succ[:, local, :] = rows[:, None, :]
        succ[:, local, slot] = self.next[template, codes]
        kind[:, local] = self.kind[template, codes]
        breaks = np.nonzero(kind[:, local] & BREAKS)
        return [], [
            (int(i), int(local[q]), self.clauses(int(local[q]), int(codes[i, q])))
            for i, q in zip(*breaks, strict=True)
        ]

    def clauses(self, r: int, code: int) -> tuple[Clause, ...]:
        """What request ``r`` breaks from a state whose target's code is ``code``."""
        return self.broken[int(self.template[r])].get(code, ())
