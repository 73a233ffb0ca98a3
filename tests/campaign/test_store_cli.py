"""A campaign kept in a store, as a user runs it: campaign plan --store records every device
(one process or a pool), a SIGKILL loses no committed batch, campaign progress and report
--store read it back and bring the inventory up to date, campaign inventory exports it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mostate import Engine, load_spec
from mostate.campaign import Campaign, plan_inventory, simulate_results, synthetic_inventory
from mostate.cli import main
from mostate.omadm.campaign_store import CampaignGoal, CampaignStore

# A store on SQLite and on a real PostgreSQL server (skipped with the reason where none starts).
from tests.omadm.postgres import new_database, postgres_server, store_at

__all__ = ["new_database", "postgres_server", "store_at"]

ENGINE = Engine(load_spec())
GOAL_TEXT = "exists(target) and active(target)"
GOAL = ["--goal", GOAL_TEXT, "--target", "new"]
ROOT = Path(__file__).resolve().parent.parent.parent


def fleet_file(tmp_path: Path, n: int, seed: int = 3) -> Path:
    path = tmp_path / "fleet.jsonl"
    path.write_text("".join(synthetic_inventory(ENGINE, n, seed=seed)), encoding="utf-8")
    return path


def expected_plans(fleet: Path) -> dict[str, dict[str, object]]:
    out: list[str] = []
    lines = fleet.read_text(encoding="utf-8").splitlines()
    plan_inventory(Campaign(GOAL_TEXT, "new"), lines, out.append)
    return {p["device"]: p for p in map(json.loads, "".join(out).splitlines())}


def stored(where: str) -> dict[str, dict[str, object]]:
    """The store's plans as campaign plan's output lines."""
    store = CampaignStore(where)
    try:
        return {
            p.device: {"device": p.device, "plan": json.loads(p.plan)}
            if p.plan is not None
            else {"device": p.device, "unreachable": p.unreachable}
            for p in store.plans(store.latest() or "")
        }
    finally:
        store.close()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_plan_store_records_every_device_and_its_state(tmp_path: Path, jobs: str) -> None:
    fleet = fleet_file(tmp_path, 120)
    want = expected_plans(fleet)
    lines = fleet.read_text(encoding="utf-8").splitlines()
    fleet.write_text("\n".join([lines[0], "", "not json", *lines[1:]]) + "\n", encoding="utf-8")
    store = str(tmp_path / "dm.sqlite")
    argv = ["campaign", "plan", str(fleet), *GOAL, "--store", store, "--store-batch", "7"]
    assert main([*argv, "--out", str(tmp_path / "plans.jsonl"), "--jobs", jobs]) == 2  # bad line
    assert stored(store) == want and len(want) == 120
    campaign = CampaignStore(store)
    states = {json.loads(line)["device"]: json.loads(line)["state"] for line in lines}
    assert {d: json.loads(s) for d, s in campaign.inventory()} == states
    assert campaign.goal("new") == CampaignGoal(GOAL_TEXT, "new", "MMS")
    campaign.close()


@pytest.mark.slow  # about 9 s: a fleet large enough to be killed mid-run
def test_a_killed_plan_loses_no_committed_batch(tmp_path: Path) -> None:
    fleet = fleet_file(tmp_path, 60_000, seed=11)
    store = str(tmp_path / "dm.sqlite")
    argv = [sys.executable, "-m", "mostate", "campaign", "plan", str(fleet), *GOAL]
    argv += ["--store", store, "--store-batch", "50", "--out", str(tmp_path / "plans.jsonl")]
    process = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _plans_in(store) < 500 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the plan ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    got = stored(store)
    assert 500 <= len(got) < 60_000 and len(got) % 50 == 0  # whole batches, nothing torn
    want = expected_plans(fleet)
    assert got == {device: want[device] for device in got}
    assert list(got) == sorted(want)[: len(got)]  # the first devices, in order
    assert not (tmp_path / "plans.jsonl").exists()  # the output file appears only when done


def _plans_in(store: str) -> int:
    if not os.path.exists(store):
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM campaign_plans").fetchone()[0])
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0


def test_report_store_reads_progress_and_updates_the_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_at: str
) -> None:
    fleet, plans, store = fleet_file(tmp_path, 200), tmp_path / "plans.jsonl", store_at
    params = ["--params", '{"MMSC": "http://new"}']
    assert main(["campaign", "plan", str(fleet), *GOAL, *params, "--out", str(plans)]) == 0
    assert main(["campaign", "plan", str(fleet), *GOAL, *params, "--store", store]) == 0
    results = tmp_path / "results.jsonl"
    with fleet.open() as inv, plans.open() as pl:
        results.write_text("".join(simulate_results(ENGINE, inv, pl, seed=5)), encoding="utf-8")
    capsys.readouterr()
    assert main(["campaign", "progress", str(results), "--store", store]) == 0
    by_file = ["campaign", "report", str(fleet), "--plans", str(plans), "--results", str(results)]
    assert main([*by_file, "--format", "json", "--updated", str(tmp_path / "u.jsonl")]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["campaign", "report", "--store", store, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == want and got["devices"]["reached"] > 0 and got["devices"]["declined"] > 0
    assert main(["campaign", "report", "--store", store, "--format", "json"]) == 0  # again:
    assert json.loads(capsys.readouterr().out) == want  # the same, not replayed twice
    exported = tmp_path / "inventory.jsonl"
    assert main(["campaign", "inventory", "--store", store, "--out", str(exported)]) == 0
    updated = (tmp_path / "u.jsonl").read_text(encoding="utf-8").splitlines()
    assert _by_device(exported.read_text(encoding="utf-8").splitlines()) == _by_device(updated)
    # re-planning the rest: the reached devices have nothing left to do
    assert main(["campaign", "plan", str(exported), *GOAL, *params, "--store", store]) == 0
    capsys.readouterr()
    assert main(["campaign", "report", "--store", store, "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["devices"]["reached"] == want["devices"]["reached"]
    assert again["devices"]["not seen"] == 200 - want["devices"]["reached"]


def _by_device(lines: list[str]) -> dict[str, object]:
    return {o["device"]: o["state"] for o in map(json.loads, lines)}


def test_report_store_matches_dm_serve_steps_by_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mostate import Request
    from mostate.omadm.server import Report
    from mostate.omadm.session import Nonces, Outcome, Task
    from mostate.omadm.store import SessionRecord, Store

    inventory = tmp_path / "inv.jsonl"
    inventory.write_text('{"device": "phone", "state": {}}\n', encoding="utf-8")
    store = str(tmp_path / "dm.sqlite")
    assert main(["campaign", "plan", str(inventory), *GOAL, "--store", store]) == 0
    (plan,) = stored(store).values()
    add, activate = (Request.from_json(r) for r in plan["plan"])  # type: ignore[attr-defined]
    query = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    served = Store(store)  # the server sent a query first, then the plan's two requests
    reports = (Report(query, 200), Report(add, 200), Report(activate, 405))
    tasks = tuple(Task("new", k, r.request) for k, r in enumerate(reports))
    served.begin("phone", served.auth("phone"), b"n")
    served.record(SessionRecord.of(Outcome("phone", True, {}, reports, 2, tasks), Nonces()))
    served.close()
    capsys.readouterr()
    assert main(["campaign", "report", "--store", store, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["devices"]["failed"] == 1  # by position it would read 200, 200: reached
    assert summary["steps"][0]["ok"] == 1 and summary["steps"][1]["failed"] == 1
    plans = tmp_path / "plans.jsonl"  # the same with the inventory and plans as files
    plans.write_text(json.dumps(plan) + "\n", encoding="utf-8")
    argv = ["campaign", "report", str(inventory), "--plans", str(plans), "--store", store]
    assert main([*argv, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == summary


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "--store", "STORE/none.sqlite"], "no such store"),
        (["report", "INV", "--store", "STORE/s"], "give INVENTORY and --plans, or --store"),
        (["inventory", "--store", "STORE/none.sqlite"], "no such store"),
        (["progress", "INV", "--store", "STORE/s"], "statuses"),
        (["plan", "INV", *GOAL, "--store", "STORE/s", "--store-batch", "0"], "--store-batch"),
        (["plan", "INV", *GOAL, "--store", "STORE/junk"], "cannot open the store"),
    ],
)
def test_store_usage_errors_are_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    inventory = tmp_path / "inv.jsonl"
    inventory.write_text('{"device": "a", "state": {}}\n', encoding="utf-8")
    (tmp_path / "junk").write_text("not a database " * 100)
    CampaignStore(tmp_path / "s").close()
    args = [a.replace("STORE", str(tmp_path)).replace("INV", str(inventory)) for a in argv]
    assert main(["campaign", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
