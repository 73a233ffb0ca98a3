"""A campaign's page: what ``dm serve --dashboard`` shows while it runs and ``campaign report
--html`` writes after, from one set of templates (a report of plans and results, not a run, is
drawn on the same page by :func:`mostate.campaign.chart.summary_page`).

The templates are Jinja2 (``templates/*.html.j2`` beside this module): the well-kept template
engine of the Python world (Pallets), autoescaping every value, so a device id or a reason never
becomes markup. A :class:`Page` is the view: the campaign's goal, target, state and dates, its
devices by outcome with shares, each wave and each step (named by its operation and instance)
with a stacked bar drawn as inline SVG (no script, no asset), and the devices that failed,
declined, did not match or stopped halfway, listed. :func:`run_page` builds it from a store's
run (a few queries: the tally, the step counts, the first devices of each list);
:func:`render` writes the HTML. Jinja2 is imported when a page is rendered.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import attrs

from .database import Database
from .dispatch import (
    APPLIED,
    DECLINED,
    FAILED,
    MISMATCH,
    OUTCOMES,
    PENDING,
    RETRYING,
    UNREACHABLE,
    VERIFIED,
    WORKING,
    success,
)
from .runs import Listed, RunStatus, listing, run_status, step_counts

LABELS = {
    VERIFIED: "verified",
    APPLIED: "reached",
    WORKING: "stopped halfway",
    PENDING: "not seen",
    RETRYING: "retrying",
    FAILED: "failed",
    DECLINED: "declined",
    MISMATCH: "mismatch",
    UNREACHABLE: "unreachable",
}
"""What each outcome is called where people read it."""
COLUMNS = (
    "verified", "reached", "stopped halfway", "not seen", "waiting", "retrying", "failed",
    "declined", "mismatch", "unreachable",
)  # fmt: skip
COLOURS = {
    "verified": "#2e7d32",
    "reached": "#66bb6a",
    "ok": "#2e7d32",
    "stopped halfway": "#1565c0",
    "not seen": "#9e9e9e",
    "waiting": "#e0e0e0",
    "retrying": "#f57c00",
    "failed": "#c62828",
    "declined": "#f9a825",
    "mismatch": "#ad1457",
    "unreachable": "#6a1b9a",
}
STEP_COLUMNS = ("ok", "declined", "failed")
LISTED = (FAILED, DECLINED, MISMATCH, RETRYING, WORKING)
"""The outcomes whose devices a page lists."""
REFRESH_S = 5


@attrs.frozen
class Row:
    """A wave or a step: its name, its counts by label, and its bar."""

    number: int
    name: str
    counts: Mapping[str, int]
    total: int
    svg: str
    open: bool = True
    success: str = ""
    threshold: str = ""


@attrs.frozen
class DeviceLine:
    device: str
    wave: int
    attempts: int
    what: str


@attrs.frozen
class Listing:
    label: str
    count: int
    devices: tuple[DeviceLine, ...]


@attrs.frozen
class Page:
    """Everything a campaign's page shows."""

    title: str
    goal: str | None = None
    target: str | None = None
    service: str = "MMS"
    state: str | None = None
    reason: str | None = None
    dates: tuple[tuple[str, str], ...] = ()
    totals: tuple[tuple[str, int, str], ...] = ()
    total: int = 0
    waves: tuple[Row, ...] = ()
    steps: tuple[Row, ...] = ()
    lists: tuple[Listing, ...] = ()
    events: tuple[tuple[str, str, str], ...] = ()
    refresh: int | None = None
    generated: str = ""
    columns: tuple[str, ...] = COLUMNS
    step_columns: tuple[str, ...] = STEP_COLUMNS
    notes: tuple[str, ...] = ()
    """Sentences shown under the totals (a report's devices that answered what the spec does
    not)."""
    chart: str | None = None
    """A chart to show under the steps, as a ``data:`` URI (a report's PNG); None: none."""

    @property
    def legend(self) -> list[tuple[str, str]]:
        return [(c, COLOURS[c]) for c in self.columns]

    def to_json(self) -> dict[str, Any]:
        """The numbers of the page (what a script or a test reads)."""
        return {
            "title": self.title,
            "state": self.state,
            "reason": self.reason,
            "devices": {label: count for label, count, _ in self.totals},
            "waves": [{"name": w.name, "open": w.open, **w.counts} for w in self.waves],
            "steps": [{"step": s.name, **s.counts} for s in self.steps],
            "lists": {x.label: [d.device for d in x.devices] for x in self.lists},
        }


def when(at: float | None) -> str:
    return "-" if at is None else dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def bar(counts: Mapping[str, int], order: Sequence[str], width: int = 140) -> str:
    """A stacked bar of ``counts`` in ``order``, as inline SVG (each part titled), over a
    grey background rect.

    >>> bar({"ok": 3, "failed": 1}, ["ok", "failed"], 100).count("<title>")
    2
    """
    total = sum(counts.get(k, 0) for k in order)
    parts, x = [], 0.0
    for key in order:
        n = counts.get(key, 0)
        if not n or not total:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="14" fill="{COLOURS[key]}">'
            f"<title>{key}: {n:,}</title></rect>"
        )
        x += w
    return (
        f'<svg class="bar" width="{width}" height="14" role="img" aria-label="progress">'
        f'<rect width="{width}" height="14" fill="#f5f5f5"/>{"".join(parts)}</svg>'
    )


