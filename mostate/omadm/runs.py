"""Runs: campaigns as operators run them, kept in the store (the tables of :mod:`.schema`,
version 3). ``campaign create`` makes a run in ``draft`` with each device's wave; ``start``,
``pause``, ``resume``, ``cancel`` and ``retry`` move it; ``dm serve`` reads each device's row at
the start of its session and :mod:`.dispatch` moves it on at the end; ``status`` and the live
page read :func:`run_status`, which reads the tally (a few rows) whatever the fleet.

Each change is one transaction (durable when it returns; see :mod:`.database`), recorded as an
event with its reason, so ``status`` can say what happened and why.

>>> import os, tempfile
>>> from .schema import open_store
>>> db = open_store(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
>>> rollout = Rollout("c1", "exists(target)", "new")
>>> db.write(lambda c: create_run(c, rollout, [("d1", 1, PENDING)]))
>>> db.write(lambda c: start(c, "c1"))
'started: wave 1 open'
>>> status = run_status(db, "c1"); status.state, status.open_waves, status.counts
('running', 1, {1: {'pending': 1}})
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .database import Cursor, Database, StoreError
from .dispatch import (
    APPLIED,
    CANCELLED,
    DECLINED,
    DONE,
    DRAFT,
    FAILED,
    MISMATCH,
    PAUSED,
    PENDING,
    RETRYING,
    RUNNING,
    UNREACHABLE,
    RunRow,
    event,
    move_tally,
    open_next,
    review,
    rollout_of,
    set_state,
    tally,
    wave_names,
)
from .rollout import Rollout


class RunError(StoreError):
    """An operator's command that the run's state does not allow (start a running campaign,
    resume one that is not paused...), or a run the store does not hold."""


@attrs.frozen
class RunStatus:
    """A run as ``campaign status`` shows it."""

    campaign: str
    rollout: Rollout = attrs.field(eq=False)
    state: str
    reason: str | None
    open_waves: int
    created: float | None
    started: float | None
    updated: float
    counts: dict[int, dict[str, int]] = attrs.field(eq=False)
    events: tuple[tuple[float, str, str], ...] = ()

    @property
    def waves(self) -> list[str]:
        return wave_names(self.rollout, self.counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "state": self.state,
            "reason": self.reason,
            "open_waves": self.open_waves,
            "created": self.created,
            "started": self.started,
            "updated": self.updated,
            "definition": self.rollout.to_json(),
            "waves": [
                {
                    "wave": k,
                    "name": name,
                    "open": k <= self.open_waves,
                    "devices": dict(sorted(self.counts.get(k, {}).items())),
                }
                for k, name in enumerate(self.waves, 1)
            ],
            "events": [{"at": at, "event": e, "detail": d} for at, e, d in self.events],
        }


def create_run(cursor: Cursor, rollout: Rollout, devices: Iterable[tuple[str, int, str]]) -> None:
    """Make run ``rollout.id`` in ``draft`` (RunError if it exists) with its first devices."""
    if cursor.execute("SELECT 1 FROM campaign_runs WHERE campaign = ?", (rollout.id,)):
        raise RunError(f"campaign {rollout.id!r} exists already: give another id")
    cursor.execute(
        "INSERT INTO campaign_runs (campaign, definition, state, wave, updated)"
        " VALUES (?, ?, ?, 0, ?)",
        (rollout.id, json.dumps(rollout.to_json(), sort_keys=True), DRAFT, time.time()),
    )
    event(cursor, rollout.id, "created", f"goal {rollout.goal!r}, target {rollout.target!r}")
    add_devices(cursor, rollout.id, list(devices))


def add_devices(cursor: Cursor, campaign: str, devices: Sequence[tuple[str, int, str]]) -> None:
    """Devices of a run in ``draft``: ``(device, wave, outcome)`` (pending or unreachable)."""
    now = time.time()
    cursor.executemany(
        "INSERT INTO campaign_devices (campaign, device, wave, outcome, updated)"
        " VALUES (?, ?, ?, ?, ?)",
        [(campaign, d, w, o, now) for d, w, o in devices],
    )
    counted: dict[tuple[int, str], int] = {}
    for _, wave, outcome in devices:
        counted[wave, outcome] = counted.get((wave, outcome), 0) + 1
    for (wave, outcome), n in sorted(counted.items()):
        move_tally(cursor, campaign, wave, None, outcome, n)


def _state(cursor: Cursor, campaign: str) -> tuple[str, str | None]:
    rows = cursor.execute("SELECT state, pause FROM campaign_runs WHERE campaign = ?", (campaign,))
    if not rows:
        raise RunError(f"no campaign {campaign!r} was created in this store (campaign create)")
    return str(rows[0][0]), rows[0][1]


def _expect(cursor: Cursor, campaign: str, allowed: Sequence[str], verb: str) -> str | None:
    state, pause = _state(cursor, campaign)
    if state not in allowed:
        raise RunError(f"campaign {campaign!r} is {state}: it cannot be {verb}")
    return pause


def start(cursor: Cursor, campaign: str) -> str:
    """Start a run in ``draft``: its first wave (holding any device) opens."""
    _expect(cursor, campaign, (DRAFT,), "started")
    cursor.execute(
        "UPDATE campaign_runs SET state = ?, reason = NULL, started = ?, updated = ?"
        " WHERE campaign = ?",
        (RUNNING, time.time(), time.time(), campaign),
    )
    event(cursor, campaign, "started", "by the operator")
    counts = tally(cursor, campaign)
    open_next(cursor, campaign, counts, len(wave_names(_rollout(cursor, campaign), counts)))
    review(cursor, campaign)
    state, wave = _summary(cursor, campaign)
    return f"started: wave {wave} open" if state == RUNNING else f"started, then {state}"


def pause(cursor: Cursor, campaign: str, reason: str = "paused by the operator") -> None:
    _expect(cursor, campaign, (RUNNING,), "paused")
    set_state(cursor, campaign, PAUSED, reason, "operator")


def resume(cursor: Cursor, campaign: str, *, next_wave: bool = False) -> str:
    """Resume a paused run. Paused before a wave (or ``next_wave``): the next wave opens.
    Paused by the failure budget: the open wave's failing devices are acknowledged, and only
    new failures count against the budget."""
    pause_kind = _expect(cursor, campaign, (PAUSED,) if not next_wave else (PAUSED, RUNNING),
                         "resumed")  # fmt: skip
    rollout = _rollout(cursor, campaign)
    counts = tally(cursor, campaign)
    (wave,) = cursor.execute("SELECT wave FROM campaign_runs WHERE campaign = ?", (campaign,))[0]
    cursor.execute(
        "UPDATE campaign_runs SET state = ?, reason = NULL, pause = NULL, updated = ?"
        " WHERE campaign = ?",
        (RUNNING, time.time(), campaign),
    )
    event(cursor, campaign, "resumed", "next wave" if next_wave else f"after a {pause_kind} pause")
    waves = len(wave_names(rollout, counts))
    if (next_wave or pause_kind == "wave") and int(wave) < waves:
        open_next(cursor, campaign, counts, waves)
    elif pause_kind == "budget":
        current = counts.get(int(wave), {})
        failing = sum(current.get(o, 0) for o in (RETRYING, FAILED, MISMATCH))
        cursor.execute(
            "UPDATE campaign_runs SET acknowledged = ? WHERE campaign = ?", (failing, campaign)
        )
    review(cursor, campaign)
    state, opened = _summary(cursor, campaign)
    return f"{state}: wave {opened} of {waves} open"


def cancel(cursor: Cursor, campaign: str) -> None:
    _expect(cursor, campaign, (DRAFT, RUNNING, PAUSED), "cancelled")
    set_state(cursor, campaign, CANCELLED, "cancelled by the operator", None)


RETRYABLE = (FAILED, DECLINED, MISMATCH)


def retry(cursor: Cursor, campaign: str, outcomes: Sequence[str]) -> int:
    """Send the devices of these outcomes (failed, declined, mismatch) their steps again: a
    failed or declined device its unanswered steps, at once and with its retries anew; a
    mismatched one the read-back. A run that was done runs again. How many devices."""
    state, _ = _state(cursor, campaign)
    if state == CANCELLED:
        raise RunError(f"campaign {campaign!r} is cancelled: nothing is retried")
    moved = 0
    for outcome in outcomes:
        target = APPLIED if outcome == MISMATCH else RETRYING
        counted = cursor.execute(
            "SELECT wave, count(*) FROM campaign_devices WHERE campaign = ? AND outcome = ?"
            " GROUP BY wave",
            (campaign, outcome),
        )
        cursor.execute(
            "UPDATE campaign_devices SET outcome = ?, attempts = 0, retry_at = 0, updated = ?"
            " WHERE campaign = ? AND outcome = ?",
            (target, time.time(), campaign, outcome),
        )
        for wave, n in counted:
            move_tally(cursor, campaign, int(wave), outcome, target, int(n))
            moved += int(n)
    if moved:
        event(cursor, campaign, "retry", f"{moved} device(s) ({', '.join(outcomes)}) sent again")
        if state == DONE:
            set_state(cursor, campaign, RUNNING, f"{moved} device(s) retried", None)
    return moved


def _rollout(cursor: Cursor, campaign: str) -> Rollout:
    (text,) = cursor.execute(
        "SELECT definition FROM campaign_runs WHERE campaign = ?", (campaign,)
    )[0]
    return rollout_of(str(text))


def _summary(cursor: Cursor, campaign: str) -> tuple[str, int]:
    state, wave = cursor.execute(
        "SELECT state, wave FROM campaign_runs WHERE campaign = ?", (campaign,)
    )[0]
    return str(state), int(wave)


# --- reads ------------------------------------------------------------------------------------


def run_rows(db: Database, device: str) -> dict[str, RunRow]:
    """Every run of the store, with ``device``'s row in it (wave None: not in that run)."""
    rows = db.read(
        "SELECT r.campaign, r.state, r.wave, r.definition, d.wave, d.outcome, d.retry_at"
        " FROM campaign_runs r LEFT JOIN campaign_devices d"
        " ON d.campaign = r.campaign AND d.device = ?",
        (device,),
    )
    return {
        str(c): RunRow(
            str(c),
            str(state),
            int(opened),
            rollout_of(str(definition)),
            None if wave is None else int(wave),
            None if outcome is None else str(outcome),
            float(retry_at or 0.0),
        )
        for c, state, opened, definition, wave, outcome, retry_at in rows
    }


