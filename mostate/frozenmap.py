"""A hashable, immutable mapping: the one container that device states are made of.

States are networkx nodes, dict keys and members of sets, so every map inside them must hash.
The engine may import only attrs and the standard library (a device client need not have more),
hence this small class rather than a third-party frozendict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def _key(item: tuple[object, object]) -> str:
    return str(item[0])


class FrozenMap(Mapping[K, V]):
    """An immutable mapping that iterates in key order and hashes by content.

    >>> m = FrozenMap({"b": 2, "a": 1})
    >>> list(m), m["a"], m == {"a": 1, "b": 2}
    (['a', 'b'], 1, True)
    >>> m.set("c", 3)
    FrozenMap({'a': 1, 'b': 2, 'c': 3})
    >>> hash(m) == hash(FrozenMap({"a": 1, "b": 2}))
    True
    """

    __slots__ = ("_data", "_hash", "_sorted")

    _data: dict[K, V]
    _hash: int | None
    # Whether ``_data`` is in key order; a map adopted in any order (``_adopt``) is put in
    # order the first time it is iterated. Lookups, equality and hashing do not need the order.
    _sorted: bool

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        data = dict(items)
        # Sorted by key so that equal maps print and iterate alike (keys are names here).
        self._data = dict(sorted(data.items(), key=_key)) if len(data) > 1 else data
        self._hash = None
        self._sorted = True

    @classmethod
    def _wrap(cls, data: dict[K, V]) -> FrozenMap[K, V]:
        """Adopt an already sorted dict without copying it (internal fast path)."""
        new: FrozenMap[K, V] = cls.__new__(cls)
        new._data = data
        new._hash = None
        new._sorted = True
        return new

    @classmethod
    def _adopt(cls, data: dict[K, V]) -> FrozenMap[K, V]:
        """Adopt a dict in any order without copying it; it is sorted when first iterated
        (internal fast path: a step that adds one instance copies the dict in C and appends,
        instead of rebuilding it in order).

        >>> m = FrozenMap._adopt({"b": 2, "a": 1})
        >>> list(m), m == FrozenMap({"a": 1, "b": 2}), hash(m) == hash(FrozenMap({"a": 1, "b": 2}))
        (['a', 'b'], True, True)
        """
        new = cls._wrap(data)
        new._sorted = len(data) < 2
        return new

    def _ordered(self) -> dict[K, V]:
        """``_data`` in key order (sorted once, on the first iteration of an adopted map)."""
        if not self._sorted:
            self._data = dict(sorted(self._data.items(), key=_key))
            self._sorted = True
        return self._data

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V, /) -> V: ...
    @overload
    def get(self, key: K, default: T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        return self._data.get(key, default)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._ordered())

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            if self is other:
                return True
            if self._hash is not None and other._hash is not None and self._hash != other._hash:
                return False  # both hashes known and different: cannot be equal
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._ordered()!r})"

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` bound to ``value``."""
        if key in self._data:
            data = dict(self._data)
            data[key] = value
            return FrozenMap._adopt(data) if not self._sorted else FrozenMap._wrap(data)
        return FrozenMap({**self._data, key: value})

    def remove(self, key: K) -> FrozenMap[K, V]:
        """A copy without ``key`` (the same map when it is absent)."""
        if key not in self._data:
            return self
        data = dict(self._data)
        del data[key]
        return FrozenMap._adopt(data) if not self._sorted else FrozenMap._wrap(data)

    def to_dict(self) -> dict[K, V]:
        """A plain dict copy, for JSON and for callers that want to mutate."""
        return dict(self._ordered())
