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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model import Clause
from .arrays import Book, Bools, Broken, Unsupported
from .encoding import Codec
from .evaluator import BROKEN, HANDED_BACK, NEXT, RUNNING, Run
from .explorer import Route
from .tables import BREAKS, EDGE

log = logging.getLogger(__name__)


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
            j = positions.index(p)
            at = slice(j, None, many)
            ended = run.ended[at]
            kind[:, r] = np.where(ended == BROKEN, BREAKS, EDGE)
            succ[:, r] = rows
            moved = np.flatnonzero(ended == NEXT)
            succ[moved, r, columns] = run.out[at][moved]
            for i in np.flatnonzero(ended == BROKEN).tolist():
                broken.append((i, r, clauses[i * many + j]))
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
