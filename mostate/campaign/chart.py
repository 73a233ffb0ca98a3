"""A campaign's summary drawn: devices by outcome, and each step's outcomes, as a PNG (with
matplotlib), and as the campaigns' page (the template ``dm serve --dashboard`` serves, one
source for both) with the PNG embedded.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import TYPE_CHECKING

from .report import OUTCOMES, STEP_OUTCOMES, Summary

if TYPE_CHECKING:  # matplotlib and the page are imported when drawn, not with the package
    from matplotlib.figure import Figure

    from ..omadm.pages import Page

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
    """The report's page: the live page's template (:mod:`mostate.omadm.pages`) showing the
    summary, with the chart embedded (one file, no assets). Needs Jinja2.

    >>> '<tr data-outcome="reached"><td>reached</td><td class="count">0</td>' in html_page(
    ...     Summary.of([]), b"")
    True
    """
    from ..omadm.pages import render

    return render(summary_page(summary, png, title))


def summary_page(summary: Summary, png: bytes, title: str = "Campaign") -> Page:
    """The page of a summary: devices by outcome with shares, each step's outcomes with its
    bar, and the chart (``png``; empty: none).

    >>> summary_page(Summary.of([]), b"").to_json()["devices"]["not seen"]
    0
    """
    from ..omadm.pages import Page, Row, bar

    total = sum(summary.devices.values())
    steps = tuple(
        Row(k, f"step {k} of the plans", counts, sum(counts.values()), bar(counts, STEP_OUTCOMES))
        for k, counts in enumerate(summary.steps, 1)
    )
    notes: tuple[str, ...] = ()
    if summary.diverged:
        notes = (f"{summary.diverged:,} devices answered what the spec does not.",)
    image = base64.b64encode(png).decode("ascii")
    shares = tuple(
        (o, n, f"{100 * n / total:.1f}%" if total else "-") for o, n in summary.devices.items()
    )
    return Page(
        title=title,
        totals=shares,
        total=total,
        steps=steps,
        columns=OUTCOMES,
        step_columns=STEP_OUTCOMES,
        notes=notes,
        chart=f"data:image/png;base64,{image}" if png else None,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
    )
