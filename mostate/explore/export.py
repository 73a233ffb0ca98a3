"""An edge-complete conformance suite: one shortest trace per transition of an exploration.

For every edge of the graph (a state, a request, and what the spec answers), one trace file
leads from the empty device along the BFS tree to the state, then sends the request. Every line
carries ``"expect"``: the status, the state and (for queries) the result the engine answers,
through :meth:`Engine.apply <mostate.engine.Engine.apply>` exactly as ``mostate check`` runs it.
A device vendor runs ``mostate check`` (or their own harness) over the directory and covers
every behaviour the spec allows in scope.

A trace whose way to its state passes through a step that breaks a property cannot be run on a
device that keeps the spec (the engine refuses that step with 500), so such transitions are
counted as skipped instead of written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import attrs

from ..model import DeviceState, Outcome, Request
from .explorer import Exploration
from .symmetry import canonical, inverse, rename_request


@attrs.frozen
class ExportSummary:
    """How many traces and requests a suite holds, and how many transitions it left out."""

    traces: int
    requests: int
    skipped: int


@attrs.frozen
class _Prefix:
    lines: tuple[str, ...]
    state: DeviceState
    clean: bool


def expected_line(request: Request, outcome: Outcome) -> str:
    """One line of a conformance trace: the request with what the device must answer.

    >>> from mostate import Actor, Clause, Status
    >>> r = Request(Actor.user(), "get_active", "MMS")
    >>> line = expected_line(r, Outcome(Status.OK, DeviceState(), Clause("query", "get_active")))
    >>> json.loads(line)["expect"]
    {'status': 200, 'state': {}, 'result': None}
    """
    answer = outcome.to_json()
    expect = {"status": answer["status"], "state": answer["state"], "result": answer["result"]}
    return json.dumps({**request.to_json(), "expect": expect})


def conformance_traces(run: Exploration) -> Iterator[tuple[str, ...] | None]:
    """For every edge of the graph, its trace's lines; ``None`` for an edge that cannot be run
    on a device that keeps the spec (see the module docstring)."""
    prefixes: dict[DeviceState, _Prefix] = {}
    for state in sorted(run.graph, key=run.depths.__getitem__):
        prefix = _prefix(run, prefixes, state)
        prefixes[state] = prefix
        renaming = canonical(prefix.state, run.scope.names)[1] if run.symmetry else {}
        back = inverse(renaming)
        for _, _, request in run.graph.out_edges(state, keys=True):
            if not prefix.clean:
                yield None
                continue
            real = rename_request(request, back)
            outcome = run.engine.apply(prefix.state, real)
            yield (*prefix.lines, expected_line(real, outcome))


def _prefix(run: Exploration, prefixes: dict[DeviceState, _Prefix], state: DeviceState) -> _Prefix:
    parent = run.parents[state]
    if parent is None:
        return _Prefix((), DeviceState(), True)
    before = prefixes[parent[0]]
    renaming = canonical(before.state, run.scope.names)[1] if run.symmetry else {}
    real = rename_request(parent[1], inverse(renaming))
    step = run.engine.evaluate(before.state, real)
    outcome = run.engine.apply(before.state, real)
    line = expected_line(real, outcome)
    clean = before.clean and not step.violations
    return _Prefix((*before.lines, line), step.outcome.state, clean)


def export_traces(run: Exploration, directory: str | Path) -> ExportSummary:
    """Write ``trace-NNNNNN.jsonl`` files into ``directory`` (created if missing).

    >>> import tempfile
    >>> from mostate import Engine, load_spec
    >>> from mostate.explore import ExploreScope, explore
    >>> run = explore(Engine(load_spec()), ExploreScope(instances=1, values=1))
    >>> with tempfile.TemporaryDirectory() as out:
    ...     summary = export_traces(run, out)
    >>> summary.traces == run.stats.edges, summary.skipped
    (True, 0)
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    traces = requests = skipped = 0
    for lines in conformance_traces(run):
        if lines is None:
            skipped += 1
            continue
        traces += 1
        requests += len(lines)
        name = target / f"trace-{traces:06d}.jsonl"
        name.write_text(json.dumps({"start": {}}) + "\n" + "\n".join(lines) + "\n", "utf-8")
    return ExportSummary(traces, requests, skipped)