def step_name(request: Mapping[str, Any]) -> str:
    """A step named by its operation and instance (``set_active MMS/new = true``).

    >>> step_name({"op": "get", "service": "MMS", "instance": "new"})
    'read back MMS/new'
    """
    where = "/".join(str(request[k]) for k in ("service", "instance") if request.get(k))
    op = str(request.get("op"))
    if op == "get":
        return f"read back {where}"
    value = request.get("value")
    tail = f" = {json.dumps(value)}" if value is not None else ""
    params = request.get("params")
    if params:
        tail += " with " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{op} {where}{tail}"


def run_page(db: Database, campaign: str, *, refresh: int | None = REFRESH_S) -> Page:
    """The page of a run, read from the store (it refreshes while the run is running)."""
    status = run_status(db, campaign)
    lists = tuple(_listing(db, status, outcome) for outcome in LISTED)
    live = refresh if status.state in ("running", "paused") else None
    return Page(
        title=f"Campaign {campaign}",
        goal=status.rollout.goal,
        target=status.rollout.target,
        service=status.rollout.service,
        state=status.state,
        reason=status.reason,
        dates=(
            ("created", when(status.created)),
            ("started", when(status.started)),
            ("updated", when(status.updated)),
        ),
        totals=_totals(status),
        total=sum(sum(c.values()) for c in status.counts.values()),
        waves=_waves(status),
        steps=steps_rows(step_counts(db, campaign)),
        lists=tuple(x for x in lists if x.count),
        events=tuple((when(a), e, d) for a, e, d in status.events),
        refresh=live,
        generated=when(dt.datetime.now().timestamp()),
    )


def wave_counts(status: RunStatus, wave: int) -> dict[str, int]:
    """A wave's devices by label (not seen in a wave not yet open: waiting)."""
    counts = status.counts.get(wave, {})
    out = {LABELS[o]: counts.get(o, 0) for o in OUTCOMES}
    if wave > status.open_waves:
        out["waiting"] = out.pop("not seen")
    return out


def _totals(status: RunStatus) -> tuple[tuple[str, int, str], ...]:
    summed: dict[str, int] = {}
    for k in range(1, len(status.waves) + 1):
        for label, n in wave_counts(status, k).items():
            summed[label] = summed.get(label, 0) + n
    total = sum(summed.values())
    return tuple(
        (
            label,
            summed.get(label, 0),
            f"{100 * summed.get(label, 0) / total:.1f}%" if total else "-",
        )
        for label in COLUMNS
    )


def _waves(status: RunStatus) -> tuple[Row, ...]:
    rows = []
    for k, name in enumerate(status.waves, 1):
        counts = wave_counts(status, k)
        ok, counted = success(status.rollout, status.counts.get(k, {}))
        defined = status.rollout.waves[min(k, len(status.rollout.waves)) - 1]
        rows.append(
            Row(
                k,
                name,
                counts,
                sum(counts.values()),
                bar(counts, COLUMNS),
                k <= status.open_waves,
                f"{100 * ok / counted:.0f}%" if counted else "-",
                f"{100 * defined.threshold:.0f}%",
            )
        )
    return tuple(rows)


def steps_rows(counts: Sequence[tuple[str, int, int]]) -> tuple[Row, ...]:
    """One row per distinct request: how many devices answered it ok, declined, failed."""
    named: dict[str, dict[str, int]] = {}
    for request, status, n in counts:
        name = step_name(json.loads(request))
        kind = "ok" if status == 200 else "declined" if status == 215 else "failed"
        row = named.setdefault(name, {})
        row[kind] = row.get(kind, 0) + n
    ordered = sorted(named.items(), key=lambda item: (item[0].startswith("read back"), item[0]))
    return tuple(
        Row(k, name, c, sum(c.values()), bar(c, STEP_COLUMNS))
        for k, (name, c) in enumerate(ordered, 1)
    )


def _listing(db: Database, status: RunStatus, outcome: str) -> Listing:
    count = sum(c.get(outcome, 0) for c in status.counts.values())
    devices = listing(db, status.campaign, outcome) if count else []
    return Listing(LABELS[outcome], count, tuple(_line(d) for d in devices))


def _line(d: Listed) -> DeviceLine:
    if d.expected is not None or d.observed is not None:
        what = f"expected {json.dumps(d.expected)}, read {json.dumps(d.observed)}"
    elif d.status is not None and d.step is not None:
        what = f"{d.status} to {step_name(json.loads(d.step))}"
    else:
        what = ""
    return DeviceLine(d.device, d.wave, d.attempts, what)


def render(page: Page) -> str:
    """The page's HTML."""
    html: str = _environment().get_template("campaign.html.j2").render(page=page)
    return html


def render_index(runs: Sequence[tuple[str, str, str]], prefix: str, query: str = "") -> str:
    """The list of a store's campaigns, each linked to its page."""
    template = _environment().get_template("index.html.j2")
    html: str = template.render(runs=runs, prefix=prefix, query=query)
    return html


def _environment() -> Any:
    import jinja2

    folder = resources.files("mostate.omadm") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
