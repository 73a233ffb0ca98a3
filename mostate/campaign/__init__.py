"""Fleet campaigns: plan an operator's campaign for every device of a fleet, and report on it.

A :class:`Campaign` is a goal in the spec's language (``exists(target) and active(target)``,
say) for one target instance of one service. :class:`CampaignPlanner` gives each device the
shortest server command sequence from its last known state to the goal, planned once per
canonical state (a fleet holds few distinct ones) as :func:`mostate.explore.plan` plans it.
:func:`plan_inventory` does it for an inventory of JSON lines, streamed, in this process or on
any executor (a process pool, a Dask cluster's). :func:`report` reads what the devices answered
into a :class:`Summary` and an updated inventory (a ``dm serve`` store's steps matched to each
plan by :func:`statuses_by_request`); :func:`chart_png` and :func:`html_page` draw
it. :func:`synthetic_inventory` and :func:`simulate_results` make fleets and results for tests,
benchmarks and the notebook. Needs networkx (``mostate[explore]``); Dask, Parquet and the chart
need ``mostate[campaign]``.
"""

from .chart import chart_png as chart_png
from .chart import html_page as html_page
from .fleet import synthetic_fleet as synthetic_fleet
from .fleet import synthetic_inventory as synthetic_inventory
from .lines import Counts as Counts
from .lines import LinePlanner as LinePlanner
from .planner import Campaign as Campaign
from .planner import CampaignPlanner as CampaignPlanner
from .planner import DevicePlan as DevicePlan
from .report import DeviceResult as DeviceResult
from .report import Summary as Summary
from .report import read_results as read_results
from .report import report as report
from .report import results_from_store as results_from_store
from .report import statuses_by_request as statuses_by_request
from .scale import plan_inventory as plan_inventory
from .simulate import Mix as Mix
from .simulate import simulate_results as simulate_results

__all__ = [
    "Campaign",
    "CampaignPlanner",
    "Counts",
    "DevicePlan",
    "DeviceResult",
    "LinePlanner",
    "Mix",
    "Summary",
    "chart_png",
    "html_page",
    "plan_inventory",
    "read_results",
    "report",
    "results_from_store",
    "simulate_results",
    "statuses_by_request",
    "synthetic_fleet",
    "synthetic_inventory",
]
