"""Steps over a whole block of orbits at once: a successor's residual function run over arrays.

A request that reads more of the state than its target's record (a switch that clears the
other instances' Active flag, a query over the service) cannot be read from :mod:`.tables`;
the search state by state runs its successor once per orbit. Here the successor's residual
function (what :mod:`mostate.codegen` specialised from the spec's AST, the very value its
Python source is printed from) is run over numpy arrays instead (:mod:`.run`,
:mod:`.evaluator`): a row per (orbit, target name), each record as its code
(:mod:`.encoding`) and each field as a look-up in an array over the codes. A row whose ``the``
has several candidates, or whose step makes the service's unnamed instances exist, is handed
back (the successor's :data:`~mostate.codegen.runtime.FALLBACK`), and its requests go through
the engine for those states.

No rule is written here: the arrays follow the residual function node by node, and
``tests/explore/test_vectors.py`` holds every answer to the successor's own, on every state of
the shipped spec, the mutants and the soundness cases.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..codegen.residual import Function
from ..model import Clause
from .arrays import Book, Bools, Unsupported
from .encoding import Codec
from .explorer import Route
from .run import BROKEN, HANDED_BACK, NEXT, RUNNING, Run
from .tables import BREAKS, EDGE

log = logging.getLogger(__name__)


class Template:
    """One successor function on one service, and the requests (with their targets'
    positions, -1 for none) it answers."""

    def __init__(self, function: Function, service: str) -> None:
        self.function, self.service = function, service
        self.requests: list[tuple[int, int]] = []


Answers = tuple[list[int], list[tuple[int, int, tuple[Clause, ...]]]]
"""What :meth:`Vectors.fill` leaves to the engine (requests, ascending) and what the steps it
filled in break: (state, request, clauses)."""


class Vectors:
    """The requests of one search answered by running their successors over arrays.
    ``bulk[r]`` says request ``r`` is (until its function turns out :class:`Unsupported`);
    ``skip`` marks the requests answered otherwise (from :mod:`.tables`)."""

    def __init__(self, codec: Codec, routes: Sequence[Route], skip: Bools) -> None:
        self.codec = codec
        self.templates: list[Template] = []
        self.bulk = np.zeros(len(routes), dtype=np.bool_)
        found: dict[tuple[int, str], Template] = {}
        for r, route in enumerate(routes):
            successor, service = route.successor, route.service
            if successor is None or skip[r] or service not in codec.services:
                continue
            if route.request.instance is not None and route.target < 0:
                continue  # a name outside the scope: the engine answers
            key = (id(successor), service)
            if key not in found:
                found[key] = Template(successor.residual, service)
                self.templates.append(found[key])
            found[key].requests.append((r, route.target))
            self.bulk[r] = True

    @property
    def covers(self) -> npt.NDArray[np.bool_]:
        """The requests run over arrays (until their function turns out unsupported)."""
        return self.bulk

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
        codes = np.repeat(rows.astype(np.int64), many, axis=0)
        target = np.tile(np.array(positions, dtype=np.int64), count)[:, None]
        run = Run(Book(codec), codes, s, target, codec.names, template.function)
        run.block(template.function.body)
        if (run.ended == RUNNING).any():
            raise Unsupported("a row runs off the end")
        if (run.ended == HANDED_BACK).any():
            return False
        nexts = run.ended == NEXT
        run.out[nexts] = run.terms.book.coded(run.out[nexts])
        for r, p in template.requests:
            j = positions.index(p)
            at = slice(j, None, many)
            ended = run.ended[at]
            kind[:, r] = np.where(ended == BROKEN, BREAKS, EDGE)
            succ[:, r] = rows
            moved = np.flatnonzero(ended == NEXT)
            succ[moved, r, columns] = run.out[at][moved]
            for i in np.flatnonzero(ended == BROKEN).tolist():
                broken.append((i, r, run.said[i * many + j]))
        return True