def run_status(db: Database, campaign: str, events: int = 20) -> RunStatus:
    """A run's state, definition, devices by wave and outcome, and its last ``events``."""
    rows = db.read(
        "SELECT definition, state, reason, wave, started, updated FROM campaign_runs"
        " WHERE campaign = ?",
        (campaign,),
    )
    if not rows:
        raise RunError(f"no campaign {campaign!r} was created in this store (campaign create)")
    definition, state, reason, wave, started, updated = rows[0]
    counts: dict[int, dict[str, int]] = {}
    for w, outcome, n in db.read(
        "SELECT wave, outcome, devices FROM campaign_tally WHERE campaign = ? AND devices > 0",
        (campaign,),
    ):
        counts.setdefault(int(w), {})[str(outcome)] = int(n)
    made = db.read("SELECT created FROM campaigns WHERE campaign = ?", (campaign,))
    history = db.read(
        "SELECT at, event, detail FROM campaign_events WHERE campaign = ? ORDER BY at DESC LIMIT ?",
        (campaign, events),
    )
    return RunStatus(
        campaign,
        rollout_of(str(definition)),
        str(state),
        reason,
        int(wave),
        float(made[0][0]) if made else None,
        None if started is None else float(started),
        float(updated),
        counts,
        tuple((float(a), str(e), str(d)) for a, e, d in reversed(history)),
    )


