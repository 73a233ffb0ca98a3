"""bfs.guided finds walk's first goal by the same actions, on any graph, with any consistent
estimate; an estimate that is not consistent can lead it astray (so the promise rests on it)."""

from __future__ import annotations

from collections import deque

from hypothesis import example, given
from hypothesis import strategies as st

from mostate.bfs import Search, guided, walk

Graph = list[list[int]]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Graph, frozenset[int]]:
    """A directed graph on 1 to 25 nodes (node 0 the start), each with up to 4 actions, and a
    set of goal nodes (perhaps none reachable)."""
    n = draw(st.integers(1, 25))
    edges = [draw(st.lists(st.integers(0, n - 1), max_size=4)) for _ in range(n)]
    goals = draw(st.frozensets(st.integers(0, n - 1), max_size=3))
    return edges, goals


def distances(edges: Graph, goals: frozenset[int]) -> list[int | None]:
    """Each node's distance to the nearest goal (None: no goal reachable), backwards."""
    back: list[list[int]] = [[] for _ in edges]
    for node, targets in enumerate(edges):
        for target in targets:
            back[target].append(node)
    out: list[int | None] = [0 if k in goals else None for k in range(len(edges))]
    queue = deque(k for k in goals)
    while queue:
        node = queue.popleft()
        for prev in back[node]:
            if out[prev] is None:
                out[prev] = out[node] + 1  # type: ignore[operator]
                queue.append(prev)
    return out


def consistent(dist: list[int | None], kind: int, slack: int) -> list[int]:
    """A consistent estimate made from the distances: the distance itself, half of it, or it
    less ``slack``; nodes that reach no goal get more than any other (any value is a lower
    bound there, and none may rise by more than one along an edge into them)."""
    finite = [d for d in dist if d is not None]
    scaled = [None if d is None else (d, d // 2, max(0, d - slack))[kind] for d in dist]
    top = max(finite, default=0) + slack
    return [top if s is None else s for s in scaled]


@given(graphs(), st.integers(0, 2), st.integers(0, 3), st.booleans())
# A chain whose halved distances leave the start no slack at the first bound: the narrowed walk
# keeps nothing past the bound, and must still raise it (it left actions out).
@example(([[1], [2], []], frozenset({2})), 1, 0, True)
def test_guided_finds_the_goal_walk_finds_by_the_same_actions(
    graph: tuple[Graph, frozenset[int]], kind: int, slack: int, narrowed: bool
) -> None:
    edges, goals = graph
    h = consistent(distances(edges, goals), kind, slack)

    def succ(_: int, node: int) -> list[tuple[int, int]]:
        return list(enumerate(edges[node]))

    def lowering(_: int, node: int) -> list[tuple[int, int]]:
        return [(a, t) for a, t in enumerate(edges[node]) if h[t] < h[node]]

    plain = Search([0])
    first = walk(plain, succ, goal=goals.__contains__)
    search, found = guided(
        0, succ, h.__getitem__, goal=goals.__contains__, tight=lowering if narrowed else None
    )
    assert (found is None) == (first is None)
    if first is not None and found is not None:
        assert search.states[found] == plain.states[first]
        assert search.path(found) == plain.path(first)
        assert len(search.states) <= len(plain.states)


def test_an_estimate_that_is_not_consistent_can_give_a_longer_path() -> None:
    # 0 -> 1 -> 3 (goal) and 0 -> 2 -> 4 -> 3: an estimate that overrates node 1 hides the
    # short way until the bound has grown past the long one.
    edges = [[1, 2], [3], [4], [], [3]]
    h = [0, 5, 0, 0, 0]

    def succ(_: int, node: int) -> list[tuple[int, int]]:
        return list(enumerate(edges[node]))

    search, found = guided(0, succ, h.__getitem__, goal=lambda n: n == 3)
    assert found is not None and len(search.path(found)) == 3
    plain = Search([0])
    assert len(plain.path(walk(plain, succ, goal=lambda n: n == 3) or 0)) == 2
