"""Writing an exploration's graph for other tools: Graphviz DOT, GraphML and node-link JSON.

States become numbered nodes (``s0`` is the empty device) carrying their JSON form; edges carry
the request (JSON), the status and the properties the step breaks. Nothing here reads the graph
back: it is for people and their tools.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx

from ..model import FLAGS, DeviceState, Request, flag_values
from .explorer import Exploration

FORMATS = (".dot", ".graphml", ".json")


def _plain(run: Exploration) -> nx.MultiDiGraph[str]:
    ids = {state: f"s{n}" for n, state in enumerate(sorted(run.graph, key=run.depths.__getitem__))}
    out: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for state, name in ids.items():
        out.add_node(name, state=json.dumps(state.to_json()), depth=run.depths[state])
    for a, b, request, data in run.graph.edges(keys=True, data=True):
        out.add_edge(
            ids[a],
            ids[b],
            request=json.dumps(request.to_json()),
            status=data["status"],
            violations=",".join(data.get("violations", ())),
        )
    return out


def _label(state: DeviceState) -> str:
    parts = []
    for sname, service in state.services.items():
        for name, inst in service.instances.items():
            flags = "".join(
                f[0].upper() for f, on in zip(FLAGS, flag_values(inst), strict=True) if on
            )
            params = ",".join(f"{k}={v}" for k, v in inst.params.items())
            parts.append(f"{sname}/{name}:{flags or '-'}{' ' + params if params else ''}")
    return "\\n".join(parts) or "(empty)"


def _edge_label(request: Request, status: int) -> str:
    args = " ".join(f"{k}={v}" for k, v in request.args.items())
    target = f" {request.instance}" if request.instance else ""
    return f"{request.actor.role.value} {request.op}{target} {args} -> {status}".replace("  ", " ")


def to_dot(run: Exploration) -> str:
    """The graph in Graphviz DOT (steps that break a property in red).

    >>> from mostate import Engine, load_spec
    >>> from mostate.explore import ExploreScope, explore
    >>> to_dot(explore(Engine(load_spec()), ExploreScope(instances=1, values=1))).splitlines()[0]
    'digraph explore {'
    """
    ids = {state: f"s{n}" for n, state in enumerate(sorted(run.graph, key=run.depths.__getitem__))}
    out = io.StringIO()
    out.write("digraph explore {\n  node [shape=box, fontname=monospace];\n")
    for state, name in ids.items():
        out.write(f'  {name} [label="{_label(state)}"];\n')
    for a, b, request, data in run.graph.edges(keys=True, data=True):
        colour = ", color=red" if data.get("violations") else ""
        label = _edge_label(request, data["status"]).replace('"', '\\"')
        out.write(f'  {ids[a]} -> {ids[b]} [label="{label}"{colour}];\n')
    out.write("}\n")
    return out.getvalue()


def graph_text(run: Exploration, path: str | Path) -> str:
    """The graph in the format the file's suffix names (one of :data:`FORMATS`)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".dot":
        return to_dot(run)
    if suffix == ".graphml":
        buffer = io.BytesIO()
        nx.write_graphml(_plain(run), buffer)
        return buffer.getvalue().decode("utf-8")
    if suffix == ".json":
        data = nx.node_link_data(_plain(run), edges="edges")
        return json.dumps(data, indent=1)
    raise ValueError(f"{path}: the graph file must end with one of {', '.join(FORMATS)}")
