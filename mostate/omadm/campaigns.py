"""What ``dm serve`` sends a device: the campaigns it serves, in the order they were made, and
of each, the steps the device has not answered yet.

A campaign has an id and a kind (see :mod:`.schema`): one list of requests for every device
(``dm serve CAMPAIGN.jsonl``), plans read from a file (``dm serve --plans``), or plans kept in
the store (``campaign plan --store``, then ``dm serve --planned``). Whether a device is done is
decided per campaign: every step of *that* campaign's plan for it has a status. So a second
campaign never finds the first one's rows and stops early, and a device cut off mid-session gets,
next time, exactly the steps it never answered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence

import attrs

from ..errors import RequestError
from ..model import Request
from .database import Cursor, Database, StoreError
from .plans import plan_requests
from .session import Task
from .store import answered

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
        self._limit = limit

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


def tasks_for(
    db: Database, device: str, campaigns: Sequence[ServedCampaign], cache: PlanCache
) -> tuple[Task, ...]:
    """The steps ``device`` has not answered, campaign after campaign, in order."""
    done = answered(db, device)
    stored: dict[str, str | None] = {}
    if any(c.kind == PLANNED for c in campaigns):
        rows = db.read("SELECT campaign, plan FROM campaign_plans WHERE device = ?", (device,))
        stored = {str(c): p for c, p in rows}
    return tuple(
        Task(c.campaign, k, request)
        for c in campaigns
        for k, request in enumerate(c.steps(device, stored, cache))
        if k not in done.get(c.campaign, ())
    )


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
