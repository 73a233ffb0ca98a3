"""What ``dm serve`` sends a device: the campaigns it serves, in the order they were made, and
of each, the steps the device has not answered yet.

A campaign has an id and a kind (see :mod:`.schema`): one list of requests for every device
(``dm serve CAMPAIGN.jsonl``), plans read from a file (``dm serve --plans``), or plans kept in
the store (``campaign plan --store``, then ``dm serve --planned``). Whether a device is done is
decided per campaign: every step of *that* campaign's plan for it has a status. So a second
campaign never finds the first one's rows and stops early, and a device cut off mid-session gets,
next time, exactly the steps it never answered.

A planned campaign that was *created* as a run (``campaign create``: waves, a failure budget,
retries, windows, verification; :mod:`.runs`) is decided by :func:`.dispatch.decide` instead:
the steps not yet answered 200, when the run, the device's wave, the windows and its backoff
allow, and a read-back after them; :func:`work_for` hands the server what to settle them by.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence

import attrs

from ..engine import Engine
from ..errors import RequestError
from ..model import DeviceState, Request
from .database import Cursor, Database, StoreError
from .dispatch import Dispatch, answered_steps, decide
from .plans import plan_requests
from .runs import run_rows
from .session import Task

log = logging.getLogger(__name__)

LIST, PLANS_FILE, PLANNED, ARCHIVE = "list", "plans-file", "planned", "archive"


@attrs.frozen
class ServedCampaign:
    """One campaign a server runs: its id and kind, and for a list its requests, for a plans
    file each device's plan (a planned campaign's plans are read from the store)."""

    campaign: str
    kind: str
    requests: tuple[Request, ...] = ()
    plans: Mapping[str, tuple[Request, ...]] = attrs.field(factory=dict, eq=False)

    def steps(
        self, device: str, stored: Mapping[str, str | None], cache: PlanCache
    ) -> tuple[Request, ...]:
        """This campaign's plan for ``device`` (empty when it has none)."""
        if self.kind == LIST:
            return self.requests
        if self.kind == PLANS_FILE:
            return self.plans.get(device, ())
        text = stored.get(self.campaign)
        return () if text is None else cache.requests(self.campaign, device, text)


class PlanCache:
    """Plans kept in the store, read from their JSON text once per distinct text: a million
    devices share a few thousand plans."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[str, tuple[Request, ...]] = {}
        self._states: dict[str, DeviceState | None] = {}
        self._limit = limit

    def state(self, text: str) -> DeviceState | None:
        """A planned state from its JSON text (None when it cannot be read), read once."""
        if text in self._states:
            return self._states[text]
        found: DeviceState | None
        try:
            found = DeviceState.from_json(json.loads(text))
        except (ValueError, RequestError):
            found = None
        if len(self._states) >= self._limit:
            self._states.clear()
        self._states[text] = found
        return found

    def requests(self, campaign: str, device: str, text: str) -> tuple[Request, ...]:
        found = self._known.get(text)
        if found is None:
            try:
                found = plan_requests(text)
            except (ValueError, RequestError) as err:
                log.warning("campaign %s: the plan of %s cannot be read: %s", campaign, device, err)
                return ()
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[text] = found
        return found


@attrs.frozen
class Work:
    """What a session sends a device: its tasks, and for each run campaign among them what to
    settle the answers by."""

    tasks: tuple[Task, ...] = ()
    dispatches: tuple[Dispatch, ...] = ()


def tasks_for(
    db: Database, device: str, campaigns: Sequence[ServedCampaign], cache: PlanCache
) -> tuple[Task, ...]:
    """The steps ``device`` has not answered, campaign after campaign, in order (a run
    campaign's: none; :func:`work_for` decides those)."""
    return work_for(db, device, campaigns, cache).tasks


def work_for(
    db: Database,
    device: str,
    campaigns: Sequence[ServedCampaign],
    cache: PlanCache,
    *,
    engine: Engine | None = None,
    now: float = 0.0,
    zone: str | None = None,
) -> Work:
    """The steps ``device`` gets now, campaign after campaign, in order: of a campaign that is
    a run, what :func:`.dispatch.decide` says (at time ``now``, the device's time ``zone``);
    of any other, the steps it has not answered."""
    steps = answered_steps(
        db.read("SELECT campaign, step, status, at FROM steps WHERE device = ?", (device,))
    )
    progress: dict[str, set[int]] = {}
    for campaign, step in db.read(
        "SELECT campaign, step FROM campaign_progress WHERE device = ?", (device,)
    ):
        progress.setdefault(str(campaign), set()).add(int(step))
    stored: dict[str, tuple[str | None, str]] = {}
    if any(c.kind == PLANNED for c in campaigns):
        rows = db.read(
            "SELECT campaign, plan, state FROM campaign_plans WHERE device = ?", (device,)
        )
        stored = {str(c): (p, str(s)) for c, p, s in rows}
    runs = run_rows(db, device) if stored else {}
    tasks: list[Task] = []
    dispatches: list[Dispatch] = []
    plans = {c: p for c, (p, _) in stored.items()}
    for c in campaigns:
        plan = c.steps(device, plans, cache)
        run = runs.get(c.campaign) if c.kind == PLANNED else None
        if run is None:
            done = set(steps.get(c.campaign, {})) | progress.get(c.campaign, set())
            tasks += [Task(c.campaign, k, r) for k, r in enumerate(plan) if k not in done]
            continue
        if engine is None:
            continue
        state = cache.state(stored[c.campaign][1]) if c.campaign in stored else None
        sent, dispatch = decide(
            engine, run, plan, state, steps.get(c.campaign, {}), now=now, zone=zone
        )
        tasks += [Task(c.campaign, k, r) for k, r in sent]
        if dispatch is not None:
            dispatches.append(dispatch)
    return Work(tuple(tasks), tuple(dispatches))


def digest_id(prefix: str, data: bytes) -> str:
    """A campaign id from its content, the same whenever the same file is served again.

    >>> digest_id("list", b"[]")
    'list-4f53cda18c2b'
    """
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:12]}"


def register(cursor: Cursor, campaign: str, kind: str, requests: Sequence[Request] = ()) -> None:
    """Make campaign ``campaign`` of ``kind`` unless it exists; StoreError if it exists as
    something else (another kind, or a list of other requests)."""
    text = json.dumps([r.to_json() for r in requests]) if kind == LIST else None
    rows = cursor.execute("SELECT kind, requests FROM campaigns WHERE campaign = ?", (campaign,))
    if rows:
        if rows[0][0] != kind or (kind == LIST and rows[0][1] != text):
            raise StoreError(
                f"campaign {campaign!r} exists already as another campaign ({rows[0][0]}): "
                "give another --campaign id"
            )
        return
    (seq,) = cursor.execute("SELECT COALESCE(max(seq), 0) + 1 FROM campaigns")[0]
    cursor.execute(
        "INSERT INTO campaigns (campaign, seq, kind, requests, created) VALUES (?, ?, ?, ?, ?)",
        (campaign, int(seq), kind, text, time.time()),
    )


def planned(db: Database, named: Sequence[str] = ()) -> list[str]:
    """The planned campaigns of the store in the order they were made (only ``named`` ones,
    when given; StoreError naming one the store does not hold)."""
    rows = db.read("SELECT campaign FROM campaigns WHERE kind = ? ORDER BY seq", (PLANNED,))
    ids = [str(c) for (c,) in rows]
    missing = [n for n in named if n not in ids]
    if missing:
        raise StoreError(f"no planned campaign {missing[0]!r} in this store")
    return [c for c in ids if not named or c in named]
