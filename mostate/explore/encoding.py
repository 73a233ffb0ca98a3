"""States as integers: what the explorer stores for each state it has seen.

A :class:`Codec` gives each distinct instance record (an :class:`~mostate.model.Instance`) a
small code, in the order the search meets them (0: no instance), and packs a state into one
``int``, 16 bits per (service, name) slot. A visited set of such ints costs about a hundred
bytes per state where a :class:`~mostate.model.DeviceState` costs kilobytes, and hashing or
comparing one is a machine operation. Only the scope's services and names have slots; a state
holding anything else cannot be encoded (the explorer never makes one: requests go to the
scope's names, and a step creates nothing but its target).

Symmetry works on the codes too: :meth:`Codec.canonical` orders the names by the contents of
their column (their record in every service) exactly as :func:`.symmetry.canonical` orders
them, so the canonical int decodes to the canonical state of :mod:`.symmetry`, and
:meth:`Codec.orbit_size` counts what :func:`.symmetry.orbit_size` counts.
"""

from __future__ import annotations

import itertools
import math
import operator
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from ..concrete import Record
from ..frozenmap import FrozenMap
from ..model import DeviceState, Instance, Service, flag_values, instance

_BITS = 16
_MASK = (1 << _BITS) - 1
_ABSENT: tuple[object, ...] = (1,)
_ALIASES = 1 << 16
"""How many records equal to a coded one a codec remembers by identity (bounded: code that
builds a new record each time must not grow the codec without end)."""
_SWAP = sys.byteorder != "little"
"""Whether an array of 16-bit codes must be byte-swapped to read a little-endian key."""


