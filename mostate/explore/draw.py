"""A picture of an exploration: states in layers by distance from the empty device, coloured by
the instance the device uses, with user and server steps told apart.

Which instance is in use is asked of the spec itself (its ``in_use`` query, through the engine),
never worked out here. matplotlib is needed only for drawing; it is imported when called.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import networkx as nx

from ..frozenmap import FrozenMap
from ..model import EMPTY_PARAMS, FLAGS, DeviceState, Request, Role, Service, Status, flag_values
from .explorer import Exploration
from .plan import Goal

if TYPE_CHECKING:  # matplotlib is an optional dependency (the test extras install it)
    from matplotlib.axes import Axes

_PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")
_NONE_COLOUR = "#D0D0D0"
_EDGE_STYLES: dict[frozenset[Role], tuple[str, str, str]] = {
    frozenset({Role.SERVER}): ("#303030", "solid", "server only"),
    frozenset({Role.USER}): ("#2A9D8F", "dashed", "user only"),
    frozenset({Role.USER, Role.SERVER}): ("#9A9A9A", "solid", "user and server"),
}


def in_use(run: Exploration, state: DeviceState, service: str, query: str = "in_use") -> str | None:
    """The answer of the spec's ``query`` (default ``in_use``) on ``state``, or None.

    >>> from mostate import Engine, load_spec
    >>> from mostate.explore import explore, ExploreScope
    >>> run = explore(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> in_use(run, DeviceState.from_json({"MMS": {"i1": {"default": True}}}), "MMS")
    'i1'
    """
    if query not in run.engine.spec.ops:
        return None
    request = Request.from_json({"actor": "server", "op": query, "service": service})
    outcome = run.engine.apply(state, request)
    return outcome.result if isinstance(outcome.result, str) else None


def step_graph(run: Exploration, *, flags_only: bool = False) -> nx.DiGraph[DeviceState]:
    """The executed steps between distinct states, each edge with the set of roles that take it
    (refusals and queries, which lead back to the same state, are left out). ``flags_only``
    merges states that differ only in parameters, for a readable picture."""

    def node(state: DeviceState) -> DeviceState:
        return _without_params(state) if flags_only else state

    simple: nx.DiGraph[DeviceState] = nx.DiGraph()
    for state in run.graph.nodes:
        depth = run.depths.get(state, 0)
        key = node(state)
        if key not in simple or simple.nodes[key]["layer"] > depth:
            simple.add_node(key, layer=depth)
    for u, v, request, data in run.graph.edges(keys=True, data=True):
        a, b = node(u), node(v)
        if a == b or data.get("status") != Status.OK:
            continue
        roles = simple.edges[a, b]["roles"] if simple.has_edge(a, b) else frozenset()
        simple.add_edge(a, b, roles=roles | {request.actor.role})
    return simple


def _without_params(state: DeviceState) -> DeviceState:
    return DeviceState(
        FrozenMap(
            (
                name,
                Service(
                    FrozenMap(
                        (n, attrs.evolve(i, params=EMPTY_PARAMS)) for n, i in svc.instances.items()
                    )
                ),
            )
            for name, svc in state.services.items()
        )
    )


PATH_COLOUR = "#C0392B"


def shortest_path(run: Exploration, goal: Goal) -> list[DeviceState]:
    """The states from the empty device to the nearest state where ``goal`` holds, or [].

    >>> from mostate import Engine, load_spec
    >>> from mostate.explore import explore, ExploreScope
    >>> run = explore(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> goal = Goal.parse("any(i, active(i) and locked(i))")
    >>> [_label(s, "MMS") for s in shortest_path(run, goal)]
    ['empty', 'i1', 'i1:A', 'i1:AL']
    """
    reached = [s for s in run.graph if goal.holds(s)]
    if not reached:
        return []
    nearest = min(reached, key=lambda s: (run.depths.get(s, 0), _label(s, goal.service)))
    trace = run.trace_to(nearest)
    states = [trace.start or DeviceState()]
    for request in trace.requests:
        states.append(run.engine.apply(states[-1], request).state)
    return states


def draw_states(
    run: Exploration,
    service: str = "MMS",
    ax: Axes | None = None,
    *,
    labels: bool = False,
    flags_only: bool = False,
    highlight: Sequence[DeviceState] = (),
    highlight_label: str = "the path in the text",
    font_size: float = 10,
) -> Axes:
    """Draw the state graph of ``run`` on ``ax`` (a new figure when None) and return the axes.

    States stand in columns by their distance from the empty device (numbered at the top), each
    labelled with its flags when ``labels``; ``highlight`` is a path of states drawn over the
    rest in red, as the notebook and the README show the shortest way into a state. A label
    such as ``i1:AD i2`` reads "i1 is Active and Default, i2 exists with no flag" (the legend
    says so); ``font_size`` is the labels' size in points."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("drawing needs matplotlib: pip install matplotlib") from err
    graph = step_graph(run, flags_only=flags_only)
    pos = nx.multipartite_layout(graph, subset_key="layer")
    path = [_without_params(s) if flags_only else s for s in highlight]
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 7))
    names = sorted(run.scope.names)
    colour_of = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}
    colours = [colour_of.get(in_use(run, s, service) or "", _NONE_COLOUR) for s in graph]
    handles = _draw_edges(ax, graph, pos)
    handles += _draw_path(ax, graph, pos, path, highlight_label)
    nx.draw_networkx_nodes(
        graph, pos, ax=ax, node_color=colours, node_size=120, linewidths=0.5, edgecolors="#404040"
    )
    _ring_path(ax, graph, pos, path)
    if labels:
        _draw_labels(ax, graph, pos, service, font_size)
    _number_columns(ax, graph, pos)
    key = _colour_key(colour_of, labels)
    ax.legend(handles=handles + key, loc="lower left", fontsize=font_size, frameon=False)
    what = "flag states" if flags_only else "states"
    ax.set_title(
        f"{len(graph)} {what} of {service}; each column is the number of requests from the "
        "empty device",
        pad=24,
    )
    ax.set_axis_off()
    return ax


