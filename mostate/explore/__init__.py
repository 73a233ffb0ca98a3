"""Explicit-state exploration of a spec with networkx: reachable states, traces, plans.

:func:`explore` walks every state reachable in an :class:`ExploreScope` through the engine,
checks every step with the engine's own checks and returns an :class:`Exploration` (the networkx
graph, its :class:`Stats` and each :class:`Violation` with a shortest trace);
:func:`export_traces` writes an edge-complete conformance suite from it; :func:`plan` finds the
shortest way from a device's state to a :class:`Goal`.
"""

from .draw import draw_states as draw_states
from .draw import in_use as in_use
from .draw import shortest_path as shortest_path
from .draw import step_graph as step_graph
from .explorer import Exploration as Exploration
from .explorer import Stats as Stats
from .explorer import Violation as Violation
from .export import ExportSummary as ExportSummary
from .export import export_traces as export_traces
from .plan import Goal as Goal
from .plan import Plan as Plan
from .plan import plan as plan
from .scope import ExploreScope as ExploreScope
from .scope import scope_requests as scope_requests
from .search import explore as explore
from .symmetry import canonical as canonical
from .symmetry import orbit_size as orbit_size

__all__ = [
    "Exploration",
    "ExploreScope",
    "ExportSummary",
    "Goal",
    "Plan",
    "Stats",
    "Violation",
    "canonical",
    "draw_states",
    "explore",
    "export_traces",
    "in_use",
    "orbit_size",
    "plan",
    "scope_requests",
    "shortest_path",
    "step_graph",
]
