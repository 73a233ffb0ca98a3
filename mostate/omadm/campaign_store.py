"""A fleet campaign's state, in the same store as ``dm serve`` (a SQLite file, or a PostgreSQL
database named by a URL): the inventory, each device's plan, and each device's progress.

Three tables, created beside the server's own unless there (``CREATE TABLE IF NOT EXISTS``, so
an existing store file takes them without losing anything):

- ``campaign_inventory``: device -> its last known state (JSON text);
- ``campaign_plans``: device -> the state it was planned from, the campaign's goal, target and
  service, and either its plan (a JSON list of requests) or why the goal is unreachable;
- ``campaign_progress``: (device, step) -> the status the device answered, and when.

The store promises what :mod:`mostate.omadm.database` promises: each call that writes is one
transaction, durable when it returns, serialised with every other writer (a PostgreSQL conflict
is run again), so two writers lose nothing and a crash loses no batch that was acknowledged.
Recording a device's plan clears its progress: step numbers name the steps of one plan. The
store holds text, never the engine's types; :mod:`mostate.campaign` reads and writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .database import Cursor, Database, open_with

T = TypeVar("T")
PAGE = 5_000
"""Rows read per query when a table is streamed: memory holds a page, whatever the fleet."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaign_inventory (
    device TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_plans (
    device TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    goal TEXT NOT NULL,
    target TEXT NOT NULL,
    service TEXT NOT NULL,
    plan TEXT,
    unreachable TEXT,
    planned {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_progress (
    device TEXT NOT NULL,
    step INTEGER NOT NULL,
    status INTEGER,
    at {real} NOT NULL,
    PRIMARY KEY (device, step)
);
"""
_SAVE_STATE = (
    "INSERT INTO campaign_inventory (device, state, updated) VALUES (?, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET state = excluded.state, updated = excluded.updated"
)
_SAVE_PLAN = (
    "INSERT INTO campaign_plans (device, state, goal, target, service, plan, unreachable,"
    " planned) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET state = excluded.state, goal = excluded.goal,"
    " target = excluded.target, service = excluded.service, plan = excluded.plan,"
    " unreachable = excluded.unreachable, planned = excluded.planned"
)
_CLEAR_PROGRESS = "DELETE FROM campaign_progress WHERE device = ?"
_SAVE_PROGRESS = (
    "INSERT INTO campaign_progress (device, step, status, at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (device, step) DO UPDATE SET status = excluded.status, at = excluded.at"
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
    """A campaign's state in a store: a SQLite file path or a ``postgresql://`` URL.

    >>> import tempfile, os
    >>> store = CampaignStore(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
    >>> goal = CampaignGoal("exists(target)", "new")
    >>> store.record_plans(goal, [PlannedDevice("d1", "{}", '[{"op": "add"}]')])
    >>> store.record_progress([Step("d1", 0, 200)])
    >>> [p.device for p in store.plans()], store.progress()
    (['d1'], {'d1': (200,)})
    >>> store.close()
    """

    def __init__(self, where: str | Path) -> None:
        self._db: Database = open_with(str(where), _SCHEMA)
        self.where = self._db.where
        """The store as named, with a URL's password hidden."""

    def close(self) -> None:
        self._db.close()

    def record_inventory(self, states: Sequence[tuple[str, str]]) -> None:
        """Devices' last known states, ``(device, state JSON)``, in one transaction."""
        now = time.time()
        rows = [(device, state, now) for device, state in states]
        if rows:
            self._db.write(lambda db: db.executemany(_SAVE_STATE, rows))

    def record_plans(self, goal: CampaignGoal, plans: Sequence[PlannedDevice]) -> None:
        """Devices' plans for ``goal``, with the states they were planned from as their
        inventory, in one transaction; each device's earlier progress is cleared."""
        now = time.time()
        states = [(p.device, p.state, now) for p in plans]
        rows = [
            (p.device, p.state, goal.goal, goal.target, goal.service, p.plan, p.unreachable, now)
            for p in plans
        ]
        devices = [(p.device,) for p in plans]

        def work(db: Cursor) -> None:
            db.executemany(_SAVE_STATE, states)
            db.executemany(_SAVE_PLAN, rows)
            db.executemany(_CLEAR_PROGRESS, devices)

        if plans:
            self._db.write(work)

    def record_progress(self, steps: Iterable[Step]) -> None:
        """Statuses the devices answered, in one transaction (a step answered again keeps the
        latest status)."""
        now = time.time()
        rows = [(s.device, s.step, s.status, now) for s in steps]
        if rows:
            self._db.write(lambda db: db.executemany(_SAVE_PROGRESS, rows))

    def goal(self) -> CampaignGoal | None:
        """The goal the latest plan was made for; None before any plan."""
        rows = self._db.read(
            "SELECT goal, target, service FROM campaign_plans ORDER BY planned DESC LIMIT 1"
        )
        return CampaignGoal(*rows[0]) if rows else None

    def inventory(self) -> Iterator[tuple[str, str]]:
        """Every device's last known state, ``(device, state JSON)``, in device order, read a
        page at a time."""
        return _pages(self._db, "SELECT device, state FROM campaign_inventory", _as_state)

    def plans(self) -> Iterator[PlannedDevice]:
        """Every device's plan, in device order, read a page at a time."""
        sql = "SELECT device, state, plan, unreachable FROM campaign_plans"
        return _pages(self._db, sql, _as_plan)

    def plan_of(self, device: str) -> PlannedDevice | None:
        """One device's plan (None: the campaign did not plan it)."""
        rows = self._db.read(
            "SELECT device, state, plan, unreachable FROM campaign_plans WHERE device = ?",
            (device,),
        )
        return _as_plan(rows[0]) if rows else None

    def progress(self) -> dict[str, tuple[int | None, ...]]:
        """Each device's statuses by step (step 0 first; a step not answered is None)."""
        out: dict[str, list[int | None]] = {}
        rows = self._db.read(
            "SELECT device, step, status FROM campaign_progress ORDER BY device, step"
        )
        for device, step, status in rows:
            statuses = out.setdefault(device, [])
            statuses.extend([None] * (step + 1 - len(statuses)))
            statuses[step] = status
        return {device: tuple(statuses) for device, statuses in out.items()}

    def counts(self) -> dict[str, int]:
        """How many rows each campaign table holds."""
        tables = ("campaign_inventory", "campaign_plans", "campaign_progress")
        return {t: int(self._db.read(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def _pages(db: Database, select: str, make: Callable[[tuple[Any, ...]], T]) -> Iterator[T]:
    """The rows of ``select`` (whose first column is ``device``) in device order, ``PAGE`` at
    a time: each page is its own query, after the last device of the one before."""
    last = ""
    first = True
    while True:
        where = "" if first else " WHERE device > ?"
        params: tuple[str, ...] = () if first else (last,)
        rows = db.read(f"{select}{where} ORDER BY device LIMIT {PAGE}", params)
        yield from (make(row) for row in rows)
        if len(rows) < PAGE:
            return
        last, first = rows[-1][0], False


def _as_state(row: tuple[Any, ...]) -> tuple[str, str]:
    return str(row[0]), str(row[1])


def _as_plan(row: tuple[Any, ...]) -> PlannedDevice:
    device, state, plan, unreachable = row
    return PlannedDevice(device, state, plan, unreachable)
