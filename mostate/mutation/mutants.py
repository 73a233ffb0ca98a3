"""Mutants of a spec: one seeded mistake each, with a stable id, the operator that made it, the
spec location of what changed and a one-line description.

:func:`generate` applies every operator of :data:`~mostate.mutation.operators.OPERATORS` (or the
chosen ones) to every operation, in spec order, and keeps each distinct changed operation once:
an edit that leaves the operation as it was, one that repeats an earlier mutant, and one the
scope rules reject (:func:`~mostate.mutation.operators.well_scoped`) are not mutants. An id is a
hash of the operator, the place and the change, not of line numbers, so it survives edits
elsewhere in the spec.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import attrs

from ..errors import Location
from ..rules import Operation, Spec
from .operators import OPERATORS, Edit, well_scoped


@attrs.frozen
class Mutant:
    """One mutated spec. ``op`` names the operation it changes (``None`` for a whole-spec mutant
    such as a file of ``specs/mutants/``, whose every operation is checked).

    >>> from mostate import load_spec
    >>> m = generate(load_spec(), ["swap_and_or"])[0]
    >>> m.operator, m.op, m.id.startswith(m.op + ".")
    ('swap_and_or', 'add', True)
    """

    id: str
    operator: str
    op: str | None
    loc: Location
    description: str
    spec: Spec = attrs.field(eq=False, repr=False)

    @property
    def where(self) -> str:
        """The location with the file's name only: ``ccs.toml:118:8``."""
        return f"{Path(self.loc.file).name}:{self.loc.line}:{self.loc.column}"

    def __str__(self) -> str:
        return f"{self.description} ({self.where})"


def whole_spec(name: str, spec: Spec) -> Mutant:
    """A mutant given as a whole spec (a seeded-bug file): every operation is checked."""
    return Mutant(name, "file", None, Location(spec.source, 1, 1), spec.doc or name, spec)


def generate(spec: Spec, operators: Iterable[str] | None = None) -> tuple[Mutant, ...]:
    """Every distinct mutant the chosen operators (default: all) make of ``spec``'s operations.

    >>> from mostate import load_spec
    >>> ms = generate(load_spec(), ["drop_confirmation"])
    >>> len(ms) == len(load_spec().ops), str(ms[0]).startswith("add: confirmation dropped")
    (True, True)
    >>> generate(load_spec(), ["nonsense"])
    Traceback (most recent call last):
    ...
    ValueError: no mutation operator 'nonsense' (known: negate, swap_eq, ...)
    """
    chosen = list(OPERATORS) if operators is None else list(operators)
    for name in chosen:
        if name not in OPERATORS:
            known = ", ".join(OPERATORS)
            raise ValueError(f"no mutation operator {name!r} (known: {known})")
    seen: set[tuple[str, Operation]] = set()
    out: list[Mutant] = []
    for op in spec.ops.values():
        for name in chosen:
            for edit in OPERATORS[name](op, spec):
                if edit.op == op or (op.name, edit.op) in seen or not well_scoped(edit.op):
                    continue
                seen.add((op.name, edit.op))
                out.append(_mutant(spec, op.name, name, edit))
    return tuple(out)


def _mutant(spec: Spec, op: str, operator: str, edit: Edit) -> Mutant:
    digest = hashlib.sha1(f"{operator}|{op}|{edit.key}".encode(), usedforsecurity=False).hexdigest()
    mutated = attrs.evolve(spec, ops=spec.ops.set(op, edit.op))
    return Mutant(f"{op}.{digest[:6]}", operator, op, edit.loc, edit.description, mutated)
