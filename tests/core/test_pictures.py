"""The pictures a student reads: the state graph's labels at a readable size with a key for
A/D/L, and the campaign chart with labelled axes and a legend that covers no bar."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from mostate import Engine, load_spec
from mostate.campaign.chart import chart_figure
from mostate.campaign.report import DeviceResult, Summary
from mostate.explore import ExploreScope, draw_states, explore
from mostate.explore.draw import FLAG_KEY


@pytest.mark.slow  # about 3 s here (2 cores): an exploration drawn
def test_the_state_graph_labels_are_readable_and_explained() -> None:
    run = explore(Engine(load_spec()), ExploreScope(instances=2, values=1))
    fig, ax = plt.subplots(figsize=(16, 10))
    draw_states(run, "MMS", ax, labels=True, flags_only=True)
    labels = [t for t in ax.texts if ":" in t.get_text() or t.get_text() == "empty"]
    assert labels and min(t.get_fontsize() for t in labels) >= 9  # was 7 pt, drawn at 80 dpi
    legend = ax.get_legend()
    assert legend is not None and FLAG_KEY in [t.get_text() for t in legend.get_texts()]
    assert "A Active, D Default, L Locked" in FLAG_KEY
    plt.close(fig)


def test_the_campaign_chart_has_axis_labels_and_a_legend_beside_the_bars() -> None:
    results = [DeviceResult(f"d{n}", "reached", {}, ("ok",) * (1 + n % 3)) for n in range(90)] + [
        DeviceResult(f"x{n}", "declined", {}, ("declined",)) for n in range(10)
    ]
    fig = chart_figure(Summary.of(results), "Campaign")
    fig.canvas.draw()
    left, right = fig.axes
    assert left.get_ylabel() and left.get_xlabel() and right.get_ylabel() and right.get_xlabel()
    legend = right.get_legend()
    assert legend is not None
    box = legend.get_window_extent()
    bars = [patch.get_window_extent() for patch in right.patches]
    assert bars and not any(box.overlaps(bar) for bar in bars)
    plt.close(fig)