def runs(db: Database) -> list[str]:
    """The runs of the store, in the order their campaigns were made."""
    rows = db.read(
        "SELECT r.campaign FROM campaign_runs r LEFT JOIN campaigns c ON c.campaign = r.campaign"
        " ORDER BY c.seq, r.campaign"
    )
    return [str(c) for (c,) in rows]


@attrs.frozen
class Listed:
    """One device of a run in a listing (failed, declined, mismatched...)."""

    device: str
    wave: int
    attempts: int
    expected: Any = None
    observed: Any = None
    status: int | None = None
    step: str | None = None


def listing(db: Database, campaign: str, outcome: str, limit: int = 100) -> list[Listed]:
    """Up to ``limit`` devices of ``outcome`` in a run, by device id, each with the status and
    request of its first step that did not answer 200 (and, for a mismatch, both records)."""
    rows = db.read(
        "SELECT device, wave, attempts, expected, observed FROM campaign_devices"
        " WHERE campaign = ? AND outcome = ? ORDER BY device LIMIT ?",
        (campaign, outcome, limit),
    )
    out = []
    for device, wave, attempts, expected, observed in rows:
        first = db.read(
            "SELECT status, request FROM steps WHERE campaign = ? AND device = ? AND status <> 200"
            " ORDER BY step LIMIT 1",
            (campaign, device),
        )
        out.append(
            Listed(
                str(device),
                int(wave),
                int(attempts),
                None if expected is None else json.loads(expected),
                None if observed is None else json.loads(observed),
                int(first[0][0]) if first else None,
                str(first[0][1]) if first else None,
            )
        )
    return out


def step_counts(db: Database, campaign: str) -> list[tuple[str, int, int]]:
    """How many devices answered each distinct request of a run with each status:
    ``(request JSON, status, devices)``, by request then status."""
    rows = db.read(
        "SELECT request, status, count(*) FROM steps WHERE campaign = ?"
        " GROUP BY request, status ORDER BY request, status",
        (campaign,),
    )
    return [(str(r), int(s), int(n)) for r, s, n in rows]


__all__ = [
    "PENDING",
    "UNREACHABLE",
    "RunError",
    "RunStatus",
    "cancel",
    "create_run",
    "pause",
    "resume",
    "retry",
    "run_rows",
    "run_status",
    "start",
]
