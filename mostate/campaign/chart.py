"""A campaign's summary drawn: devices by outcome, and each step's outcomes, as a PNG (with
matplotlib) and as a small HTML page that embeds it.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import TYPE_CHECKING

from .report import OUTCOMES, STEP_OUTCOMES, Summary

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not with the package
    from matplotlib.figure import Figure

COLOURS = {
    "reached": "#2e7d32",
    "ok": "#2e7d32",
    "declined": "#f9a825",
    "failed": "#c62828",
    "unreachable": "#6a1b9a",
    "not seen": "#9e9e9e",
}


def chart_png(summary: Summary, title: str = "Campaign") -> bytes:
    """The chart as PNG bytes: devices by outcome (left), steps stacked by outcome (right).

    >>> chart_png(Summary.of([]))[:4]
    b'\\x89PNG'
    """
    from matplotlib import pyplot as plt

    fig = chart_figure(summary, title)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def chart_figure(summary: Summary, title: str = "Campaign") -> Figure:
    """The chart as a matplotlib figure: each axis labelled, the legend beside the bars."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib import pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    counts = [summary.devices[o] for o in OUTCOMES]
    left.bar(OUTCOMES, counts, color=[COLOURS[o] for o in OUTCOMES])
    left.set_title("devices by outcome")
    left.set_xlabel("outcome of the device's plan")
    left.set_ylabel("devices")
    left.margins(y=0.12)  # room above the tallest bar for its count
    for x, count in enumerate(counts):
        left.annotate(f"{count:,}", (x, count), ha="center", va="bottom")
    steps = [f"step {k}" for k in range(1, len(summary.steps) + 1)]
    bottom = [0] * len(steps)
    for outcome in STEP_OUTCOMES:
        heights = [step[outcome] for step in summary.steps]
        right.bar(steps, heights, bottom=bottom, label=outcome, color=COLOURS[outcome])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    right.set_title("outcome of each step")
    right.set_xlabel("step of the plan")
    right.set_ylabel("devices at this step")
    for axes in (left, right):
        axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    # Beside the bars, never over them: the tallest stack reaches the top of the axes.
    right.legend(title="outcome", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(title)
    return fig


def html_page(summary: Summary, png: bytes, title: str = "Campaign") -> str:
    """A page with the tables of the summary and the chart embedded (one file, no assets).

    >>> "<td>reached</td><td>0</td>" in html_page(Summary.of([]), b"")
    True
    """
    rows = "".join(f"<tr><td>{escape(o)}</td><td>{summary.devices[o]}</td></tr>" for o in OUTCOMES)
    head = "".join(f"<th>{escape(o)}</th>" for o in STEP_OUTCOMES)
    steps = "".join(
        f"<tr><td>{k}</td>" + "".join(f"<td>{s[o]}</td>" for o in STEP_OUTCOMES) + "</tr>"
        for k, s in enumerate(summary.steps, 1)
    )
    image = base64.b64encode(png).decode("ascii")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "</head><body>"
        f"<h1>{escape(title)}</h1><h2>Devices</h2><table border='1'>"
        f"<tr><th>outcome</th><th>devices</th></tr>{rows}</table>"
        f"<p>diverged from the spec: {summary.diverged}</p>"
        f"<h2>Steps</h2><table border='1'><tr><th>step</th>{head}</tr>{steps}</table>"
        f"<img alt='chart' src='data:image/png;base64,{image}'></body></html>\n"
    )
