"""The values of a successor's residual function run over arrays (:mod:`.evaluator`).

A row is one (orbit, target) pair; each loop a residual term runs adds an axis (its steps:
the names of the service, the slots of the other services, or the services). A record is its
code in a :class:`Book` (0: no record), a name its position among the scope's names (-1:
none, :data:`FRESH` for the names the state does not mention), a reference a service's
position and a name's, a parameter map its code in the book, and the records of the request's
service a code and a flag (held or not) per name. Values of the function's own scalars
(literals, constants) are Python values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..codegen.runtime import NONE_RECORD, new_instance
from ..concrete import ABSENT, Record, raw
from ..frozenmap import FrozenMap
from ..model import EMPTY_PARAMS, Instance
from ..rules import FLAGS, Comparison, Field
from .encoding import Codec

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Numbers = npt.NDArray[Any]

NONE = -1
"""The position of no name (``none``) and of no service."""


class Unsupported(Exception):
    """A construct with no array meaning here (none that the specialiser writes)."""


class Rec:
    """Records, as codes in a :class:`Book`."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


class Names:
    """Names of a service, as positions among the scope's names."""

    __slots__ = ("at",)

    def __init__(self, at: Ints) -> None:
        self.at = at


class Svc:
    """Services, as positions among the scope's services."""

    __slots__ = ("at",)

    def __init__(self, at: Ints) -> None:
        self.at = at


class Ref:
    """References ``(service, name)``: a service's position and a name's (both
    :data:`NONE` for ``None``)."""

    __slots__ = ("at", "svc")

    def __init__(self, svc: Ints, at: Ints) -> None:
        self.svc, self.at = svc, at


class Map:
    """The records of the request's service by name: a code per name, and whether the
    records hold that name (they may hold :data:`ABSENT`, code 0)."""

    __slots__ = ("codes", "held")

    def __init__(self, codes: Ints, held: Bools) -> None:
        self.codes, self.held = codes, held

    def put(self, where: Bools, code: Ints) -> Map:
        """These records with ``code`` stored in the cells ``where``."""
        return Map(np.where(where, code, self.codes), self.held | where)


class Params:
    """Parameter maps, as their codes in a :class:`Book`."""

    __slots__ = ("code",)

    def __init__(self, code: Ints) -> None:
        self.code = code


Params_ = FrozenMap[str, str]
Value = Any
"""What a term stands for: a bool or number array, one of the classes above, or a Python
scalar or constant."""


