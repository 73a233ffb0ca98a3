"""Campaigns in the dm serve store, on SQLite and a real PostgreSQL server (skipped with the
reason where none can be started): what each keeps, that a second campaign never touches the
first, that they join an existing store without harm, that concurrent writers (threads and
processes) lose nothing."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from mostate.omadm import campaign_store
from mostate.omadm.campaign_store import CampaignGoal, CampaignStore, PlannedDevice, Step
from mostate.omadm.database import StoreError
from mostate.omadm.store import Store
from tests.omadm.test_store import served_session

GOAL = CampaignGoal("exists(target) and active(target)", "new", "MMS")
ADD = [{"actor": "server", "op": "add", "service": "MMS", "instance": "new"}]


def planned(n: int, prefix: str = "d") -> list[PlannedDevice]:
    """``n`` devices, every third unreachable, each state naming its device."""
    return [
        PlannedDevice(f"{prefix}{k:03}", json.dumps({"n": k}), None, "no way")
        if k % 3 == 0
        else PlannedDevice(f"{prefix}{k:03}", json.dumps({"n": k}), json.dumps(ADD))
        for k in range(n)
    ]


def test_what_a_campaign_store_keeps(store_at: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(campaign_store, "PAGE", 4)  # several pages, and one that is exactly full
    store = CampaignStore(store_at)
    assert store.latest() is None and store.goal("c1") is None and store.progress("c1") == {}
    store.create("c1", GOAL)
    rows = planned(12)
    store.record_plans("c1", rows[:8])
    store.record_plans("c1", rows[8:])
    store.record_progress("c1", [Step("d001", 0, 200), Step("d002", 1, 215), Step("d003", 0, None)])
    store.close()
    again = CampaignStore(store_at)  # another process, later: all of it is there
    assert again.goal("c1") == GOAL and again.latest() == "c1"
    assert list(again.plans("c1")) == rows
    assert list(again.inventory()) == [(p.device, p.state) for p in rows]
    assert again.progress("c1") == {"d001": (200,), "d002": (None, 215)}  # no NULL is kept
    again.record_inventory([("d001", '{"n": "reached"}')])
    assert dict(again.inventory())["d001"] == '{"n": "reached"}'
    assert dict((p.device, p.state) for p in again.plans("c1"))["d001"] == '{"n": 1}'
    assert again.counts() == {
        "campaigns": 1,
        "campaign_inventory": 12,
        "campaign_plans": 12,
        "campaign_progress": 2,
    }
    again.close()


def test_a_new_plan_clears_the_devices_progress_in_its_campaign_only(store_at: str) -> None:
    store = CampaignStore(store_at)
    store.create("c1", GOAL)
    store.record_plans("c1", planned(3))
    store.record_progress("c1", [Step("d001", 0, 200), Step("d002", 0, 500)])
    store.record_plans("c1", planned(2))  # d000 and d001 planned again
    assert store.progress("c1") == {"d002": (500,)}
    store.close()


def test_a_second_campaign_never_touches_the_first(store_at: str) -> None:
    """Campaign B planned for the same devices after A: A's plans and progress stay as they
    were (before campaigns had ids, B's plans replaced A's and cleared its progress)."""
    other = CampaignGoal("exists(target) and locked(target)", "mms-2028", "MMS")
    store = CampaignStore(store_at)
    store.create("A", GOAL)
    store.record_plans("A", planned(3))
    store.record_progress("A", [Step("d001", 0, 200)])
    store.create("B", other)
    store.record_plans("B", planned(3))
    assert store.progress("A") == {"d001": (200,)}
    assert [p.device for p in store.plans("A")] == ["d000", "d001", "d002"]
    assert [c for c, _, _ in store.campaigns()] == ["A", "B"] and store.latest() == "B"
    with pytest.raises(StoreError, match="another goal"):
        store.create("A", other)  # an id names one campaign
    store.close()


def test_the_campaign_tables_join_an_existing_dm_serve_store(tmp_path: Path) -> None:
    path = tmp_path / "dm.sqlite"
    served_session(str(path), "phone")
    served = Store(path)
    before = served.devices()
    served.close()
    campaign = CampaignStore(path)
    campaign.create("c1", GOAL)
    campaign.record_plans("c1", planned(2))
    campaign.close()
    served = Store(path)  # dm serve opens the store again: its own tables untouched
    assert served.devices() == before and served.auth("phone").known
    served.close()
    campaign = CampaignStore(path)
    assert len(list(campaign.plans("c1"))) == 2
    campaign.close()


def write_progress(where: str, writer: int, devices: int, steps: int) -> None:
    """One writer's progress: its own devices, and the shared device's steps that are its own
    (``writer``, ``writer + 10``, ...), and step 99 of the shared device, which all write."""
    store = CampaignStore(where)
    for d in range(devices):
        store.record_progress("c1", (Step(f"w{writer}-d{d}", k, 200 + k) for k in range(steps)))
        store.record_progress(
            "c1", [Step("shared", writer + 10 * d, writer), Step("shared", 99, 1)]
        )
    store.close()


def check_nothing_lost(where: str, writers: int, devices: int, steps: int) -> None:
    progress = CampaignStore(where).progress("c1")
    for w in range(writers):
        for d in range(devices):
            assert progress[f"w{w}-d{d}"] == tuple(200 + k for k in range(steps))
    shared = progress["shared"]
    assert all(shared[w + 10 * d] == w for w in range(writers) for d in range(devices))
    assert shared[99] == 1
    assert len(progress) == writers * devices + 1


def test_concurrent_threads_lose_no_progress(store_at: str) -> None:
    made = CampaignStore(store_at)  # the tables, before the writers race for them
    made.create("c1", GOAL)
    made.close()
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            write_progress(store_at, w, devices=8, steps=3)
        except BaseException as err:  # reported below, in the test's own thread
            errors.append(err)

    pool = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    check_nothing_lost(store_at, writers=4, devices=8, steps=3)


def test_concurrent_processes_lose_no_progress(store_at: str) -> None:
    made = CampaignStore(store_at)
    made.create("c1", GOAL)
    made.close()
    context = multiprocessing.get_context("fork")  # the child runs this module's function
    pool = [context.Process(target=write_progress, args=(store_at, w, 10, 4)) for w in range(3)]
    for process in pool:
        process.start()
    for process in pool:
        process.join(timeout=120)
    assert [p.exitcode for p in pool] == [0, 0, 0]
    check_nothing_lost(store_at, writers=3, devices=10, steps=4)
