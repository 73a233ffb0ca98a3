"""What one request can do toward a goal: the record a proof fills in and a search reads.

A goal is a conjunction (:func:`mostate.rules.conjuncts`). A search for the shortest way to it
can leave work out when it knows, of the requests it sends,

* which conjuncts a request of each operation can never make true (from false), when it is sent
  to the goal's own instance and when it is sent anywhere else;
* which pairs of conjuncts no one request makes true together.

:mod:`mostate.symbolic.progress` proves such facts from the spec, for any number of instances.
A :class:`Progress` lists only what was *proved*: a fact the solver could not decide, or that
nobody asked about, is left out, and the empty record (``Progress(size)``) promises nothing. So
whatever it holds is true of every step, and what a search derives from it is sound:

* :meth:`Progress.groups` links the conjuncts that one request might make true together; a group
  is *done* when all its conjuncts hold. One request completes at most one group (completing two
  would take making one conjunct of each true at once, which is proved impossible across
  groups). So :meth:`Progress.estimate`, the number of groups not done, never exceeds the
  requests still needed and drops by at most one per request: an estimate that is *consistent*,
  as :func:`mostate.bfs.guided` requires.
* :meth:`Progress.may_advance` says whether a request may make one of the given conjuncts true;
  a request that cannot leaves every unfinished group unfinished.

This module, like the engine, imports nothing beyond attrs and the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class Progress:
    """Proved facts about a goal of ``size`` conjuncts (numbered from 0, left to right).

    >>> p = Progress(3, cannot=frozenset({("add", True, 0)}), apart=frozenset({(0, 1), (0, 2)}))
    >>> p.groups()
    ((0,), (1, 2))
    >>> p.estimate([False, True, False]), p.estimate([True, True, True])
    (2, 0)
    >>> p.may_advance("add", True, [0]), p.may_advance("add", False, [0])
    (False, True)
    """

    size: int
    cannot: frozenset[tuple[str, bool, int]] = frozenset()
    """(operation, sent to the goal's instance, conjunct): no such request makes it true."""
    apart: frozenset[tuple[int, int]] = frozenset()
    """(a, b) with a < b: no one request makes both conjuncts true."""
    unproved: tuple[str, ...] = ()
    """What the proof asked and could not decide, said for a person (the facts left out)."""
    goal: str = ""
    """The goal's text the facts were proved of (a planner refuses them for another goal)."""

    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The conjuncts in groups: two are in one group when a chain of pairs not proved
        apart links them (the connected components), each group in order, by its first."""
        group = list(range(self.size))

        def root(k: int) -> int:
            while group[k] != k:
                k = group[k]
            return k

        for a in range(self.size):
            for b in range(a + 1, self.size):
                if (a, b) not in self.apart:
                    group[root(b)] = root(a)
        out: dict[int, list[int]] = {}
        for k in range(self.size):
            out.setdefault(root(k), []).append(k)
        return tuple(tuple(members) for members in sorted(out.values()))

    def estimate(self, met: Sequence[bool]) -> int:
        """How many groups have a conjunct that does not hold (``met``: each conjunct's value):
        a lower bound on the requests from that state to the goal."""
        return sum(1 for members in self.groups() if not all(met[k] for k in members))

    def may_advance(self, op: str, on_target: bool, unmet: Iterable[int]) -> bool:
        """Whether a request of ``op`` (sent to the goal's instance or not) may make one of the
        conjuncts ``unmet`` true."""
        return any((op, on_target, k) not in self.cannot for k in unmet)