class Codec:
    """Codes for the records of one exploration, and the packing of states into ints.

    Not a value: it grows as the search meets new records.

    >>> codec = Codec(("MMS",), ("i1", "i2"))
    >>> s = DeviceState.from_json({"MMS": {"i2": {"active": True}}})
    >>> key = codec.encode(s)
    >>> codec.decode(key) == s, codec.decode(codec.canonical(key)).to_json()["MMS"].keys()
    (True, dict_keys(['i1']))
    >>> codec.orbit_size(key)
    2
    """

    def __init__(self, services: tuple[str, ...], names: tuple[str, ...]) -> None:
        self.services = tuple(sorted(services))  # the order DeviceState keeps them in
        self.names = names
        self._position = {name: j for j, name in enumerate(names)}
        self._service_position = {name: s for s, name in enumerate(self.services)}
        width = len(names)
        self._bytes = 2 * width * len(self.services)
        self._shifts = tuple(
            tuple(_BITS * (s * width + j) for j in range(width)) for s in range(len(self.services))
        )
        self._shift_of = tuple(dict(zip(names, shifts, strict=True)) for shifts in self._shifts)
        self._movers: dict[tuple[int, ...], Callable[[int], int]] = {}
        self._service_masks = tuple(
            sum(_MASK << shift for shift in shifts) for shifts in self._shifts
        )
        # The records by code (code 0 stands for "no instance"), and the way back; ``_by_id``
        # finds the records this codec made by identity, which is what a step hands back for
        # the instances it did not touch (safe: ``_records`` keeps them alive).
        self._records: list[Instance] = [Instance()]  # a placeholder: code 0 is never read
        self._codes: dict[Instance, int] = {}
        self._by_id: dict[int, int] = {}
        self._order: list[tuple[object, ...]] = [_ABSENT]
        # The codes of existing records by their flags and the identity of their parameters,
        # for parameter maps some record of ``_records`` holds (so each id is of a live map):
        # an effect that changes a flag keeps the map, and is encoded without hashing it.
        self._by_flags: dict[tuple[object, ...], int] = {}
        self._params: dict[int, object] = {}
        self._aliases: list[Record] = []  # records equal to one of ``_records``, by id too

    # -- codes ------------------------------------------------------------------------------

    def code(self, inst: Instance) -> int:
        """The code of a record, given on first sight."""
        found = self._by_id.get(id(inst))
        if found is not None:
            return found
        found = self._codes.get(inst)
        if found is None:
            found = len(self._records)
            if found > _MASK:
                raise OverflowError(f"more than {_MASK} distinct instance records in scope")
            self._records.append(inst)
            self._codes[inst] = found
            self._by_id[id(inst)] = found
            params = self._params.setdefault(id(inst.params), inst.params)
            if params is inst.params:
                self._by_flags[(*flag_values(inst), id(params))] = found
            self._order.append((0, *flag_values(inst), tuple(inst.params.items())))
        return found

    def find(self, record: Instance) -> int | None:
        """The code given to a record equal to ``record``, ``None`` if none is (no code is
        given here: :meth:`record_code` gives one)."""
        return self._codes.get(record)

    def size(self) -> int:
        """How many codes are given, 0 (no instance) included."""
        return len(self._records)

    def record(self, code: int) -> Instance | None:
        """The record of a code given (``None`` for 0: no instance).

        >>> codec = Codec(("MMS",), ("i1",))
        >>> codec.record(codec.code(Instance(active=True))).active, codec.record(0)
        (True, None)
        """
        return self._records[code] if code else None

    # -- states -----------------------------------------------------------------------------

    def encode(self, state: DeviceState) -> int:
        """The int of a state of the scope (ValueError for a name or service outside it)."""
        key = 0
        by_id, position = self._by_id, self._position
        # The dicts as they are: a state's order does not change its int, and sorting an
        # adopted dict (``FrozenMap._adopt``) would cost more than the encoding.
        for sname, service in state.services._data.items():
            s = self._service_position.get(sname)
            if s is None:
                raise ValueError(f"service {sname!r} is not in the scope")
            shifts = self._shifts[s]
            for name, inst in service.instances._data.items():
                j = position.get(name)
                if j is None:
                    raise ValueError(f"instance {name!r} is not in the scope")
                code = by_id.get(id(inst))  # the usual case, inlined: a record met before
                key |= (self.code(inst) if code is None else code) << shifts[j]
        return key

    def encode_step(self, key: int, before: DeviceState, after: DeviceState, service: str) -> int:
        """The int of ``after``, a step's next state from ``before`` (whose int is ``key``):
        when every service but ``service`` is the very object ``before`` holds (as a step of
        generated code leaves them), only ``service``'s slots are encoded again, from its dict
        as it is (no sorting); otherwise the whole state is (:meth:`encode`).

        >>> codec = Codec(("A", "B"), ("i1", "i2"))
        >>> s = DeviceState.from_json({"A": {"i1": {}}, "B": {"i2": {"locked": True}}})
        >>> t = s.with_service("A", Service(FrozenMap({"i2": Instance(active=True)})))
        >>> codec.encode_step(codec.encode(s), s, t, "A") == codec.encode(t)
        True
        """
        old, new = before.services._data, after.services._data
        s = self._service_position.get(service)
        if s is None or len(old) - (service in old) != len(new) - (service in new):
            return self.encode(after)  # a service other than ``service`` came or went
        for name, other in new.items():
            if other is not old.get(name) and name != service:
                return self.encode(after)
        key &= ~self._service_masks[s]
        held = new.get(service)
        if held is None:
            return key
        by_id, shift_of = self._by_id, self._shift_of[s]
        for name, inst in held.instances._data.items():
            shift = shift_of.get(name)
            if shift is None:
                raise ValueError(f"instance {name!r} is not in the scope")
            code = by_id.get(id(inst))
            key |= (self.code(inst) if code is None else code) << shift
        return key

    def known_records(self) -> Mapping[int, int]:
        """The codes of the records this codec made, by their ``id`` (safe: it keeps them
        alive): a caller looks a record up here first, and asks :meth:`record_code` on a miss."""
        return self._by_id

    def slot(self, service: str, name: str) -> tuple[int, int]:
        """The slot of ``name`` in ``service``: the mask that clears it in a key, and where
        it starts (a key with ``code`` there is ``key & mask | code << shift``); KeyError
        outside the scope."""
        shift = self._shift_of[self._service_position[service]][name]
        return ~(_MASK << shift), shift

    def position(self, service: str, name: str) -> int:
        """The index of ``name`` of ``service`` among the slots (:meth:`slots`); KeyError
        outside the scope.

        >>> Codec(("A", "B"), ("i1", "i2")).position("B", "i1")
        2
        """
        return self._shift_of[self._service_position[service]][name] // _BITS

    def encode_record(self, key: int, service: str, name: str, record: Record) -> int:
        """The int of the state ``key`` with ``name`` of ``service`` holding ``record`` (raw:
        a record that does not exist leaves the slot empty).

        >>> codec = Codec(("A",), ("i1", "i2"))
        >>> key = codec.encode(DeviceState.from_json({"A": {"i1": {}}}))
        >>> after = codec.decode(codec.encode_record(key, "A", "i2", Instance(locked=True)))
        >>> after == DeviceState.from_json({"A": {"i1": {}, "i2": {"locked": True}}})
        True
        """
        try:
            clear, shift = self.slot(service, name)
        except KeyError:
            raise ValueError(f"{service!r}/{name!r} is not in the scope") from None
        return (key & clear) | (self.record_code(record) << shift)

    def record_code(self, record: Record) -> int:
        """The code of a record as an effect computed it (0: it does not exist)."""
        code = self._by_id.get(id(record))  # the usual case: a record met before
        if code is not None:
            return code
        if type(record) is not Instance and not record.exists:
            return 0
        params = record.params
        if self._params.get(id(params)) is params:
            code = self._by_flags.get((*flag_values(record), id(params)))
        if code is None:
            value = record
            if type(value) is not Instance:
                value = instance(flag_values(record), params)
            code = self.code(value)
        if len(self._aliases) < _ALIASES:
            # Met again (generated code for the explorer hands back the same objects): known
            # by its id from now on, kept alive here so that the id stays its own.
            self._aliases.append(record)
            self._by_id[id(record)] = code
        return code

    def encode_records(self, key: int, service: str, records: Mapping[str, Record]) -> int:
        """The int of the state ``key`` with ``service`` holding ``records``: a successor
        function's records after a step (:mod:`mostate.codegen`), raw ones included (a record
        that does not exist is left out, as ``normalise`` leaves it out).

        >>> codec = Codec(("A", "B"), ("i1", "i2"))
        >>> s = DeviceState.from_json({"A": {"i1": {}}, "B": {"i2": {"locked": True}}})
        >>> t = s.with_service("A", Service(FrozenMap({"i2": Instance(active=True)})))
        >>> codec.encode_records(codec.encode(s), "A", {"i2": Instance(active=True)}) == (
        ...     codec.encode(t))
        True
        """
        s = self._service_position.get(service)
        if s is None:
            raise ValueError(f"service {service!r} is not in the scope")
        key &= ~self._service_masks[s]
        by_id, shift_of = self._by_id, self._shift_of[s]
        for name, record in records.items():
            code = by_id.get(id(record))  # the usual case: a record met before
            if code is None:
                code = self.record_code(record)
                if not code:
                    continue  # a record an effect made not exist
            shift = shift_of.get(name)
            if shift is None:
                raise ValueError(f"instance {name!r} is not in the scope")
            key |= code << shift
        return key

    def decode(self, key: int) -> DeviceState:
        """The state an int stands for."""
        services = []
        for sname, shifts in zip(self.services, self._shifts, strict=True):
            items = [
                (name, self._records[(key >> shift) & _MASK])
                for name, shift in zip(self.names, shifts, strict=True)
                if (key >> shift) & _MASK
            ]
            if items:
                services.append((sname, Service(FrozenMap(items))))
        return DeviceState(FrozenMap(services))

    # -- symmetry ---------------------------------------------------------------------------
    # A key's slots, unpacked by ``int.to_bytes`` into an array of 16-bit codes (in C: slot
    # ``s * width + j`` holds name ``j`` in service ``s``, so ``codes[j::width]`` is the
    # column of name ``j``), and packed back by ``int.from_bytes``.

    def slots(self, key: int) -> array[int]:
        """The codes of every slot, slot ``s * len(names) + j`` for name ``j`` in service ``s``.

        >>> codec = Codec(("A", "B"), ("i1", "i2"))
        >>> list(codec.slots(codec.pack([1, 2, 3, 4])))
        [1, 2, 3, 4]
        """
        codes = array("H", key.to_bytes(self._bytes, "little"))
        if _SWAP:
            codes.byteswap()
        return codes

    def pack(self, codes: Iterable[int]) -> int:
        """The key of slot codes in the order :meth:`slots` gives them."""
        packed = array("H", codes)
        if _SWAP:
            packed.byteswap()
        return int.from_bytes(packed.tobytes(), "little")

    def dump(self, keys: Iterable[int]) -> bytes:
        """:meth:`slots` of many keys at once: their codes, little-endian 16-bit, key after key.

        >>> codec = Codec(("A",), ("i1", "i2"))
        >>> codec.load(codec.dump([codec.pack([1, 2]), 7])) == [codec.pack([1, 2]), 7]
        True
        """
        size = self._bytes
        return b"".join(key.to_bytes(size, "little") for key in keys)

    def load(self, data: bytes) -> list[int]:
        """The keys :meth:`dump` wrote."""
        size, frombytes = self._bytes, int.from_bytes
        return [frombytes(data[i : i + size], "little") for i in range(0, len(data), size)]

    def columns(self, key: int) -> list[tuple[int, ...]]:
        """For each name, its codes in every service."""
        codes, width = self.slots(key), len(self.names)
        return [tuple(codes[j::width]) for j in range(width)]

    def canonical(self, key: int) -> int:
        """The int of the canonical member of the state's orbit (see :mod:`.symmetry`)."""
        order = self._order
        if len(self.services) == 1:  # one service: a column is one code
            return self.pack(sorted(self.slots(key), key=order.__getitem__))
        ranked = sorted(self.columns(key), key=lambda col: tuple(order[c] for c in col))
        return self.pack(itertools.chain.from_iterable(zip(*ranked, strict=True)))

    def ranking(self, key: int) -> tuple[int, list[int]]:
        """The canonical int and the order behind it: ``order[p]`` is the name whose column
        the canonical state gives to name ``p`` (so :meth:`permute` with it undoes it)."""
        order = self._order
        columns = self.columns(key)
        ranked = sorted(range(len(columns)), key=lambda j: tuple(order[c] for c in columns[j]))
        return self.permute(key, inverse_order(ranked)), ranked

    def permute(self, key: int, moves: list[int]) -> int:
        """The state with the column of name ``j`` moved to name ``moves[j]``."""
        return self.mover(moves)(key)

    def mover(self, moves: list[int]) -> Callable[[int], int]:
        """:meth:`permute` with ``moves`` fixed, for many keys: where each byte of the key
        goes is worked out once, so moving a key is one gather of its bytes, in C.

        >>> codec = Codec(("A", "B"), ("i1", "i2", "i3"))
        >>> key = codec.pack([1, 2, 3, 4, 5, 6])
        >>> list(codec.slots(codec.mover([1, 2, 0])(key)))
        [3, 1, 2, 6, 4, 5]
        """
        found = self._movers.get(tuple(moves))
        if found is not None:
            return found
        width, size = len(self.names), self._bytes
        source = [0] * size
        for s in range(len(self.services)):
            for j, to in enumerate(moves):
                here, there = 2 * (s * width + j), 2 * (s * width + to)
                source[there], source[there + 1] = here, here + 1
        gather = operator.itemgetter(*source)  # at least two bytes: it gives a tuple

        def move(key: int) -> int:
            return int.from_bytes(bytes(gather(key.to_bytes(size, "little"))), "little")

        # At most N! renamings: each made once (for N = 8, 40,320 small objects at most).
        self._movers[tuple(moves)] = move
        return move

    def ranks(self) -> list[int]:
        """Each code's place in the canonical order of records (:meth:`canonical` sorts by
        it), for the codes given so far."""
        order = self._order
        out = [0] * len(order)
        for place, code in enumerate(sorted(range(len(order)), key=order.__getitem__)):
            out[code] = place
        return out

    def holders(self, key: int) -> list[int]:
        """For each name, the first name with the same column: requests to the two are
        renamings of each other, so the step of the first stands for both."""
        first: dict[tuple[int, ...], int] = {}
        return [first.setdefault(col, j) for j, col in enumerate(self.columns(key))]

    def orbit_size(self, key: int) -> int:
        """How many states the state stands for under renaming: ``N! / prod(k!)``."""
        size = math.factorial(len(self.names))
        for count in Counter(self.columns(key)).values():
            size //= math.factorial(count)
        return size


def inverse_order(order: list[int]) -> list[int]:
    """The order that undoes ``order`` (``order[p] = j`` becomes ``out[j] = p``).

    >>> inverse_order([2, 0, 1])
    [1, 2, 0]
    """
    out = [0] * len(order)
    for p, j in enumerate(order):
        out[j] = p
    return out
