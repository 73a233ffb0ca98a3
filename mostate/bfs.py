"""The one breadth-first search: states found in order, behind a successor function.

A :class:`Search` holds what every breadth-first walk of mostate keeps: the states found, in the
order found (index 0 first), each one's parent, the index of the action that reached it (into
the caller's alphabet) and its depth, compactly (arrays of ints beside one list and one set).
:func:`walk` expands them in order, asking a successor function for each state's next states;
it knows nothing else of the language. The explorer (whose states are the ints of
:mod:`mostate.explore.encoding`, whose successors come from tables, arrays or the engine),
plans, campaigns and the conformance kit's scope walk all run here. :func:`guided` runs
:func:`walk` with a bound that a lower estimate of the distance to a goal keeps: the same first
goal, found while leaving out what cannot lead to it within the bound.

Like the engine, this module imports nothing beyond the standard library.

Why :func:`guided` finds :func:`walk`'s first goal, by the same actions. Its ``estimate`` (h)
is *consistent*: h(s) <= 1 + h(t) for every action s -> t, and h(s) == 0 when ``goal(s)``.
(Then it is a lower bound: summed along any path to a goal, h(s) never exceeds the actions
left.) Let g be walk's first goal, at depth d, and call a state *within* a bound b when
depth + h <= b, its depth being walk's.

1. A walk within b < d finds no goal: every state it keeps is one of walk's at the same
   depth (3.), and walk meets no goal shallower than d.
2. Every state on walk's path to g is within d: at depth i, d - i actions from g, its h is at
   most d - i.
3. A walk within b keeps exactly walk's states within b, each at walk's depth, found from
   walk's parent of it by the same action, in walk's order. By induction on walk's order:
   a state t within b has h(t) >= h(p) - 1 for walk's parent p, so depth(p) + h(p) <=
   depth(t) + h(t) <= b, and p is within b; it was kept, and expanded before any other
   kept parent of t (walk expands them in that same order, and found t first from p).
4. ``tight`` leaves out only what 3. would drop: from a state with depth + h == b, a next
   state is kept only when its h is lower, which an action that cannot lower h never gives.
5. So the walk within d keeps walk's path to g, and no goal walk finds before g (each
   would be walk's goal before g); its first goal is g, by walk's actions. A walk within
   b < d that left nothing out kept all of walk's states and found no goal: then walk finds
   none either, and None is the answer.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)

Successors = Callable[[int, S], Iterable[tuple[int, S]]]
"""The next states of the state at an index, each with the index of the action that reaches it,
in the order they should be found."""


class Stop(Exception):
    """A walk stopped before it was done; the message says why (``max states``...)."""


class Search(Generic[S]):
    """The states one breadth-first walk has found (not a value: it grows).

    >>> search = Search(["a"])
    >>> walk(search, lambda i, s: [(0, s + "b"), (1, s + "c")] if len(s) < 2 else [])
    >>> search.states, list(search.depth), search.path(2)
    (['a', 'ab', 'ac'], [0, 1, 1], [1])
    """

    def __init__(self, starts: Iterable[S] = ()) -> None:
        self.states: list[S] = []
        self.seen: set[S] = set()
        self.parent = array("i")
        """Each state's parent index (-1 for a start)."""
        self.via = array("i")
        """The index of the action that reached each state (-1 for a start)."""
        self.depth = array("i")
        self.expanded = 0
        """How many states (the first ones) had their successors asked."""
        self._positions: dict[S, int] = {}
        for start in starts:
            self.add(start, -1, -1)

    def add(self, state: S, parent: int, via: int) -> bool:
        """Keep ``state``, reached from the state at ``parent`` by action ``via``, unless it
        was found before; whether it is new."""
        if state in self.seen:
            return False
        self.seen.add(state)
        self.states.append(state)
        self.parent.append(parent)
        self.via.append(via)
        self.depth.append(self.depth[parent] + 1 if parent >= 0 else 0)
        return True

    def position(self, state: S) -> int:
        """The index of a state found (KeyError if none): built on first use, as a walk needs
        no such map (a set is smaller than a dict)."""
        positions, states = self._positions, self.states
        for i in range(len(positions), len(states)):
            positions[states[i]] = i
        return positions[state]

    def path(self, index: int) -> list[int]:
        """The actions from a start to the state at ``index``."""
        out: list[int] = []
        while self.parent[index] >= 0:
            out.append(self.via[index])
            index = self.parent[index]
        out.reverse()
        return out

    def steps(self, index: int) -> list[tuple[int, int]]:
        """The (state index, action) pairs from a start to the state at ``index``."""
        out: list[tuple[int, int]] = []
        while self.parent[index] >= 0:
            out.append((self.parent[index], self.via[index]))
            index = self.parent[index]
        out.reverse()
        return out


