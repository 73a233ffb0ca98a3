"""The campaigns of a store (the same store as ``dm serve``'s: a SQLite file, or a PostgreSQL
database named by a URL): the inventory, and per campaign each device's plan and progress.

A store holds many campaigns, each with an id, made in order (see :mod:`.schema`); planning
campaign B never touches campaign A's plans or progress, and ``dm serve`` decides per campaign
whether a device is done. The inventory (each device's last known state) is the store's, shared
by its campaigns.

The store promises what :mod:`mostate.omadm.database` promises: each call that writes is one
transaction, durable when it returns, serialised with every other writer (a PostgreSQL conflict
is run again), so two writers lose nothing and a crash loses no batch that was acknowledged.
Recording a device's plan in a campaign clears that device's progress and served steps in that
campaign: step numbers name the steps of one plan. The store holds text, never the engine's
types; :mod:`mostate.campaign` reads and writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .campaigns import PLANNED
from .database import Cursor, Database, StoreError
from .dispatch import DRAFT
from .rollout import Rollout
from .runs import add_devices, create_run
from .schema import open_store

CREATING = "creating"
"""A run whose devices are being recorded (``campaign create`` under way, or cut short)."""

T = TypeVar("T")
PAGE = 5_000
"""Rows read per query when a table is streamed: memory holds a page, whatever the fleet."""

_SAVE_STATE = (
    "INSERT INTO campaign_inventory (device, state, updated) VALUES (?, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET state = excluded.state, updated = excluded.updated"
)
_SAVE_PLAN = (
    "INSERT INTO campaign_plans (campaign, device, state, plan, unreachable, planned)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign, device) DO UPDATE SET state = excluded.state, plan = excluded.plan,"
    " unreachable = excluded.unreachable, planned = excluded.planned"
)
_CLEAR_PROGRESS = "DELETE FROM campaign_progress WHERE campaign = ? AND device = ?"
_CLEAR_STEPS = "DELETE FROM steps WHERE campaign = ? AND device = ?"
_SAVE_PROGRESS = (
    "INSERT INTO campaign_progress (campaign, device, step, status, at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign, device, step) DO UPDATE SET status = excluded.status,"
    " at = excluded.at"
)


@attrs.frozen
class CampaignGoal:
    """What a campaign was planned for: the goal, its target instance and its service."""

    goal: str
    target: str
    service: str = "MMS"


@attrs.frozen
class PlannedDevice:
    """One device's row of the plans: the state (JSON text) it was planned from, and its plan
    (a JSON list of requests) or why it has none."""

    device: str
    state: str
    plan: str | None
    unreachable: str | None = None


@attrs.frozen
class Step:
    """What a device answered to step ``step`` (from 0) of its plan; None: no status yet."""

    device: str
    step: int
    status: int | None


class CampaignStore:
    """The campaigns of a store: a SQLite file path or a ``postgresql://`` URL.

    >>> import tempfile, os
    >>> store = CampaignStore(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
    >>> store.create("mms-2027", CampaignGoal("exists(target)", "new"))
    >>> store.record_plans("mms-2027", [PlannedDevice("d1", "{}", '[{"op": "add"}]')])
    >>> store.record_progress("mms-2027", [Step("d1", 0, 200)])
    >>> [p.device for p in store.plans("mms-2027")], store.progress("mms-2027")
    (['d1'], {'d1': (200,)})
    >>> store.close()
    """

    def __init__(self, where: str | Path) -> None:
        self._db: Database = open_store(str(where))
        self.where = self._db.where
        """The store as named, with a URL's password hidden."""

    def close(self) -> None:
        self._db.close()

    def create(self, campaign: str, goal: CampaignGoal) -> None:
        """Make planned campaign ``campaign`` for ``goal`` unless it exists with that goal;
        StoreError if the id names another campaign."""

        def work(db: Cursor) -> None:
            rows = db.execute(
                "SELECT kind, goal, target, service FROM campaigns WHERE campaign = ?", (campaign,)
            )
            if rows:
                kind, *made = rows[0]
                if kind != PLANNED or CampaignGoal(*made) != goal:
                    raise StoreError(
                        f"campaign {campaign!r} exists already for another goal ({made[0]!r}, "
                        f"target {made[1]!r}): give another --campaign-id"
                    )
                return
            (seq,) = db.execute("SELECT COALESCE(max(seq), 0) + 1 FROM campaigns")[0]
            db.execute(
                "INSERT INTO campaigns (campaign, seq, kind, goal, target, service, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (campaign, int(seq), PLANNED, goal.goal, goal.target, goal.service, time.time()),
            )

        self._db.write(work)

    def campaigns(self) -> list[tuple[str, str, CampaignGoal | None]]:
        """Every campaign, in the order they were made: ``(id, kind, goal)``."""
        rows = self._db.read(
            "SELECT campaign, kind, goal, target, service FROM campaigns ORDER BY seq"
        )
        return [
            (str(c), str(k), CampaignGoal(g, t, s) if g is not None else None)
            for c, k, g, t, s in rows
        ]

    def latest(self) -> str | None:
        """The planned campaign made last; None before any."""
        rows = self._db.read(
            "SELECT campaign FROM campaigns WHERE kind = ? ORDER BY seq DESC LIMIT 1", (PLANNED,)
        )
        return str(rows[0][0]) if rows else None

    def goal(self, campaign: str) -> CampaignGoal | None:
        """What campaign ``campaign`` was planned for; None for no such planned campaign."""
        rows = self._db.read(
            "SELECT goal, target, service FROM campaigns WHERE campaign = ? AND kind = ?",
            (campaign, PLANNED),
        )
        return CampaignGoal(*rows[0]) if rows else None

    def record_inventory(self, states: Sequence[tuple[str, str]]) -> None:
        """Devices' last known states, ``(device, state JSON)``, in one transaction."""
        now = time.time()
        rows = [(device, state, now) for device, state in states]
        if rows:
            self._db.write(lambda db: db.executemany(_SAVE_STATE, rows))

    def record_plans(
        self,
        campaign: str,
        plans: Sequence[PlannedDevice],
        also: Callable[[Cursor], object] | None = None,
    ) -> None:
        """Devices' plans in ``campaign`` (made first, :meth:`create`), with the states they
        were planned from as their inventory, in one transaction (with ``also``); each device's
        earlier progress and served steps in that campaign are cleared."""
        now = time.time()
        states = [(p.device, p.state, now) for p in plans]
        rows = [(campaign, p.device, p.state, p.plan, p.unreachable, now) for p in plans]
        devices = [(campaign, p.device) for p in plans]

        def work(db: Cursor) -> None:
            if not db.execute("SELECT 1 FROM campaigns WHERE campaign = ?", (campaign,)):
                raise StoreError(f"no campaign {campaign!r} in this store")
            db.executemany(_SAVE_STATE, states)
            db.executemany(_SAVE_PLAN, rows)
            db.executemany(_CLEAR_PROGRESS, devices)
            db.executemany(_CLEAR_STEPS, devices)
            if also is not None:
                also(db)

        if plans:
            self._db.write(work)

    def record_progress(self, campaign: str, steps: Iterable[Step]) -> None:
        """Statuses the devices answered in ``campaign``, in one transaction (a step answered
        again keeps the latest status; a step with no status is not recorded)."""
        now = time.time()
        rows = [(campaign, s.device, s.step, s.status, now) for s in steps if s.status is not None]
        if rows:
            self._db.write(lambda db: db.executemany(_SAVE_PROGRESS, rows))

    def inventory(self) -> Iterator[tuple[str, str]]:
        """Every device's last known state, ``(device, state JSON)``, in device order, read a
        page at a time."""
        return _pages(self._db, "SELECT device, state FROM campaign_inventory", (), _as_state)

    def plans(self, campaign: str) -> Iterator[PlannedDevice]:
        """Every device's plan in ``campaign``, in device order, read a page at a time."""
        sql = "SELECT device, state, plan, unreachable FROM campaign_plans WHERE campaign = ?"
        return _pages(self._db, sql, (campaign,), _as_plan)

    def plan_of(self, campaign: str, device: str) -> PlannedDevice | None:
        """One device's plan in ``campaign`` (None: the campaign did not plan it)."""
        rows = self._db.read(
            "SELECT device, state, plan, unreachable FROM campaign_plans"
            " WHERE campaign = ? AND device = ?",
            (campaign, device),
        )
        return _as_plan(rows[0]) if rows else None

    def progress(self, campaign: str) -> dict[str, tuple[int | None, ...]]:
        """Each device's statuses in ``campaign`` by step (step 0 first; a step not answered
        is None)."""
        out: dict[str, list[int | None]] = {}
        rows = self._db.read(
            "SELECT device, step, status FROM campaign_progress WHERE campaign = ?"
            " ORDER BY device, step",
            (campaign,),
        )
        for device, step, status in rows:
            statuses = out.setdefault(device, [])
            statuses.extend([None] * (step + 1 - len(statuses)))
            statuses[step] = status
        return {device: tuple(statuses) for device, statuses in out.items()}

    def create_run(self, rollout: Rollout) -> None:
        """Make run ``rollout.id`` (its planned campaign made first, :meth:`create`), left in
        ``creating`` until :meth:`finish_run`; a run left so by a crash is made anew."""

        def work(db: Cursor) -> None:
            rows = db.execute("SELECT state FROM campaign_runs WHERE campaign = ?", (rollout.id,))
            if rows and rows[0][0] == CREATING:
                for table in ("campaign_devices", "campaign_tally", "campaign_events"):
                    db.execute(f"DELETE FROM {table} WHERE campaign = ?", (rollout.id,))
                db.execute("DELETE FROM campaign_runs WHERE campaign = ?", (rollout.id,))
            create_run(db, rollout, ())
            db.execute(
                "UPDATE campaign_runs SET state = ? WHERE campaign = ?", (CREATING, rollout.id)
            )

        self._db.write(work)

    def record_run(
        self,
        campaign: str,
        plans: Sequence[PlannedDevice],
        devices: Sequence[tuple[str, int, str]],
    ) -> None:
        """Devices' plans and their rows in the run (wave, outcome), in one transaction."""
        self.record_plans(campaign, plans, also=lambda db: add_devices(db, campaign, devices))

    def finish_run(self, campaign: str) -> None:
        """The run is made: ``draft``, ready to start."""
        self._db.write(
            lambda db: db.execute(
                "UPDATE campaign_runs SET state = ? WHERE campaign = ? AND state = ?",
                (DRAFT, campaign, CREATING),
            )
        )

    def run_exists(self, campaign: str) -> bool:
        """Whether a run of that id was made (and not left halfway by a crash)."""
        rows = self._db.read("SELECT state FROM campaign_runs WHERE campaign = ?", (campaign,))
        return bool(rows) and rows[0][0] != CREATING

    def write(self, work: Callable[[Cursor], T]) -> T:
        """``work`` in one transaction of this store (the run commands of :mod:`.runs`)."""
        return self._db.write(work)

    def read(self, query: Callable[[Database], T]) -> T:
        return query(self._db)

    def counts(self) -> dict[str, int]:
        """How many rows each campaign table holds."""
        tables = ("campaigns", "campaign_inventory", "campaign_plans", "campaign_progress")
        return {t: int(self._db.read(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def _pages(
    db: Database, select: str, params: tuple[str, ...], make: Callable[[tuple[Any, ...]], T]
) -> Iterator[T]:
    """The rows of ``select`` (whose first column is ``device``) in device order, ``PAGE`` at
    a time: each page is its own query, after the last device of the one before."""
    last: str | None = None
    joiner = " AND" if " WHERE " in select else " WHERE"
    while True:
        where = "" if last is None else f"{joiner} device > ?"
        args = params if last is None else (*params, last)
        rows = db.read(f"{select}{where} ORDER BY device LIMIT {PAGE}", args)
        yield from (make(row) for row in rows)
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def _as_state(row: tuple[Any, ...]) -> tuple[str, str]:
    return str(row[0]), str(row[1])


def _as_plan(row: tuple[Any, ...]) -> PlannedDevice:
    device, state, plan, unreachable = row
    return PlannedDevice(device, state, plan, unreachable)
