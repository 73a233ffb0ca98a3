"""Runs, one rule at a time, on a real store without the network: what a device gets now
(:func:`mostate.omadm.campaigns.work_for`) and what its answers make of it and of the run
(:func:`mostate.omadm.store.record_session`), with statuses written as a device would answer."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import json
from collections.abc import Sequence

import pytest

from mostate import Actor, DeviceState, Engine, Instance, Request
from mostate.omadm.campaign_store import CampaignGoal, CampaignStore, PlannedDevice
from mostate.omadm.campaigns import PLANNED, PlanCache, ServedCampaign, Work, work_for
from mostate.omadm.dispatch import (
    APPLIED,
    DECLINED,
    DONE,
    FAILED,
    MISMATCH,
    PAUSED,
    RETRYING,
    RUNNING,
    VERIFIED,
)
from mostate.omadm.rollout import Rollout, RolloutError
from mostate.omadm.runs import RunError, cancel, pause, resume, retry, run_status, start
from mostate.omadm.server import Report
from mostate.omadm.session import Nonces
from mostate.omadm.store import SessionRecord, Store, record_session

ADD = Request(Actor.server(), "add", "MMS", "new")
ACTIVE = Request(Actor.server(), "set_active", "MMS", "new", args={"value": True})  # type: ignore[arg-type]
PLAN = [ADD, ACTIVE]
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "module",
    ["rollout", "runs", "dispatch", "fleet"],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"mostate.omadm.{module}"))
    assert result.failed == 0 and result.attempted > 0


def test_campaign_doctests() -> None:
    for name in ("mostate.campaign.waves", "mostate.campaign.preflight"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"waves": []}, "waves: at least one wave"),
        ({"waves": [{"percent": 60}, {"percent": 50}]}, "add up to more than 100"),
        ({"waves": [{"percent": 10, "rule": "true"}]}, "waves[0]: one of percent"),
        ({"budget": {"percent": 150}}, "budget.percent"),
        ({"retry": {"retries": -1}}, "retry.retries"),
        ({"windows": [{"start": "25:00", "end": "01:00"}]}, "windows[0].start"),
        ({"windows": [{"days": ["someday"], "start": "01:00", "end": "02:00"}]}, "someday"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"target": "a/b"}, "target"),
        ({"colour": "red"}, "colour: unknown key"),
    ],
)
def test_a_bad_definition_names_its_key(data: dict[str, object], says: str) -> None:
    with pytest.raises(RolloutError) as caught:
        Rollout.from_json({"id": "c", "goal": "exists(target)", "target": "new", **data})
    assert says in str(caught.value)


def _store(where: str, rollout: Rollout, devices: Sequence[tuple[str, int]]) -> CampaignStore:
    store = CampaignStore(where)
    store.create(rollout.id, CampaignGoal(rollout.goal, rollout.target))
    store.create_run(rollout)
    plan = json.dumps([r.to_json() for r in PLAN])
    rows = [PlannedDevice(d, "{}", plan) for d, _ in devices]
    store.record_run(rollout.id, rows, [(d, w, "pending") for d, w in devices])
    store.finish_run(rollout.id)
    return store


def _work(
    engine: Engine, where: str, device: str, now: float = NOW, zone: str | None = None
) -> Work:
    store = Store(where)
    try:
        served = [ServedCampaign("c", PLANNED)]
        return work_for(store.db, device, served, PlanCache(), engine=engine, now=now, zone=zone)
    finally:
        store.close()


def _answer(where: str, device: str, work: Work, statuses: Sequence[int | None],
            reads: dict[int, Report] | None = None) -> None:  # fmt: skip
    """Store what the device answered to ``work``'s tasks: ``statuses`` in order for the plan
    steps sent, and the read-backs as given (else each read-back 200 with the engine's record)."""
    results = []
    plan_tasks = [t for t in work.tasks if t.request.op != "get"]
    for task, status in zip(plan_tasks, statuses, strict=False):
        if status is not None:
            results.append((task, Report(task.request, status)))
    for check in (c for d in work.dispatches for c in d.checks):
        task = next(t for t in work.tasks if t.step == check.step)
        report = (reads or {}).get(check.step) or Report(task.request, 200, check.expected)
        results.append((task, report))
    record = SessionRecord(device, {}, Nonces(), tuple(results), True, work.dispatches)
    store = Store(where)
    try:
        store.db.write(lambda c: record_session(c, record))
    finally:
        store.close()


def _outcome(where: str, device: str) -> tuple[str, int]:
    store = Store(where)
    try:
        rows = store.db.read(
            "SELECT outcome, attempts FROM campaign_devices WHERE device = ?", (device,)
        )
    finally:
        store.close()
    return str(rows[0][0]), int(rows[0][1])


def _run(store: CampaignStore, work: object) -> object:
    return store.write(work)  # type: ignore[arg-type]


def test_a_device_gets_its_plan_and_a_read_back_then_is_verified(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    rollout = Rollout("c", "exists(target) and active(target)", "new")
    store = _store(where, rollout, [("d1", 1)])
    assert _work(engine, where, "d1").tasks == ()  # a draft sends nothing
    store.write(lambda c: start(c, "c"))
    work = _work(engine, where, "d1")
    assert [(t.step, t.request.op) for t in work.tasks] == [
        (0, "add"),
        (1, "set_active"),
        (2, "get"),
    ]
    expected = work.dispatches[0].checks[0].expected
    assert expected == Instance(active=True)  # what the engine predicts of the target
    _answer(where, "d1", work, [200, 200])
    assert _outcome(where, "d1") == (VERIFIED, 0)
    assert _work(engine, where, "d1").tasks == ()
    assert store.read(lambda db: run_status(db, "c")).state == DONE
    store.close()


def test_a_read_back_that_differs_is_a_mismatch_with_both_records(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    store = _store(where, Rollout("c", "active(target)", "new"), [("d1", 1)])
    store.write(lambda c: start(c, "c"))
    work = _work(engine, where, "d1")
    get = work.tasks[-1]
    _answer(where, "d1", work, [200, 200], {get.step: Report(get.request, 200, Instance())})
    assert _outcome(where, "d1") == (MISMATCH, 0)
    rows = store.read(lambda db: db.read("SELECT expected, observed FROM campaign_devices"))
    expected, observed = (json.loads(x) for x in rows[0])
    assert expected["new"]["active"] is True and observed["new"]["active"] is False
    store.close()


def test_a_failure_is_retried_after_its_backoff_then_fails_for_good(
    tmp_path: object, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    rollout = Rollout.from_json({"id": "c", "goal": "active(target)", "target": "new",
                                 "retry": {"retries": 1, "backoff_s": 100}})  # fmt: skip
    store = _store(where, rollout, [("d1", 1), ("d2", 1)])
    store.write(lambda c: start(c, "c"))
    monkeypatch.setattr("mostate.omadm.dispatch.time.time", lambda: NOW)
    work = _work(engine, where, "d1")
    _answer(where, "d1", work, [200, 500])
    assert _outcome(where, "d1") == (RETRYING, 1)
    assert _work(engine, where, "d1", NOW + 99).tasks == ()  # its backoff is not over
    again = _work(engine, where, "d1", NOW + 101)
    assert [t.request.op for t in again.tasks] == ["set_active", "get"]  # only what failed
    _answer(where, "d1", again, [500])
    assert _outcome(where, "d1") == (FAILED, 2)
    assert _work(engine, where, "d1", NOW + 10_000).tasks == ()
    assert store.write(lambda c: retry(c, "c", ["failed"])) == 1
    assert [t.request.op for t in _work(engine, where, "d1").tasks] == ["set_active", "get"]
    store.close()


def test_a_declined_step_is_not_retried_unless_the_campaign_says_so(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    for declined, outcome in ((False, DECLINED), (True, RETRYING)):
        path = f"{where}-{declined}"
        rollout = Rollout.from_json({"id": "c", "goal": "active(target)", "target": "new",
                                     "consent": True, "retry": {"declined": declined}})  # fmt: skip
        store = _store(path, rollout, [("d1", 1)])
        store.write(lambda c: start(c, "c"))
        work = _work(engine, path, "d1")
        assert all(t.request.confirm is not None for t in work.tasks[:2])  # the user is asked
        _answer(path, "d1", work, [215, 404])
        assert _outcome(path, "d1")[0] == outcome
        store.close()


def test_the_budget_pauses_the_run_and_says_why_resume_counts_only_new_failures(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    rollout = Rollout.from_json({"id": "c", "goal": "active(target)", "target": "new",
                                 "budget": {"devices": 1}, "retry": {"backoff_s": 0}})  # fmt: skip
    devices = [f"d{k}" for k in range(5)]
    store = _store(where, rollout, [(d, 1) for d in devices])
    store.write(lambda c: start(c, "c"))
    for device in devices[:2]:
        _answer(where, device, _work(engine, where, device), [500])
    status = store.read(lambda db: run_status(db, "c"))
    assert status.state == PAUSED
    assert status.reason == "failure budget: 2 of 5 devices of wave 1 failing (at most 1 allowed)"
    assert _work(engine, where, "d4").tasks == ()  # paused: nothing for anyone
    store.write(lambda c: resume(c, "c"))
    _answer(where, "d2", _work(engine, where, "d2"), [500])  # one new failure: allowed
    assert store.read(lambda db: run_status(db, "c")).state == RUNNING
    _answer(where, "d3", _work(engine, where, "d3"), [500])  # a second: over the budget again
    assert store.read(lambda db: run_status(db, "c")).state == PAUSED
    store.close()


def test_a_wave_opens_when_the_one_before_reaches_its_threshold_or_waits_for_resume(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    rollout = Rollout.from_json({"id": "c", "goal": "active(target)", "target": "new", "waves": [
        {"devices": ["a1", "a2"], "threshold": 1.0}, {"devices": ["b1"], "pause_after": True},
        {"devices": ["c1"]}]})  # fmt: skip
    store = _store(where, rollout, [("a1", 1), ("a2", 1), ("b1", 2), ("c1", 3)])
    store.write(lambda c: start(c, "c"))
    assert _work(engine, where, "b1").tasks == ()  # wave 2 is not open
    _answer(where, "a1", _work(engine, where, "a1"), [200, 200])
    assert _work(engine, where, "b1").tasks == ()  # half of wave 1 is not its threshold
    _answer(where, "a2", _work(engine, where, "a2"), [200, 200])
    _answer(where, "b1", _work(engine, where, "b1"), [200, 200])
    status = store.read(lambda db: run_status(db, "c"))
    assert (status.state, status.open_waves) == (PAUSED, 2)
    assert status.reason == "wave 2 reached its threshold: resume to open wave 3"
    assert store.write(lambda c: resume(c, "c")) == "running: wave 3 of 3 open"
    assert [t.request.op for t in _work(engine, where, "c1").tasks][:1] == ["add"]
    store.close()


def test_windows_are_read_in_the_device_s_time_zone_else_the_campaign_s(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    window = {"days": "mon-fri", "start": "01:00", "end": "05:00"}
    rollout = Rollout.from_json({"id": "c", "goal": "active(target)", "target": "new",
                                 "time_zone": "UTC", "windows": [window]})  # fmt: skip
    store = _store(where, rollout, [("d1", 1)])
    store.write(lambda c: start(c, "c"))
    monday_3am_utc = dt.datetime(2027, 3, 1, 3, 0, tzinfo=dt.UTC).timestamp()
    assert _work(engine, where, "d1", monday_3am_utc).tasks != ()
    assert _work(engine, where, "d1", monday_3am_utc, "Asia/Tokyo").tasks == ()  # noon there
    assert _work(engine, where, "d1", monday_3am_utc - 86400 * 2).tasks == ()  # a Saturday
    assert _outcome(where, "d1") == ("pending", 0)  # a session outside is no failure
    store.close()


def test_the_operator_s_commands_refuse_what_the_state_does_not_allow(tmp_path: object) -> None:
    where = f"{tmp_path}/dm.sqlite"
    store = _store(where, Rollout("c", "active(target)", "new"), [("d1", 1)])
    with pytest.raises(RunError, match="is draft: it cannot be paused"):
        store.write(lambda c: pause(c, "c"))
    store.write(lambda c: start(c, "c"))
    with pytest.raises(RunError, match="is running: it cannot be started"):
        store.write(lambda c: start(c, "c"))
    store.write(lambda c: cancel(c, "c"))
    with pytest.raises(RunError, match="is cancelled"):
        store.write(lambda c: resume(c, "c"))
    with pytest.raises(RunError, match="no campaign 'x'"):
        store.write(lambda c: start(c, "x"))
    events = [e for _, e, _ in store.read(lambda db: run_status(db, "c")).events]
    assert events == ["created", "started", "wave", "cancelled"]
    store.close()


def test_applied_without_a_read_back_when_verification_is_off(
    tmp_path: object, engine: Engine
) -> None:
    where = f"{tmp_path}/dm.sqlite"
    store = _store(where, Rollout("c", "active(target)", "new", verify=False), [("d1", 1)])
    store.write(lambda c: start(c, "c"))
    work = _work(engine, where, "d1")
    assert [t.request.op for t in work.tasks] == ["add", "set_active"]
    _answer(where, "d1", work, [200, 200])
    assert _outcome(where, "d1") == (APPLIED, 0)
    assert store.read(lambda db: run_status(db, "c")).state == DONE
    store.close()


def test_a_state_unreadable_for_a_rule_is_claimed_by_no_rule() -> None:
    from mostate.campaign.waves import WaveAssigner

    waves = WaveAssigner(Rollout.from_json({"id": "c", "goal": "active(target)", "target": "n",
                                            "waves": [{"rule": "true"}]}))  # fmt: skip
    assert waves.wave_of("d", None) == waves.rest == 2
    assert waves.wave_of("d", DeviceState()) == 1