def walk(
    search: Search[S],
    successors: Successors[S],
    *,
    goal: Callable[[S], bool] | None = None,
    check: Callable[[int], None] | None = None,
    every: int = 1,
) -> int | None:
    """Expand the states of ``search`` not yet expanded, in the order found, keeping each next
    state found for the first time. ``goal``: the index of the first state found (a start
    included) that satisfies it, when one is; ``check``: called with the number of states found
    after every ``every`` expansions (it raises :class:`Stop` to end the walk, which leaves
    ``search`` whole).

    >>> search = Search([1])
    >>> walk(search, lambda i, n: [(0, n + 1), (1, 2 * n)], goal=lambda n: n == 6)
    4
    >>> search.states[4], search.path(4)
    (6, [0, 0, 1])
    """
    if goal is not None:
        for index in range(search.expanded, len(search.states)):
            if goal(search.states[index]):
                return index
    while search.expanded < len(search.states):
        index = search.expanded
        for via, state in successors(index, search.states[index]):
            if search.add(state, index, via) and goal is not None and goal(state):
                return len(search.states) - 1  # the state at ``index`` is expanded in part
        search.expanded += 1
        if check is not None and search.expanded % every == 0:
            check(len(search.states))
    return None


def guided(
    start: S,
    successors: Successors[S],
    estimate: Callable[[S], int],
    *,
    goal: Callable[[S], bool],
    tight: Successors[S] | None = None,
    check: Callable[[int], None] | None = None,
) -> tuple[Search[S], int | None]:
    """The search and the index of the first goal state :func:`walk` finds from ``start``
    (None: no goal is reachable), found by walks that keep a state only when its depth plus
    its ``estimate`` is within a bound: first the start's estimate, then one more each time a
    walk ends without a goal and left something out.

    ``estimate`` (h) must be *consistent*: h(s) <= 1 + h(t) for every action s -> t, and
    h(s) == 0 when ``goal(s)``; then the answer is :func:`walk`'s, action for action (the
    module's docstring says why).
    ``check``: called by each walk as :func:`walk` calls it. A goal out of reach is known only
    when the bound passes the deepest state, each walk repeating the last: a caller bounds the
    whole search by counting the successors it gives. ``tight``: the
    successors to try from a state whose depth plus estimate already equals the
    bound, where only a next state with a lower estimate can be kept; a provider that knows
    which actions cannot lower it leaves them out. The walks repeat the shallow levels, so the
    search pays when the estimate prunes much (a goal of several independent parts), and costs
    more than :func:`walk` when it prunes little.

    On a grid, toward (3, 2), with the taxicab distance as the estimate:

    >>> moves = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    >>> succ = lambda i, p: [(m, (p[0] + dx, p[1] + dy)) for m, (dx, dy) in enumerate(moves)]
    >>> goal = lambda p: p == (3, 2)
    >>> plain = Search([(0, 0)])
    >>> plain.path(walk(plain, succ, goal=goal)), len(plain.states)
    ([0, 0, 0, 1, 1], 45)
    >>> search, found = guided((0, 0), succ, lambda p: abs(3 - p[0]) + abs(2 - p[1]), goal=goal)
    >>> search.path(found), len(search.states)
    ([0, 0, 0, 1, 1], 12)
    """
    bound = estimate(start)
    while True:
        search, reached, left_out = _within(start, successors, estimate, tight, bound, goal, check)
        if reached is not None or not left_out:
            return search, reached
        bound += 1


def _within(
    start: S,
    successors: Successors[S],
    estimate: Callable[[S], int],
    tight: Successors[S] | None,
    bound: int,
    goal: Callable[[S], bool],
    check: Callable[[int], None] | None,
) -> tuple[Search[S], int | None, bool]:
    """One walk of :func:`guided` within ``bound``: the search, its first goal, and whether it
    left a state out (a bound one higher might find more)."""
    search: Search[S] = Search([start])
    left_out = False

    def kept(index: int, state: S) -> Iterator[tuple[int, S]]:
        nonlocal left_out
        depth = search.depth[index] + 1
        narrow = tight is not None and depth - 1 + estimate(state) == bound
        for via, found in (tight if narrow and tight else successors)(index, state):
            if found in search.seen:
                continue
            if depth + estimate(found) <= bound:
                yield via, found
            else:
                left_out = True
        left_out = left_out or narrow

    reached = walk(search, kept, goal=goal, check=check)
    return search, reached, left_out
