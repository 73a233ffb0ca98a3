"""The breadth-first search of :mod:`.search` without symmetry reduction, a chunk of states at
a time, over numpy arrays.

The engine still runs once per orbit and request (the ``expand`` it is given); what this
module does in bulk is the rest of the search, which took about half of its time state by
state in Python: putting each state in canonical form, renaming its orbit's steps back to its
own names, packing the next states into 64-bit keys, testing them against the states found
so far and storing the new ones in breadth-first order. It is data movement only: every next
state and every verdict comes from ``expand``, so no rule is written here.

A state is a row of codes (:mod:`.encoding`), one per (service, name) slot in the codec's
order. Rows are packed ``64 // slots`` bits a code, so the search runs here only while every
code fits (:class:`TooWide` otherwise; :mod:`.search` then starts again state by state).
The result is the one the search makes state by state: the same states in the same order,
with the same parents, requests, depths, edges and violations (``tests/explore`` holds it to
the networkx explorer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..model import Clause, Request
from .encoding import Codec
from .explorer import Exploration, Progress

CHUNK = 512
"""States expanded at a time: progress, limits and Ctrl-C are looked at between chunks."""

Result = tuple[int, tuple[Clause, ...]]
"""A request's step from a canonical state: the next state's int (-1: none) and what it
breaks (see :mod:`.search`)."""
Expand = Callable[[Exploration, int], list[Result]]
Record = Callable[[Exploration, int, Request, tuple[Clause, ...]], None]

Codes = npt.NDArray[np.uint16]
Keys = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.intp]


Steps = tuple[Codes, npt.NDArray[np.uint8]]
"""The requests from one canonical state: each next state's codes (zeros where none) and what
kind of step it is (:data:`EDGE`, :data:`BREAKS` and :data:`MOVES` or'ed)."""
EDGE, BREAKS, MOVES = 1, 2, 4
"""A step leads somewhere (an edge); it breaks something; it leads into an orbit not found
before this level (only such a step can reach a state not found yet)."""


class TooWide(Exception):
    """A code does not fit in the bits a slot has in a packed key."""


def fits(codec: Codec) -> bool:
    """Whether the scope has few enough slots for keys of at least 4 bits a code."""
    return _slots(codec) <= 16


def _slots(codec: Codec) -> int:
    return len(codec.services) * len(codec.names)


class Frontier:
    """What one search keeps besides its :class:`Exploration`: the codes of the level being
    expanded, the packed keys of the states found, and the orbits' steps of this level."""

    def __init__(self, run: Exploration, retarget: Sequence[tuple[int, tuple[int, ...]]]) -> None:
        self.run = run
        codec = run.codec
        self.width = len(codec.names)
        self.slots = _slots(codec)
        self.bits = min(16, 64 // self.slots)
        self.shifts = (np.arange(self.slots, dtype=np.uint64) * np.uint64(self.bits)).astype(
            np.uint64
        )
        requests = len(run.requests)
        # For each request: its target's position (0 for none: then the column is unused)
        # and the request sent instead to each position.
        self.target = np.array([max(t, 0) for t, _ in retarget], dtype=np.intp)
        table = np.empty((requests, self.width), dtype=np.intp)
        for r, (t, others) in enumerate(retarget):
            table[r] = others if t >= 0 else r
        self.retarget = table
        self.ranks = np.zeros(1, dtype=np.int64)
        self.seen = np.zeros(1, dtype=np.uint64)  # the empty device: every code 0
        self.level_seen = np.zeros(0, dtype=np.uint64)
        self.memo: dict[int, Steps] = {}
        self.old: set[int] = set()
        """The orbits (canonical ints) of the states found before the level being expanded:
        every member of such an orbit is found already (all members of an orbit have one
        depth, and the levels up to it are done), so a step into one needs no renaming."""
        self.forms: dict[int, int] = {}  # canonical forms of next states met in this level
        self.results: dict[int, list[Result]] = {}

    # -- codes and keys ---------------------------------------------------------------------

    def rows(self, keys: Sequence[int]) -> Codes:
        """The codes of states given as the codec's ints (:meth:`.Codec.dump`)."""
        data = self.run.codec.dump(keys)
        codes: Codes = np.frombuffer(data, dtype="<u2").astype(np.uint16)
        return codes.reshape(len(keys), self.slots)

    def ints(self, rows: Codes) -> list[int]:
        """The codec's ints of rows of codes (:meth:`.Codec.load`)."""
        return self.run.codec.load(np.ascontiguousarray(rows, dtype="<u2").tobytes())

    def pack(self, rows: Codes) -> Keys:
        """One 64-bit key a row (any leading shape)."""
        keys: Keys = np.bitwise_or.reduce(rows.astype(np.uint64) << self.shifts, axis=-1)
        return keys

    def refresh_ranks(self) -> None:
        """Each code's place in the canonical order, after the codec met new records."""
        ranks = self.run.codec.ranks()
        if len(ranks) >= 1 << self.bits:
            raise TooWide(f"more than {(1 << self.bits) - 1} records for {self.slots} slots")
        self.ranks = np.asarray(ranks, dtype=np.int64)

    def known(self, keys: Keys) -> npt.NDArray[np.bool_]:
        """Which keys were found before (in an earlier level or earlier in this one)."""
        out = np.zeros(keys.shape, dtype=np.bool_)
        for seen in (self.seen, self.level_seen):
            if len(seen):
                at = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
                out |= seen[at] == keys
        return out

    # -- canonical forms --------------------------------------------------------------------

    def order(self, rows: Codes) -> Ints:
        """For each row (any leading shape), the names in canonical order: ``order[..., p]``
        is the name whose column the canonical state gives to name ``p`` (stable, as
        :meth:`.Codec.ranking` sorts)."""
        services = self.slots // self.width
        ranked = self.ranks[rows]
        if services == 1:
            column = ranked
        else:  # a column is a tuple over services: one number, most significant first
            base = np.int64(len(self.ranks))
            column = ranked[..., : self.width].copy()
            for s in range(1, services):
                column = column * base + ranked[..., s * self.width : (s + 1) * self.width]
        return np.argsort(column, axis=-1, kind="stable")

    def moved(self, rows: Codes, names: Ints) -> Codes:
        """Rows with the column of name ``names[..., p]`` moved to name ``p``, in every
        service."""
        services = self.slots // self.width
        index = np.concatenate([names + s * self.width for s in range(services)], axis=-1)
        return np.take_along_axis(rows, index, axis=-1)


def bfs(
    run: Exploration,  # without symmetry: every state is stored, on its own names
    retarget: Sequence[tuple[int, tuple[int, ...]]],
    expand: Expand,
    record: Record,
    check: Callable[[int], None],
    progress: Progress | None,
) -> None:
    """Expand every state found, level by level, in chunks of :data:`CHUNK`. ``run`` holds
    the empty device, found and not expanded; ``check`` is given the count of states found
    after each chunk (it raises to stop the search)."""
    front = Frontier(run, retarget)
    front.refresh_ranks()
    level = front.rows(run.keys[run.expanded :])
    while len(level):
        # Each state's names in canonical order, and its canonical form, once for the level
        # (new records met on the way take ranks that keep the order of the others).
        names = front.order(level)
        canon = front.moved(level, names)
        _, first = np.unique(front.pack(canon), return_index=True)
        front.old.update(front.ints(canon[first]))
        found: list[Codes] = []
        for start in range(0, len(level), CHUNK):
            part = slice(start, start + CHUNK)
            found.append(_chunk(front, names[part], canon[part], expand, record))
            check(len(run.keys))
            if progress is not None:
                progress(run.expanded, len(run.keys))
        # Both sorted, and disjoint (a key joins level_seen only when not in seen): a merge.
        front.seen = np.insert(
            front.seen, np.searchsorted(front.seen, front.level_seen), front.level_seen
        )
        front.level_seen = np.zeros(0, dtype=np.uint64)
        front.memo.clear()
        front.results.clear()
        front.forms.clear()
        level = np.concatenate(found) if found else level[:0]


def _chunk(front: Frontier, names: Ints, canon: Codes, expand: Expand, record: Record) -> Codes:
    """Expand the next states in BFS order, given as their canonical forms ``canon`` and the
    names (:meth:`Frontier.order`) that make them so; store the states they reach for the
    first time, and return those states' codes."""
    run, count = front.run, len(canon)
    base = run.expanded
    requests = len(run.requests)
    keys, which = np.unique(front.pack(canon), return_inverse=True)
    which = which.reshape(-1)
    listed = keys.tolist()
    new = [k for k in listed if k not in front.memo]
    if new:
        _steps(front, canon, keys, new, expand)
    entries = [front.memo[k] for k in listed]
    succ = np.stack([e[0] for e in entries])
    kinds = np.stack([e[1] for e in entries])
    # Request r to name j is, in canonical names, request retarget[r][where[j]].
    where = np.argsort(names, axis=-1)
    sent = front.retarget[np.arange(requests), where[:, front.target]]  # (count, requests)
    steps = kinds[which[:, None], sent]  # (count, requests)
    hit = (steps & BREAKS).astype(np.bool_)
    if hit.any():
        _violations(front, keys, which, sent, hit, base, record)
    # Only the steps that lead to another state are renamed and packed (a step that keeps
    # the state, a refusal say, leads to a state found already): in BFS order, flat.
    at = np.flatnonzero(steps.reshape(-1) & MOVES)
    state, q = np.divmod(at, requests)
    nxt = succ[which[state], sent[state, q]]  # (steps, slots), on canonical names
    # Back to the state's own names: name j has the column of canonical name where[j].
    nxt = front.moved(nxt, where[state])
    packed = front.pack(nxt)
    reached, first = np.unique(packed, return_index=True)  # sorted: known() looks up in order
    fresh = ~front.known(reached)
    new_keys = reached[fresh]
    first = np.sort(first[fresh])  # each new state where it is first reached, in BFS order
    order, found = at[first], nxt[first]
    # Commit: the arrays grow together, then the chunk counts as expanded.
    run.edges += int(np.count_nonzero(steps & EDGE))
    run.keys.extend(front.ints(found))
    run.parent.frombytes((base + order // requests).astype(np.int32).tobytes())
    run.via.frombytes((order % requests).astype(np.int32).tobytes())
    depth = run.depth[base] + 1
    run.depth.frombytes(np.full(len(order), depth, dtype=np.int32).tobytes())
    # new_keys is sorted and holds none of level_seen: a merge, not a union's sort
    seen = front.level_seen
    front.level_seen = np.insert(seen, np.searchsorted(seen, new_keys), new_keys)
    run.expanded = base + count
    return found


def _steps(front: Frontier, canon: Codes, keys: Keys, new: list[int], expand: Expand) -> None:
    """Send every request from the canonical states ``new`` (packed keys) through ``expand``
    and keep their next states as codes."""
    run = front.run
    wanted = set(new)
    firsts = {}
    packed = front.pack(canon).tolist()
    for i, k in enumerate(packed):
        if k in wanted and k not in firsts:
            firsts[k] = i
    ints = front.ints(canon[[firsts[k] for k in new]])
    for k, key in zip(new, ints, strict=True):
        results = expand(run, key)
        nxt = [n if n >= 0 else 0 for n, _ in results]
        kinds = [(EDGE if n >= 0 else 0) | (BREAKS if b else 0) for n, b in results]
        for q, (n, _) in enumerate(results):
            if n >= 0 and n != key and _orbit(front, n) not in front.old:
                kinds[q] |= MOVES
        front.memo[k] = (front.rows(nxt), np.array(kinds, dtype=np.uint8))
        front.results[k] = results
    front.refresh_ranks()  # the steps may have met new records


def _orbit(front: Frontier, key: int) -> int:
    """The canonical int of the state ``key`` (the codec's), cached for the level."""
    form = front.forms.get(key)
    if form is None:
        form = front.forms[key] = front.run.codec.canonical(key)
    return form


def _violations(
    front: Frontier,
    keys: Keys,
    which: Ints,
    sent: Ints,
    broken: npt.NDArray[np.bool_],
    base: int,
    record: Record,
) -> None:
    """Record what the steps of this chunk break, in BFS order, as the search state by state
    does (the first step to break a property gives its trace)."""
    run = front.run
    packed = keys.tolist()
    for i, r in zip(*np.nonzero(broken), strict=True):
        clauses = front.results[packed[which[i]]][sent[i, r]][1]
        if any(c.name not in run.violations for c in clauses):
            record(run, base + int(i), run.requests[int(r)], clauses)
