"""Draw docs/state-graph.png, the README's picture: every state of one MMS service with two
instances, as the explorer reaches them.

    PYTHONPATH=. python docs/make_picture.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from mostate import Engine, load_spec
from mostate.explore import ExploreScope, draw_states, explore


def main() -> None:
    run = explore(Engine(load_spec()), ExploreScope(instances=2, values=1))
    fig, ax = plt.subplots(figsize=(13, 7.5))
    draw_states(run, "MMS", ax, labels=True, flags_only=True)
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("state-graph.png"), dpi=80, metadata={"Software": None})


if __name__ == "__main__":
    main()