class Book:
    """The records one run can meet, by code: the codec's (0: no record, :data:`ABSENT`),
    then :data:`NONE_RECORD`, then the records the function builds that the codec has not
    met; and the parameter maps they hold, by code."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        size = codec.size()
        self.maps: list[FrozenMap[str, str]] = []
        self._map_codes: dict[FrozenMap[str, str], int] = {}
        self.records: list[Record] = []
        self.built: dict[Record, int] = {}
        self.flags: dict[Field, list[bool]] = {f: [] for f in FLAGS}
        self.params: list[int] = []
        for record in (ABSENT, *(codec.record(c) or ABSENT for c in range(1, size))):
            self._add(record)
        self.none = self._add(NONE_RECORD)
        self.built.update({ABSENT: 0, NONE_RECORD: self.none})
        self._arrays: dict[Field, npt.NDArray[Any]] = {}
        self._built: Ints = np.zeros(0, dtype=np.int64)
        """The code of each record built so far, by its fields (-1: none yet)."""

    def _add(self, record: Record) -> int:
        code = len(self.records)
        self.records.append(record)
        for f in FLAGS:
            self.flags[f].append(bool(getattr(record, f.value)))
        params = record.params if isinstance(record.params, FrozenMap) else EMPTY_PARAMS
        self.params.append(self.map_code(params))
        self._arrays = {}
        return code

    def map_code(self, params: FrozenMap[str, str]) -> int:
        """The code of a parameter map."""
        code = self._map_codes.get(params)
        if code is None:
            code = self._map_codes[params] = len(self.maps)
            self.maps.append(params)
        return code

    def field(self, field: Field, code: Ints) -> Any:
        """The field ``field`` of the records ``code``: bools, or :class:`Params`."""
        table = self._arrays.get(field)
        if table is None:
            source = self.params if field is Field.PARAMS else self.flags[field]
            table = self._arrays[field] = np.array(source)
        return Params(table[code]) if field is Field.PARAMS else table[code]

    def build(self, fields: list[Any]) -> Ints:
        """The codes of the records with these fields (exists, the flags, the parameters'
        codes) at each cell: a record equal to one the codec or this book holds has its
        code. Each distinct record is looked up once, through a table by its fields."""
        shape = np.broadcast_shapes(*(np.shape(f) for f in fields))
        flags = len(fields) - 1
        key = np.broadcast_to(fields[-1], shape).astype(np.int64) << flags
        for bit, flag in enumerate(fields[:-1]):
            key = key | np.broadcast_to(flag, shape).astype(np.int64) << bit
        size = len(self.maps) << flags
        if len(self._built) < size:
            grown = np.full(size, -1, dtype=np.int64)
            grown[: len(self._built)] = self._built
            self._built = grown
        codes: Ints = self._built[key]
        missing = codes < 0
        if missing.any():
            for k in np.unique(key[missing]).tolist():
                self._built[k] = self._code(k, flags)
            codes = self._built[key]
        return codes

    def _code(self, key: int, flags: int) -> int:
        exists, *values = (bool(key >> bit & 1) for bit in range(flags))
        params = self.maps[key >> flags]
        if exists:
            record: Record = new_instance(*values, params)
        else:
            record = raw((False, *values, params))
        found = self.codec.find(record) if isinstance(record, Instance) else None
        if found is not None:
            return found
        code = self.built.get(record)
        if code is None:
            code = self.built[record] = self._add(record)
        return code

    def edited(self, params: Ints, edit: Callable[[Params_], Params_]) -> Ints:
        """The codes of the maps ``params`` with ``edit`` applied to each."""
        unique, inverse = np.unique(params, return_inverse=True)
        codes = [self.map_code(edit(self.maps[p])) for p in unique.tolist()]
        return np.array(codes, dtype=np.int64)[inverse].reshape(np.shape(params))

    def coded(self, codes: Ints) -> Ints:
        """``codes`` with each record given its code by the codec (0 for one that does not
        exist, as the codec codes what a successor hands back)."""
        top = int(codes.max(initial=0))
        if top < self.codec.size():
            return codes
        table = np.arange(top + 1, dtype=np.int64)
        for c in np.unique(codes[codes >= self.codec.size()]).tolist():
            table[c] = self.codec.record_code(self.records[c])
        return table[codes]


def take(values: npt.NDArray[Any], at: Ints, fill: Any = 0) -> npt.NDArray[Any]:
    """The values (a row per row, a column per position) at positions ``at`` (rows, any
    shape): ``fill`` where ``at`` is no position of theirs."""
    rows = max(values.shape[0], at.shape[0])
    width = values.shape[1]
    flat = np.broadcast_to(at, (rows, *at.shape[1:])).reshape(rows, -1)
    inside = (flat >= 0) & (flat < width)
    source = np.broadcast_to(values, (rows, width))
    taken = np.take_along_axis(source, np.where(inside, flat, 0), axis=1)
    out = np.where(inside, taken, np.asarray(fill, dtype=values.dtype))
    return out.reshape((rows, *at.shape[1:]))


def choose(holds: Bools, a: Value, b: Value) -> Value:
    """``a`` where ``holds``, else ``b``."""
    if isinstance(a, Rec) and isinstance(b, Rec):
        return Rec(np.where(holds, a.code, b.code))
    if isinstance(a, Params) and isinstance(b, Params):
        return Params(np.where(holds, a.code, b.code))
    if isinstance(a, Names) and isinstance(b, Names):
        return Names(np.where(holds, a.at, b.at))
    if isinstance(a, Svc) and isinstance(b, Svc):
        return Svc(np.where(holds, a.at, b.at))
    if isinstance(a, Ref) and isinstance(b, Ref):
        return Ref(np.where(holds, a.svc, b.svc), np.where(holds, a.at, b.at))
    if isinstance(a, Map) and isinstance(b, Map):
        return Map(np.where(holds, a.codes, b.codes), np.where(holds, a.held, b.held))
    return np.where(holds, plain(a), plain(b))


def plain(value: Value) -> Any:
    """A bool or number, as an array or a scalar."""
    if isinstance(value, np.ndarray | bool | int | float):
        return value
    raise Unsupported(f"a bool or a number expected, not {type(value).__name__}")


COMPARE: dict[Comparison, Callable[[Any, Any], Any]] = {
    Comparison.EQ: np.equal,
    Comparison.NE: np.not_equal,
    Comparison.LT: np.less,
    Comparison.LE: np.less_equal,
    Comparison.GT: np.greater,
    Comparison.GE: np.greater_equal,
}
