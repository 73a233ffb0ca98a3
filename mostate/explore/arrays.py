"""The values of a generated successor's code run over arrays (:mod:`.evaluator`).

A row is one (orbit, target) pair and a column one name of the service: a record is its code
(0: no record), a name its position among the scope's names, a dict of records a code per
column with the names it holds. A :class:`Book` holds the records a run can meet, the codec's
and those the code builds, and their fields as arrays indexed by code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..codegen.runtime import NONE_RECORD, new_instance
from ..concrete import ABSENT, Record
from ..frozenmap import FrozenMap
from ..model import Clause, Instance
from .encoding import Codec

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

FIELDS = ("exists", "active", "default", "locked")


class Unsupported(Exception):
    """The code holds a construct with no array meaning here."""


class Rec:
    """Records, as codes in a :class:`Book` (0: no record)."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


class Names:
    """Names of the service, as positions among the scope's names (-1: none)."""

    __slots__ = ("at",)

    def __init__(self, at: Ints) -> None:
        self.at = at


class Ref(Names):
    """A reference ``(S, name)`` to the request's service, as the name's position (-1:
    ``None``)."""


class Map:
    """A dict of records by name, as one code per column and whether the dict holds that
    name (a dict may hold :data:`ABSENT`, code 0, under a name)."""

    __slots__ = ("codes", "held")

    def __init__(self, codes: Ints, held: Bools) -> None:
        self.codes, self.held = codes, held

    def put(self, where: Bools, code: Ints) -> None:
        """Store the records ``code`` in the cells ``where``."""
        self.codes = np.where(where, code, self.codes)
        self.held = self.held | where


class Params:
    """The parameters of records, as those records' codes."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


class Broken:
    """The list ``broken``: each clause appended, with the rows it was appended on."""

    __slots__ = ("appended",)

    def __init__(self) -> None:
        self.appended: list[tuple[Clause, Bools]] = []


class Book:
    """The records one run can meet, by code: the codec's (0: no record, :data:`ABSENT`),
    then :data:`NONE_RECORD`, then the records the code builds that the codec has not met
    (given codes here; the codec codes only those a step hands back)."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        size = codec.size()
        self.records: list[Record] = [ABSENT]
        self.records += [codec.record(c) or ABSENT for c in range(1, size)]
        self.none = size
        self.records.append(NONE_RECORD)
        self.fields = {f: np.array([_field(r, f) for r in self.records]) for f in FIELDS}
        self.built: dict[Record, int] = {}

    def field(self, name: str, code: Ints) -> Ints:
        """The field ``name`` of the records ``code``."""
        return self.fields[name][code]

    def build(self, active: Bools, default: Bools, locked: Bools, params: Ints) -> Ints:
        """The codes of ``_Instance(active, default, locked, params)`` at each cell: a record
        equal to one the codec or this book holds has its code."""
        shape = np.broadcast_shapes(active.shape, default.shape, locked.shape, params.shape)
        key = (
            np.broadcast_to(active, shape).astype(np.int64)
            | np.broadcast_to(default, shape).astype(np.int64) << 1
            | np.broadcast_to(locked, shape).astype(np.int64) << 2
            | np.broadcast_to(params, shape).astype(np.int64) << 3
        )
        unique, inverse = np.unique(key, return_inverse=True)
        codes = np.empty(len(unique), dtype=np.int64)
        for u, k in enumerate(unique.tolist()):
            held = self.records[k >> 3].params
            record = new_instance(bool(k & 1), bool(k & 2), bool(k & 4), held)
            codes[u] = self._code(record)
        return codes[inverse].reshape(shape)

    def hold(self, params: FrozenMap[str, str]) -> int:
        """The code of a record holding ``params`` (and no flag): what a constant's
        parameters are read from."""
        return self._code(new_instance(False, False, False, params))

    def _code(self, record: Record) -> int:
        found = self.codec.find(record) if isinstance(record, Instance) else None
        if found is not None:
            return found
        code = self.built.get(record)
        if code is None:
            code = self.built[record] = len(self.records)
            self.records.append(record)
            for f in FIELDS:
                self.fields[f] = np.append(self.fields[f], _field(record, f))
        return code

    def coded(self, codes: Ints) -> Ints:
        """``codes`` with each built record given its code by the codec."""
        if self.none in codes:
            raise Unsupported("a step hands back the record of no reference")
        top = int(codes.max(initial=0))
        if top <= self.none:
            return codes
        table = np.arange(top + 1, dtype=np.int64)
        for c in np.unique(codes[codes > self.none]).tolist():
            table[c] = self.codec.record_code(self.records[c])
        return table[codes]


def _field(record: Record, name: str) -> bool:
    return bool(getattr(record, name))


Value = Any
"""What a name or expression stands for: a bool or int array, one of the classes above, or
a constant (``None``, a clause, a string)."""


def take(codes: npt.NDArray[Any], at: Ints) -> npt.NDArray[Any]:
    """The values at positions ``at`` (0 or False where ``at`` is none)."""
    rows = max(codes.shape[0], at.shape[0])
    index = np.broadcast_to(np.maximum(at, 0), (rows, at.shape[1]))
    taken = np.take_along_axis(np.broadcast_to(codes, (rows, codes.shape[1])), index, axis=1)
    return np.where(at >= 0, taken, np.zeros((), dtype=codes.dtype))


def plain(value: Value) -> Any:
    if isinstance(value, np.ndarray | bool | int):
        return value
    raise Unsupported("a comparison of something else than bools and ints")


def choose(holds: Bools, a: Value, b: Value) -> Value:
    for kind in (Rec, Params):
        if isinstance(a, kind) and isinstance(b, kind):
            return kind(np.where(holds, a.code, b.code))
    if isinstance(a, Ref) and isinstance(b, Ref):
        return Ref(np.where(holds, a.at, b.at))
    if isinstance(a, Names) and isinstance(b, Names):
        return Names(np.where(holds, a.at, b.at))
    return np.where(holds, plain(a), plain(b))


COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
