"""Fleet campaigns: the plan of an operator's campaign for every device of a fleet.

A :class:`Campaign` is a goal in the spec's language (``exists(target) and active(target)``,
say) for one target instance of one service. :class:`CampaignPlanner` gives each device the
shortest server command sequence from its last known state to the goal, planned once per
canonical state (a fleet holds few distinct ones) as :func:`mostate.explore.plan` plans it.
:func:`plan_inventory` does it for an inventory of JSON lines, streamed, in this process or on
any executor (a process pool, a Dask cluster). :func:`synthetic_fleet` and
:func:`synthetic_inventory` make fleets for tests, benchmarks and the notebook. Needs networkx
(``mostate[explore]``); Dask and Parquet need ``mostate[campaign]``.
"""

from .fleet import synthetic_fleet as synthetic_fleet
from .fleet import synthetic_inventory as synthetic_inventory
from .lines import Counts as Counts
from .lines import LinePlanner as LinePlanner
from .planner import Campaign as Campaign
from .planner import CampaignPlanner as CampaignPlanner
from .planner import DevicePlan as DevicePlan
from .scale import plan_inventory as plan_inventory

__all__ = [
    "Campaign",
    "CampaignPlanner",
    "Counts",
    "DevicePlan",
    "LinePlanner",
    "plan_inventory",
    "synthetic_fleet",
    "synthetic_inventory",
]