FLAG_KEY = (
    "labels: A Active, D Default, L Locked\n"
    "(i1:AD = i1 is Active and Default;\n i2 = i2 exists, no flag)"
)
"""The legend's key to the labels' letters."""


def _draw_edges(ax: Axes, graph: nx.DiGraph[DeviceState], pos: dict[Any, Any]) -> list[Any]:
    """The steps, styled by who may take them; the legend's entries for the styles shown."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    for roles, (colour, style, label) in _EDGE_STYLES.items():
        edges = [(u, v) for u, v, r in graph.edges(data="roles") if r == roles]
        if not edges:  # the legend lists only what the picture shows
            continue
        nx.draw_networkx_edges(
            graph, pos, edgelist=edges, ax=ax, edge_color=colour, style=style, alpha=0.6,
            arrowsize=8, node_size=120,
        )  # fmt: skip
        handles.append(Line2D([0], [0], color=colour, linestyle=style, label=label))  # type: ignore[arg-type]  # style is one of matplotlib's literals
    return handles


def _draw_path(
    ax: Axes,
    graph: nx.DiGraph[DeviceState],
    pos: dict[Any, Any],
    path: list[DeviceState],
    label: str,
) -> list[Any]:
    """The highlighted path's steps, drawn over the rest; its legend entry, if it has any."""
    from matplotlib.lines import Line2D

    steps = [(u, v) for u, v in itertools.pairwise(path) if graph.has_edge(u, v)]
    if not steps:
        return []
    nx.draw_networkx_edges(
        graph, pos, edgelist=steps, ax=ax, edge_color=PATH_COLOUR, width=2.8, arrowsize=14,
        node_size=220,
    )  # fmt: skip
    return [Line2D([0], [0], color=PATH_COLOUR, linewidth=2.8, label=label)]


def _ring_path(
    ax: Axes, graph: nx.DiGraph[DeviceState], pos: dict[Any, Any], path: list[DeviceState]
) -> None:
    """A ring around each state of the highlighted path."""
    on_path = [s for s in path if s in graph]
    if on_path:
        nx.draw_networkx_nodes(
            graph, pos, nodelist=on_path, ax=ax, node_size=220, node_color="none",
            linewidths=2.2, edgecolors=PATH_COLOUR,
        )  # fmt: skip


def _draw_labels(
    ax: Axes, graph: nx.DiGraph[DeviceState], pos: dict[Any, Any], service: str, size: float
) -> None:
    """Each state's flags, just above it, ``size`` points high."""
    above = {s: (x, y + 0.045) for s, (x, y) in pos.items()}
    nx.draw_networkx_labels(
        graph,
        above,
        ax=ax,
        font_size=size,
        labels={s: _label(s, service) for s in graph},
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
    )


def _colour_key(colour_of: dict[str, str], labels: bool) -> list[Any]:
    """The legend's entries for the colour of each instance in use, and of none; with
    ``labels``, the key to the labels' letters."""
    from matplotlib.lines import Line2D

    handles: list[Any] = [
        Line2D([0], [0], marker="o", linestyle="", color=c, label=f"{name} in use")
        for name, c in colour_of.items()
    ]
    handles.append(
        Line2D([0], [0], marker="o", linestyle="", color=_NONE_COLOUR, label="none in use")
    )
    if labels:
        handles.append(Line2D([], [], linestyle="", label=FLAG_KEY))
    return handles


def _number_columns(ax: Axes, graph: nx.DiGraph[DeviceState], pos: dict[Any, Any]) -> None:
    """The distance of each column from the empty device, written above it."""
    top = max(y for _, y in pos.values()) + 0.16
    columns: dict[int, float] = {}
    for state, (x, _) in pos.items():
        columns[graph.nodes[state]["layer"]] = x
    for layer, x in sorted(columns.items()):
        ax.text(x, top, str(layer), ha="center", fontsize=10, fontweight="bold", color="#404040")


def _label(state: DeviceState, service: str) -> str:
    parts = []
    for name, inst in state.service(service).instances.items():
        flags = "".join(f[0].upper() for f, on in zip(FLAGS, flag_values(inst), strict=True) if on)
        parts.append(f"{name}{':' + flags if flags else ''}")
    return " ".join(parts) or "empty"
