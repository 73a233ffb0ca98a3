"""Draw docs/state-graph.png, the README's picture: every state of one MMS service with two
instances, as the explorer reaches them, and the shortest way to an instance that is Active,
Default and Locked: the same call as notebook 03's picture.

    PYTHONPATH=. python docs/make_picture.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from mostate import Engine, load_spec
from mostate.explore import ExploreScope, Goal, draw_states, explore, shortest_path

GOAL = "any(i, active(i) and default(i) and locked(i))"


def main() -> None:
    run = explore(Engine(load_spec()), ExploreScope(instances=2, values=1))
    path = shortest_path(run, Goal.parse(GOAL, service="MMS"))
    fig, ax = plt.subplots(figsize=(16, 10))
    draw_states(
        run, "MMS", ax, labels=True, flags_only=True, highlight=path,
        highlight_label="shortest way to Active, Default and Locked",
    )  # fmt: skip
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("state-graph.png"), dpi=100, metadata={"Software": None})


if __name__ == "__main__":
    main()
