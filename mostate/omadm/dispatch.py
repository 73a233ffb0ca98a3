"""Which steps of a run campaign a device gets now, and what its answers make of it.

A campaign created with ``campaign create`` is *run* (:mod:`.runs`): each device has a wave and
an outcome, and the run a state. At the start of a device's session, :func:`decide` gives the
device, for each run campaign, nothing when the run is not ``running``, its wave is not open,
the time is outside the campaign's windows (in the device's own time zone when it says one), or
its last failure waits for its backoff; else the steps of its plan not yet answered 200, in
order, followed (``verify``) by a read-back (``get``) of every instance the plan touches. What
the read-back must show is worked out then, by the engine: the plan's steps applied to the
state it was planned from, those answered earlier first, in the order they were answered.

When the session's answers are stored, :func:`settle` (in the same transaction) moves the
device on: ``verified`` when every step was answered 200 and the read-back equals the
prediction, ``mismatch`` (with both records) when it does not, ``applied`` when the read-back is
still to come (or not asked for), ``declined`` on a 215, ``retrying`` (with the time of the next
try) or ``failed`` once the retries are spent on any other status, ``working`` when the session
ended halfway. :func:`review` then applies the run's rules: the failure budget (pause, saying
why), the wave's success threshold (open the next wave, or pause before it) and the end.
Nothing here waits: the caller runs it on the store's threads (:mod:`.worker`).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..engine import Engine
from ..model import Confirm, DeviceState, Instance, Request, Status
from .database import Cursor
from .rollout import Rollout
from .server import Report

# The outcomes of a device in a run. Terminal ones get nothing more unless retried in bulk.
PENDING, WORKING, RETRYING = "pending", "working", "retrying"
APPLIED, VERIFIED, MISMATCH = "applied", "verified", "mismatch"
DECLINED, FAILED, UNREACHABLE = "declined", "failed", "unreachable"
OUTCOMES = (PENDING, WORKING, RETRYING, APPLIED, VERIFIED, MISMATCH, DECLINED, FAILED, UNREACHABLE)
FAILING = (RETRYING, FAILED, MISMATCH)
"""The outcomes the failure budget counts: a command failed (retried or not), or the read-back
did not match."""

DRAFT, RUNNING, PAUSED, CANCELLED, DONE = "draft", "running", "paused", "cancelled", "done"


@attrs.frozen
class Check:
    """A read-back: step ``step`` gets instance ``instance``, which should be ``expected`` (None:
    it should not exist, a 404)."""

    step: int
    instance: str
    expected: Instance | None


@attrs.frozen
class Dispatch:
    """What a session sends a device of one run campaign, for :func:`settle`: how long its plan
    is, which of its steps go now, the read-backs and the rules of the run."""

    campaign: str
    plan_steps: int
    sent: tuple[int, ...]
    checks: tuple[Check, ...]
    rollout: Rollout = attrs.field(eq=False)


@attrs.frozen
class RunRow:
    """What the store says of one run and of one device in it, at the start of a session."""

    campaign: str
    state: str
    open_waves: int
    rollout: Rollout
    wave: int | None
    outcome: str | None
    retry_at: float


@attrs.frozen
class Answered:
    """A plan step the device answered: its status and when it was stored."""

    status: int
    at: float


def decide(
    engine: Engine,
    run: RunRow,
    plan: Sequence[Request],
    planned_state: DeviceState | None,
    answered: Mapping[int, Answered],
    *,
    now: float,
    zone: str | None = None,
) -> tuple[tuple[tuple[int, Request], ...], Dispatch | None]:
    """The steps (number, request) ``run``'s device gets now, and what to settle them by.

    >>> from mostate import load_spec, Actor
    >>> rollout = Rollout("c", "exists(target)", "new")
    >>> run = RunRow("c", RUNNING, 1, rollout, 1, PENDING, 0.0)
    >>> add = Request(Actor.server(), "add", "MMS", "new")
    >>> steps, dispatch = decide(Engine(load_spec()), run, [add], DeviceState(), {}, now=0.0)
    >>> [(k, r.op) for k, r in steps], dispatch.checks[0].expected.to_json()
    ([(0, 'add'), (1, 'get')], {'active': False, 'default': False, 'locked': False, 'params': {}})
    """
    if not _eligible(run, now, zone) or not plan:
        return (), None
    rollout = run.rollout
    todo = [k for k in range(len(plan)) if _status(answered, k) != Status.OK]
    if not todo and (not rollout.verify or run.outcome != APPLIED):
        return (), None
    checks = _checks(engine, rollout, plan, planned_state, answered, todo) if rollout.verify else ()
    ask = Confirm.ACCEPT if rollout.consent else None
    steps = [(k, attrs.evolve(plan[k], confirm=ask)) for k in todo]
    actor = plan[0].actor
    steps += [(c.step, Request(actor, "get", rollout.service, c.instance)) for c in checks]
    return tuple(steps), Dispatch(run.campaign, len(plan), tuple(todo), checks, rollout)


def _eligible(run: RunRow, now: float, zone: str | None) -> bool:
    if run.state != RUNNING or run.wave is None or run.wave > run.open_waves:
        return False
    if run.outcome in (VERIFIED, MISMATCH, DECLINED, FAILED, UNREACHABLE):
        return False
    if run.outcome == APPLIED and not run.rollout.verify:
        return False
    if run.outcome == RETRYING and run.retry_at > now:
        return False
    return run.rollout.in_window(now, zone)


def _status(answered: Mapping[int, Answered], step: int) -> int | None:
    found = answered.get(step)
    return None if found is None else found.status


def _checks(
    engine: Engine,
    rollout: Rollout,
    plan: Sequence[Request],
    start: DeviceState | None,
    answered: Mapping[int, Answered],
    todo: Sequence[int],
) -> tuple[Check, ...]:
    """A read-back of each instance the plan names (of the campaign's service), with the record
    the engine predicts: the steps answered 200 before, in the order they were, then ``todo``."""
    if start is None:
        return ()
    done = sorted((a.at, k) for k, a in answered.items() if a.status == Status.OK and k < len(plan))
    state = start
    for k in [k for _, k in done] + list(todo):
        state = engine.apply(state, plan[k]).state
    names = sorted({r.instance for r in plan if r.instance and r.service == rollout.service})
    records = state.service(rollout.service).instances
    return tuple(Check(len(plan) + j, name, records.get(name)) for j, name in enumerate(names))


# --- after the session: the device's outcome, the tally, the run's rules -----------------------


def settle(cursor: Cursor, device: str, dispatch: Dispatch, reports: Mapping[int, Report]) -> None:
    """Move ``device`` on in ``dispatch``'s run after a session whose answers (by step) were
    just stored, in the caller's transaction; then apply the run's rules."""
    rows = cursor.execute(
        "SELECT outcome, attempts, wave FROM campaign_devices WHERE campaign = ? AND device = ?",
        (dispatch.campaign, device),
    )
    if not rows:
        return
    old, attempts, wave = str(rows[0][0]), int(rows[0][1]), int(rows[0][2])
    statuses = dict(
        cursor.execute(
            "SELECT step, status FROM steps WHERE campaign = ? AND device = ? AND step < ?",
            (dispatch.campaign, device, dispatch.plan_steps),
        )
    )
    now = time.time()
    new = _outcome(dispatch, old, attempts, statuses, reports, now)
    if new is None:
        return
    outcome, attempts, retry_at, expected, observed = new
    cursor.execute(
        "UPDATE campaign_devices SET outcome = ?, attempts = ?, retry_at = ?, expected = ?,"
        " observed = ?, updated = ? WHERE campaign = ? AND device = ?",
        (outcome, attempts, retry_at, expected, observed, now, dispatch.campaign, device),
    )
    if outcome != old:
        move_tally(cursor, dispatch.campaign, wave, old, outcome)
        review(cursor, dispatch.campaign)


_Settled = tuple[str, int, float, str | None, str | None]


def _outcome(
    dispatch: Dispatch,
    old: str,
    attempts: int,
    statuses: Mapping[int, int],
    reports: Mapping[int, Report],
    now: float,
) -> _Settled | None:
    """The device's (outcome, attempts, retry_at, expected, observed); None: no change."""
    if not any(k in reports for k in (*dispatch.sent, *(c.step for c in dispatch.checks))):
        return None  # the session answered nothing of this campaign: as it was
    steps = range(dispatch.plan_steps)
    failing = next((statuses[k] for k in steps if statuses.get(k, Status.OK) != Status.OK), None)
    if failing is not None and any(k in reports for k in dispatch.sent):
        return _failed(dispatch.rollout, failing, attempts, now)
    if failing is not None or any(k not in statuses for k in steps):
        some = any(statuses.get(k) == Status.OK for k in steps)
        return (WORKING if some else old, attempts, 0.0, None, None)
    if not dispatch.checks or not all(c.step in reports for c in dispatch.checks):
        return (APPLIED, attempts, 0.0, None, None)
    expected, observed = _read_back(dispatch.checks, reports)
    if expected == observed:
        return (VERIFIED, attempts, 0.0, None, None)
    return (MISMATCH, attempts, 0.0, json.dumps(expected), json.dumps(observed))


def _failed(rollout: Rollout, status: int, attempts: int, now: float) -> _Settled:
    policy = rollout.retry
    tried = attempts + 1
    if status == Status.NOT_EXECUTED and not policy.declined:
        return (DECLINED, tried, 0.0, None, None)
    if tried > policy.retries:
        return (DECLINED if status == Status.NOT_EXECUTED else FAILED, tried, 0.0, None, None)
    return (RETRYING, tried, now + policy.delay(tried), None, None)


def _read_back(
    checks: Sequence[Check], reports: Mapping[int, Report]
) -> tuple[dict[str, object], dict[str, object]]:
    """The records predicted and the records read, by instance (None: missing, or a status
    other than 200 and 404 as ``{"status": N}``)."""
    expected: dict[str, object] = {}
    observed: dict[str, object] = {}
    for check in checks:
        report = reports[check.step]
        expected[check.instance] = None if check.expected is None else check.expected.to_json()
        if report.status == Status.OK and isinstance(report.result, Instance):
            observed[check.instance] = report.result.to_json()
        elif report.status == Status.NOT_FOUND:
            observed[check.instance] = None
        else:
            observed[check.instance] = {"status": report.status, "note": report.note}
    return expected, observed


def move_tally(
    cursor: Cursor, campaign: str, wave: int, old: str | None, new: str, n: int = 1
) -> None:
    """``n`` devices of ``wave`` go from outcome ``old`` (None: new devices) to ``new``."""
    if old is not None:
        cursor.execute(
            "UPDATE campaign_tally SET devices = devices - ? WHERE campaign = ? AND wave = ?"
            " AND outcome = ?",
            (n, campaign, wave, old),
        )
    cursor.execute(
        "INSERT INTO campaign_tally (campaign, wave, outcome, devices) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (campaign, wave, outcome) DO UPDATE SET devices ="
        " campaign_tally.devices + excluded.devices",
        (campaign, wave, new, n),
    )


def tally(cursor: Cursor, campaign: str) -> dict[int, dict[str, int]]:
    """Devices by wave and outcome."""
    out: dict[int, dict[str, int]] = {}
    for wave, outcome, devices in cursor.execute(
        "SELECT wave, outcome, devices FROM campaign_tally WHERE campaign = ?", (campaign,)
    ):
        out.setdefault(int(wave), {})[str(outcome)] = int(devices)
    return out


def event(cursor: Cursor, campaign: str, kind: str, detail: str) -> None:
    cursor.execute(
        "INSERT INTO campaign_events (campaign, at, event, detail) VALUES (?, ?, ?, ?)",
        (campaign, time.time(), kind, detail),
    )


def review(cursor: Cursor, campaign: str) -> None:
    """Apply the run's rules after its devices changed: pause it when the open wave's failing
    devices pass the budget; open the next wave (or pause before it) when the open one reached
    its threshold; mark it done when no device has anything left to do."""
    rows = cursor.execute(
        "SELECT state, wave, acknowledged, definition FROM campaign_runs WHERE campaign = ?",
        (campaign,),
    )
    if not rows or rows[0][0] != RUNNING:
        return
    open_waves, acknowledged = int(rows[0][1]), int(rows[0][2])
    rollout = rollout_of(str(rows[0][3]))
    counts = tally(cursor, campaign)
    current = counts.get(open_waves, {})
    size = sum(current.values())
    failing = sum(current.get(o, 0) for o in FAILING)
    allowed = rollout.budget.allowed(size)
    if failing - acknowledged > allowed:
        why = (
            f"failure budget: {failing} of {size} devices of wave {open_waves} failing "
            f"(at most {allowed} allowed)"
        )
        set_state(cursor, campaign, PAUSED, why, "budget")
        return
    waves = len(wave_names(rollout, counts))
    if open_waves < waves and reached(rollout, current, open_waves):
        wave = rollout.waves[open_waves - 1] if open_waves <= len(rollout.waves) else None
        if wave is not None and wave.pause_after:
            why = f"wave {open_waves} reached its threshold: resume to open wave {open_waves + 1}"
            set_state(cursor, campaign, PAUSED, why, "wave")
            return
        open_next(cursor, campaign, counts, waves)
        return
    if open_waves >= waves and not any(
        counts.get(w, {}).get(o, 0) for w in counts for o in _unsettled(rollout)
    ):
        set_state(cursor, campaign, DONE, "every device is settled", None)


def _unsettled(rollout: Rollout) -> tuple[str, ...]:
    return (PENDING, WORKING, RETRYING, APPLIED) if rollout.verify else (PENDING, WORKING, RETRYING)


def success(rollout: Rollout, counts: Mapping[str, int]) -> tuple[int, int]:
    """(succeeded, counted) of one wave: verified (or applied, when nothing is read back) out
    of the devices that can reach the goal."""
    ok = counts.get(VERIFIED, 0) + (0 if rollout.verify else counts.get(APPLIED, 0))
    return ok, sum(counts.values()) - counts.get(UNREACHABLE, 0)


def reached(rollout: Rollout, counts: Mapping[str, int], wave: int) -> bool:
    """Whether wave ``wave`` (from 1) reached its success threshold (the leftover wave's is
    the last wave's)."""
    ok, counted = success(rollout, counts)
    threshold = rollout.waves[min(wave, len(rollout.waves)) - 1].threshold
    return counted == 0 or ok >= threshold * counted


def wave_names(rollout: Rollout, counts: Mapping[int, Mapping[str, int]]) -> list[str]:
    """The names of the run's waves: the definition's, and ``rest`` when devices were left."""
    names = [w.name for w in rollout.waves]
    if any(w > len(names) for w in counts):
        names.append("rest")
    return names


def open_next(
    cursor: Cursor, campaign: str, counts: Mapping[int, Mapping[str, int]], waves: int
) -> None:
    """Open the next wave (and those after it that hold no device)."""
    (current,) = cursor.execute("SELECT wave FROM campaign_runs WHERE campaign = ?", (campaign,))[0]
    wave = int(current) + 1
    while wave < waves and not sum(counts.get(wave, {}).values()):
        wave += 1
    cursor.execute(
        "UPDATE campaign_runs SET wave = ?, acknowledged = 0, updated = ? WHERE campaign = ?",
        (wave, time.time(), campaign),
    )
    event(cursor, campaign, "wave", f"wave {wave} opened")


def set_state(cursor: Cursor, campaign: str, state: str, reason: str, pause: str | None) -> None:
    cursor.execute(
        "UPDATE campaign_runs SET state = ?, reason = ?, pause = ?, updated = ? WHERE campaign = ?",
        (state, reason, pause, time.time(), campaign),
    )
    event(cursor, campaign, state, reason)


def answered_steps(rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[int, Answered]]:
    """Rows ``(campaign, step, status, at)`` of the steps table, by campaign and step."""
    out: dict[str, dict[int, Answered]] = {}
    for campaign, step, status, at in rows:
        out.setdefault(str(campaign), {})[int(step)] = Answered(int(status), float(at))
    return out


@functools.lru_cache(maxsize=64)
def rollout_of(definition: str) -> Rollout:
    """The rollout a run's stored definition holds (read once per distinct text)."""
    return Rollout.from_json(json.loads(definition))
