"""The state picture: what it draws comes from the exploration and the spec's own answers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from mostate import DeviceState, Engine, Role, load_spec
from mostate.explore import ExploreScope, draw_states, explore, in_use, step_graph

RUN = explore(Engine(load_spec()), ExploreScope(instances=2, values=1))


def test_step_graph_keeps_only_executed_steps_between_distinct_states() -> None:
    graph = step_graph(RUN)
    assert set(graph) == set(RUN.graph)
    assert all(u != v for u, v in graph.edges)
    assert all(
        roles <= {Role.USER, Role.SERVER} and roles for _, _, roles in graph.edges(data="roles")
    )
    # the server can lock; the user never can, so some edges are the server's alone
    assert any(roles == {Role.SERVER} for _, _, roles in graph.edges(data="roles"))


def test_flags_only_merges_states_that_differ_in_parameters() -> None:
    merged = step_graph(RUN, flags_only=True)
    assert 1 < len(merged) < len(step_graph(RUN))
    assert all(
        not i.params for s in merged for svc in s.services.values() for i in svc.instances.values()
    )


def test_in_use_asks_the_spec() -> None:
    state = DeviceState.from_json({"MMS": {"i1": {"default": True}, "i2": {"active": True}}})
    assert in_use(RUN, state, "MMS") == "i2"
    assert in_use(RUN, DeviceState(), "MMS") is None


def test_draw_returns_axes_with_a_node_per_state() -> None:
    fig, ax = plt.subplots()
    drawn = draw_states(RUN, "MMS", ax, labels=True, flags_only=True)
    assert drawn is ax and "flag states" in ax.get_title()
    plt.close(fig)


def test_the_shortest_path_ends_at_the_nearest_state_of_the_goal() -> None:
    from mostate.explore import Goal, shortest_path

    goal = Goal.parse("any(i, active(i) and default(i) and locked(i))")
    path = shortest_path(RUN, goal)
    nearest = min(RUN.depths[s] for s in RUN.graph if goal.holds(s))
    assert path[0] == DeviceState() and goal.holds(path[-1])
    assert len(path) - 1 == nearest and not any(goal.holds(s) for s in path[:-1])
    assert shortest_path(RUN, Goal.parse("count(i, active(i)) == 2")) == []  # unreachable


def test_the_picture_numbers_its_columns_highlights_the_path_and_its_legend_matches() -> None:
    from mostate.explore import Goal, shortest_path

    path = shortest_path(RUN, Goal.parse("any(i, active(i) and locked(i))"))
    fig, ax = plt.subplots()
    draw_states(RUN, "MMS", ax, flags_only=True, highlight=path, highlight_label="the way")
    texts = {t.get_text() for t in ax.texts}
    depth = max(
        step_graph(RUN, flags_only=True).nodes[s]["layer"] for s in step_graph(RUN, flags_only=True)
    )
    assert {str(n) for n in range(depth + 1)} <= texts  # every column numbered
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "the way" in legend
    # Only edge kinds the picture has: the user can never lock, so "user only" steps exist
    # only if the spec lets the user do something the server cannot.
    kinds = {frozenset(r) for _, _, r in step_graph(RUN, flags_only=True).edges(data="roles")}
    shown = {"server only", "user only", "user and server"} & set(legend)
    assert len(shown) == len(kinds)
    plt.close(fig)
