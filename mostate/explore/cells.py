"""What every term of a successor's residual function run over arrays works with.

:class:`Cells` holds one run's state (:mod:`.evaluator`): the book of records, the codes of the
rows, the request's service, the names bound, the loop axes, and the conversions from a term's
value to the kind its context needs (a bool, a number, a record, a name...). A value that is
not of that kind is a construct with no array meaning: :class:`~.arrays.Unsupported`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..codegen.residual import Term
from ..frozenmap import FrozenMap
from .arrays import (
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
    plain,
)


class Cells:
    """The state of one run: ``codes`` (rows, every slot of the scope: service by service, a
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

    def term(self, term: Term, where: Bools) -> Value:
        """The value of ``term`` at each cell (:class:`.evaluator.Terms`)."""
        raise NotImplementedError  # pragma: no cover - Terms gives every node its meaning

    def _const(self, value: Any) -> Value:
        """A constant: a parameter map as its code, any other value as itself."""
        if isinstance(value, FrozenMap):
            return Params(self.scalar(self.book.map_code(value), np.int64))
        return value
