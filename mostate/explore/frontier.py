"""The breadth-first search of :mod:`.search`, a chunk of states at a time, over numpy arrays.

The next states come from three providers, asked in turn: a request whose answer depends on its
target's record alone is read from :mod:`.tables` for a whole block's orbits at once; the others
have their successors' residual functions run over the block's orbits as arrays
(:mod:`.vectors`); and :mod:`.steps` answers what neither covers once per orbit and request.
What this module does in bulk is the rest of the search: putting each state in canonical form,
renaming its orbit's steps back to its own names (with symmetry reduction: putting the next
states in canonical form instead), packing the next states into 64-bit keys, testing them
against the states found so far and storing the new ones in breadth-first order. It is data
movement only: every next state and every verdict comes from a provider, so no rule is written
here.

A state is a row of codes (:mod:`.encoding`), one per (service, name) slot in the codec's
order. Rows are packed ``64 // slots`` bits a code, so the search runs here only while every
code fits (:class:`TooWide` otherwise; :mod:`.search` then starts again state by state).
The result is the one the search makes state by state: the same states in the same order,
with the same parents, requests, depths, edges and violations (``tests/explore`` holds it to
the networkx explorer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..model import Clause
from .encoding import Codec
from .explorer import Exploration, Progress
from .steps import PerState
from .tables import BREAKS, EDGE, Tables
from .vectors import Vectors

CHUNK = 512
"""States expanded at a time: progress, limits and Ctrl-C are looked at between chunks."""
BLOCK_BYTES = 8 << 20
"""About how much the steps of the orbits met in a block of a level take (their next
states' codes): the orbits of a block have their steps worked out together, so that each
bulk operation runs over as many of them as this allows."""

Broken = list[tuple[int, int, tuple[Clause, ...]]]
"""What the steps a provider filled in break: (state, request, clauses)."""


class Provider(Protocol):
    """A provider of next states for a block of canonical states at once: ``covers[r]``
    says it answers request ``r``; :meth:`fill` fills in those requests' next states and
    kinds (:data:`.tables.EDGE`, :data:`.tables.BREAKS`), and says which it handed back (to
    :mod:`.steps`, for these states) and what the steps break."""

    @property
    def covers(self) -> npt.NDArray[np.bool_]: ...

    def fill(
        self, rows: Codes, succ: Codes, kind: npt.NDArray[np.uint8]
    ) -> tuple[list[int], Broken]: ...


Codes = npt.NDArray[np.uint16]
Keys = npt.NDArray[np.uint64]
Ints = npt.NDArray[np.intp]


class Steps:
    """The requests from one canonical state: what kind of step each one is (:data:`EDGE`,
    :data:`BREAKS` and :data:`MOVES` or'ed), the requests that move (ascending) with their
    next states' codes, how many lead somewhere, and whether any breaks something."""

    __slots__ = ("breaks", "edges", "kind", "moving", "succ")

    def __init__(self, kind: npt.NDArray[np.uint8], moving: Ints, succ: Codes) -> None:
        self.kind, self.moving, self.succ = kind, moving, succ
        self.edges = int(np.count_nonzero(kind & EDGE))
        self.breaks = bool((kind & BREAKS).any())


MOVES = 4
"""Besides :data:`.tables.EDGE` (a step leads somewhere) and :data:`.tables.BREAKS` (it breaks
something): a step leads into an orbit not found before this level (only such a step can
reach a state not found yet)."""


class TooWide(Exception):
    """A code does not fit in the bits a slot has in a packed key."""


def fits(codec: Codec) -> bool:
    """Whether the scope has few enough slots for keys of at least 4 bits a code."""
    return _slots(codec) <= 16


def _slots(codec: Codec) -> int:
    return len(codec.services) * len(codec.names)


class Frontier:
    """What one search keeps besides its :class:`Exploration`: the codes of the level being
    expanded, the packed keys of the states found, the orbits' steps of this level and the
    tables of the requests that read their target's record alone."""

    def __init__(self, run: Exploration, steps: PerState) -> None:
        self.run, self.steps = run, steps
        retarget = steps.retarget
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
        self.old = np.zeros(0, dtype=np.uint64)
        """The orbits (packed canonical forms, sorted) of the states found before the level
        being expanded: every member of such an orbit is found already (all members of an
        orbit have one depth, and the levels up to it are done), so a step into one needs no
        renaming."""
        self.broken: dict[int, dict[int, tuple[Clause, ...]]] = {}
        """What the requests from each orbit met in this level break, by request."""
        self.tables = Tables(run.codec, steps.routes)
        self.vectors = Vectors(run.codec, steps.routes, self.tables.local)
        self.providers: tuple[Provider, ...] = (self.vectors, self.tables)

    def block(self) -> int:
        """How many states of a level have their orbits' steps worked out together (a
        multiple of :data:`CHUNK`, see :data:`BLOCK_BYTES`)."""
        per_orbit = len(self.run.requests) * (2 * self.slots + 1)
        return max(1, BLOCK_BYTES // (per_orbit * CHUNK)) * CHUNK

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
        found: npt.NDArray[np.bool_] = _among(keys, self.seen) | _among(keys, self.level_seen)
        return found

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
    run: Exploration, steps: PerState, check: Callable[[int], None], progress: Progress | None
) -> None:
    """Expand every state found, level by level, in chunks of :data:`CHUNK`. ``run`` holds
    the empty device, found and not expanded; ``check`` is given the count of states found
    after each chunk (it raises to stop the search)."""
    front = Frontier(run, steps)
    front.refresh_ranks()
    level = front.rows(run.keys[run.expanded :])
    while len(level):
        # Each state's names in canonical order, and its canonical form, once for the level
        # (new records met on the way take ranks that keep the order of the others).
        names = front.order(level)
        canon = front.moved(level, names)
        packed = front.pack(canon)
        front.old = np.union1d(front.old, packed)
        found: list[Codes] = []
        block = front.block()
        for start in range(0, len(level), CHUNK):
            if start % block == 0:
                ahead = slice(start, start + block)
                _prepare(front, canon[ahead], packed[ahead])
            part = slice(start, start + CHUNK)
            found.append(_chunk(front, names[part], packed[part]))
            check(len(run.keys))
            if progress is not None:
                progress(run.expanded, len(run.keys))
        # Both sorted, and disjoint (a key joins level_seen only when not in seen): a merge.
        front.seen = np.insert(
            front.seen, np.searchsorted(front.seen, front.level_seen), front.level_seen
        )
        front.level_seen = np.zeros(0, dtype=np.uint64)
        front.memo.clear()
        front.broken.clear()
        level = np.concatenate(found) if found else level[:0]


def _prepare(front: Frontier, canon: Codes, packed: Keys) -> None:
    """Work out the steps of the orbits (canonical forms ``canon``, packed: ``packed``) not
    met before in this level, all at once."""
    keys, first = np.unique(packed, return_index=True)
    listed = keys.tolist()
    unknown = [o for o, k in enumerate(listed) if k not in front.memo]
    if unknown:
        _steps(front, canon[first[unknown]], [listed[o] for o in unknown])


def _chunk(front: Frontier, names: Ints, packed: Keys) -> Codes:
    """Expand the next states in BFS order, given as their packed canonical forms ``packed``
    (whose orbits' steps :func:`_prepare` worked out) and the names (:meth:`Frontier.order`)
    that make them so; store the states they reach for the first time, and return those
    states' codes."""
    run, count = front.run, len(packed)
    base = run.expanded
    requests = len(run.requests)
    keys, which = np.unique(packed, return_inverse=True)
    which = which.reshape(-1)
    listed = keys.tolist()
    entries = [front.memo[k] for k in listed]
    where = np.argsort(names, axis=-1)  # name j has the column of canonical name where[j]
    breaks = np.array([e.breaks for e in entries], dtype=np.bool_)[which]
    if breaks.any():
        _violations(front, listed, entries, which, where, np.flatnonzero(breaks), base)
    # Only the steps that lead to another orbit than those found are renamed and packed (a
    # step that keeps the state, a refusal say, leads to a state found already): each
    # state's moving requests, on its own names, in BFS order.
    state, q, nxt = _moving(entries, which)
    r = front.retarget[q, names[state, front.target[q]]]  # the state's own request
    at = state * requests + r
    ordered = np.argsort(at, kind="stable")
    at, state, nxt = at[ordered], state[ordered], nxt[ordered]
    nxt = front.moved(nxt, where[state])
    if run.symmetry:  # only orbits are stored, each as its canonical form
        nxt = front.moved(nxt, front.order(nxt))
    packed = front.pack(nxt)
    reached, first = np.unique(packed, return_index=True)  # sorted: known() looks up in order
    fresh = ~front.known(reached)
    new_keys = reached[fresh]
    first = np.sort(first[fresh])  # each new state where it is first reached, in BFS order
    order, found = at[first], nxt[first]
    # Commit: the arrays grow together, then the chunk counts as expanded.
    run.edges += int(np.array([e.edges for e in entries], dtype=np.int64)[which].sum())
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


def _steps(front: Frontier, rows: Codes, new: list[int]) -> None:
    """Send every request from the canonical states ``rows`` (packed: ``new``): each provider
    (the arrays, the tables) fills in the requests it covers for all of them at once, and
    :mod:`.steps` the others (and those the arrays hand back) one state at a time; keep their
    next states as codes."""
    run = front.run
    front.tables.grow()
    count, requests = len(new), len(run.requests)
    succ = np.zeros((count, requests, front.slots), dtype=np.uint16)
    kind = np.zeros((count, requests), dtype=np.uint8)
    covered = np.zeros(requests, dtype=np.bool_)
    handed: list[int] = []
    broken: Broken = []
    for provider in front.providers:
        gave, broke = provider.fill(rows, succ, kind)
        covered |= provider.covers
        handed += gave
        broken += broke
    sent = np.union1d(np.flatnonzero(~covered), handed).astype(np.intp)
    broken += _per_state(front, rows, sent, succ, kind)
    for k in new:
        front.broken[k] = {}
    for i, r, clauses in broken:
        front.broken[new[i]][r] = clauses
    front.refresh_ranks()  # the steps may have met new records
    # A step that reaches an orbit found before this level (its own included) finds nothing;
    # a step that keeps the state, a refusal say, is one of those.
    edge = np.flatnonzero((kind & EDGE).reshape(-1))
    edge = edge[(succ.reshape(-1, front.slots)[edge] != rows[edge // requests]).any(axis=-1)]
    flat = succ.reshape(-1, front.slots)[edge]
    forms = front.pack(front.moved(flat, front.order(flat)))
    kind.reshape(-1)[edge[~_among(forms, front.old)]] |= np.uint8(MOVES)
    at, moving = np.nonzero(kind & MOVES)  # by state, then request: ascending
    cuts = np.cumsum(np.bincount(at, minlength=count))[:-1]
    parts = zip(np.split(moving, cuts), np.split(succ[at, moving], cuts), strict=True)
    for k, row, (requests_, codes) in zip(new, kind, parts, strict=True):
        front.memo[k] = Steps(row, requests_, codes)


def _per_state(
    front: Frontier, rows: Codes, sent: Ints, succ: Codes, kind: npt.NDArray[np.uint8]
) -> Broken:
    """Fill in the steps of the requests ``sent`` from the states ``rows``, state by state
    (:class:`.steps.PerState`); what they break."""
    only = sent.tolist()
    if not only:
        return []
    nxt: list[int] = []
    kinds: list[int] = []
    broken: Broken = []
    for i, key in enumerate(front.ints(rows)):
        results = front.steps.results(key, only)
        for r in only:
            n, b = results[r]
            nxt.append(n if n >= 0 else 0)
            kinds.append((EDGE if n >= 0 else 0) | (BREAKS if b else 0))
            if b:
                broken.append((i, r, b))
    count = len(rows)
    succ[:, sent] = front.rows(nxt).reshape(count, len(sent), front.slots)
    kind[:, sent] = np.array(kinds, dtype=np.uint8).reshape(count, len(sent))
    return broken


def _moving(entries: list[Steps], which: Ints) -> tuple[Ints, Ints, Codes]:
    """For each state (its orbit ``which``, an index into ``entries``), each of its orbit's
    moving requests: the state, the request (on canonical names), the next state's codes."""
    lengths = np.array([len(e.moving) for e in entries], dtype=np.intp)
    starts = np.cumsum(lengths) - lengths
    per_state = lengths[which]
    state = np.repeat(np.arange(len(which)), per_state)
    within = np.arange(len(state)) - np.repeat(np.cumsum(per_state) - per_state, per_state)
    index = starts[which[state]] + within
    requests = np.concatenate([e.moving for e in entries])[index]
    succ = np.concatenate([e.succ for e in entries])[index]
    return state, requests, succ


def _among(keys: Keys, sorted_keys: Keys) -> npt.NDArray[np.bool_]:
    """Which of ``keys`` (any shape) are in the sorted array ``sorted_keys``."""
    if not len(sorted_keys):
        return np.zeros(keys.shape, dtype=np.bool_)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found: npt.NDArray[np.bool_] = sorted_keys[at] == keys
    return found


def _violations(
    front: Frontier,
    listed: list[int],
    entries: list[Steps],
    which: Ints,
    where: Ints,
    states: Ints,
    base: int,
) -> None:
    """Record what the steps of this chunk from ``states`` (those whose orbit breaks
    something) break, in BFS order, as the search state by state does (the first step to
    break a property gives its trace)."""
    run = front.run
    requests = len(run.requests)
    # Request r to name j is, in canonical names, request retarget[r][where[j]].
    sent = front.retarget[np.arange(requests), where[states][:, front.target]]
    kinds = np.stack([e.kind for e in entries])[which[states][:, None], sent]
    for i, r in zip(*np.nonzero(kinds & BREAKS), strict=True):
        clauses = front.broken[listed[which[states[i]]]][int(sent[i, r])]
        if any(c.name not in run.violations for c in clauses):
            run.record(base + int(states[i]), run.requests[int(r)], clauses)
