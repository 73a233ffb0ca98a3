"""campaign report: each device's outcome from its statuses, each step counted, the inventory
brought up to date so that one more campaign plan plans only what is left."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mostate import Actor, Engine, Request, load_spec
from mostate.campaign import Campaign, plan_inventory, synthetic_inventory
from mostate.campaign.chart import html_page
from mostate.campaign.report import DeviceResult, Summary, device_result, read_results, report
from mostate.campaign.simulate import Mix, simulate_results
from mostate.cli import main
from mostate.omadm.pages import Page, render

from .page_html import PageNumbers

ENGINE = Engine(load_spec())
GOAL = "exists(target) and active(target)"
ADD = Request(Actor.server(), "add", "MMS", "new")
ACTIVE = Request.from_json(
    {"actor": "server", "op": "set_active", "service": "MMS", "instance": "new", "value": True}
)


@pytest.mark.parametrize(
    ("statuses", "outcome", "steps"),
    [
        ((200, 200), "reached", ("ok", "ok")),
        ((200, 215), "declined", ("ok", "declined")),
        ((425,), "failed", ("failed", "not seen")),
        ((200,), "not seen", ("ok", "not seen")),
        (None, "not seen", ("not seen", "not seen")),
    ],
)
def test_a_device_outcome_is_decided_by_its_first_status_that_is_not_200(
    statuses: tuple[int, ...] | None, outcome: str, steps: tuple[str, ...]
) -> None:
    result = device_result(ENGINE, "d", {}, [ADD, ACTIVE], statuses)
    assert (result.outcome, result.steps) == (outcome, steps)
    # The state has the requests answered 200, and only those.
    applied = 0 if statuses is None else len([s for s in statuses if s == 200])
    instance = result.state.get("MMS", {}).get("new")
    assert (instance is not None) == (applied >= 1)
    assert (instance or {}).get("active", False) == (applied == 2)


def test_an_unreachable_plan_is_unreachable_and_an_impossible_answer_diverges() -> None:
    assert device_result(ENGINE, "d", {}, None, (200,)).outcome == "unreachable"
    # The device says 200 to set_active on an instance it does not hold: the spec says 404.
    odd = device_result(ENGINE, "d", {}, [ACTIVE], (200,))
    assert odd.diverged and odd.state == {}


def test_the_report_page_is_the_live_pages_template_showing_the_summary() -> None:
    results = [
        *(DeviceResult(f"r{k}", "reached", {}, ("ok", "ok")) for k in range(1_203)),
        DeviceResult("d", "declined", {}, ("ok", "declined")),
        *(DeviceResult(f"f{k}", "failed", {}, ("failed", "not seen")) for k in range(3)),
        DeviceResult("n", "not seen", {}, ("not seen", "not seen"), diverged=True),
    ]
    summary = Summary.of(results)
    page = html_page(summary, b"\x89PNG-not-really", "Campaign: <fleet>.jsonl")
    shown = PageNumbers(page)
    assert shown.totals == summary.devices == {
        "reached": 1_203, "declined": 1, "failed": 3, "unreachable": 0, "not seen": 1,
    }  # fmt: skip
    # Each step: its name, its bar, then ok, declined, failed, not seen with their shares.
    assert [row[0] for row in shown.steps[1:]] == ["step 1 of the plans", "step 2 of the plans"]
    assert shown.steps[2][2:] == ["1,203 100%", "1 0%", "0 0%", "4 0%"]  # 3 failed, 1 not seen
    png = base64.b64encode(b"\x89PNG-not-really").decode()
    assert shown.images == [f"data:image/png;base64,{png}"]
    assert shown.title == "Campaign: <fleet>.jsonl" and "&lt;fleet&gt;" in page  # escaped
    assert not shown.refresh and "1 devices answered what the spec does not" in page
    # One template: the live page's own, styles and all.
    assert page.startswith(render(Page("x")).split("<title>")[0])


def test_results_lines_are_checked() -> None:
    assert read_results(['{"device": "a", "statuses": [200, 215]}', ""]) == {"a": (200, 215)}
    with pytest.raises(ValueError, match="line 2"):
        read_results(['{"device": "a", "statuses": []}', '{"device": "b"}'])
    with pytest.raises(ValueError, match="line 1"):
        read_results(['{"device": "a", "statuses": [true]}'])


def campaign_files(tmp_path: Path, devices: int) -> tuple[Path, Path, Path]:
    inventory, plans, results = (tmp_path / n for n in ("inv.jsonl", "plans.jsonl", "res.jsonl"))
    inventory.write_text("".join(synthetic_inventory(ENGINE, devices, seed=3)), encoding="utf-8")
    with plans.open("w", encoding="utf-8") as out:
        plan_inventory(Campaign(GOAL, "new"), inventory.open(encoding="utf-8"), out.write)
    lines = simulate_results(
        ENGINE,
        inventory.open(encoding="utf-8"),
        plans.open(encoding="utf-8"),
        mix=Mix(unseen=0.2, declined=0.1, failed=0.05),
        seed=2,
    )
    results.write_text("".join(lines), encoding="utf-8")
    return inventory, plans, results


@pytest.mark.slow  # about 5 s on a busy machine
def test_report_replan_the_rest_and_the_reached_have_nothing_left(tmp_path: Path) -> None:
    inventory, plans, results = campaign_files(tmp_path, 400)
    updated, chart, page = tmp_path / "upd.jsonl", tmp_path / "c.png", tmp_path / "c.html"
    argv = ["campaign", "report", str(inventory), "--plans", str(plans), "--results", str(results)]
    argv += ["--updated", str(updated), "--chart", str(chart), "--html", str(page)]
    assert main([*argv, "--format", "json"]) == 0
    assert chart.read_bytes()[:4] == b"\x89PNG" and "<img" in page.read_text(encoding="utf-8")
    got = read_results(results.open(encoding="utf-8"))
    with inventory.open(encoding="utf-8") as inv, plans.open(encoding="utf-8") as pl:
        summary = Summary.of(report(ENGINE, inv, pl, got))
    devices = summary.devices
    assert sum(devices.values()) == 400 and devices["not seen"] >= 400 - len(got)
    assert all(devices[o] > 0 for o in ("reached", "declined", "failed", "not seen"))
    assert summary.steps[0]["ok"] + summary.steps[0]["declined"] + summary.steps[0][
        "failed"
    ] == len(got)
    # Planning the updated inventory again: nothing for those that reached the goal.
    again: list[str] = []
    plan_inventory(Campaign(GOAL, "new"), updated.open(encoding="utf-8"), again.append)
    left = [json.loads(x) for x in "".join(again).splitlines()]
    done = [p for p in left if p["plan"] == []]
    assert len(done) == devices["reached"]


def test_report_from_a_dm_serve_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mostate.omadm.server import Report
    from mostate.omadm.session import Nonces, Outcome, Task
    from mostate.omadm.store import SessionRecord, Store

    inventory, plans = tmp_path / "inv.jsonl", tmp_path / "plans.jsonl"
    inventory.write_text('{"device": "a", "state": {}}\n{"device": "b", "state": {}}\n')
    plan = [ADD.to_json(), ACTIVE.to_json()]
    plans.write_text(
        json.dumps({"device": "a", "plan": plan})
        + "\n"
        + json.dumps({"device": "b", "plan": plan})
        + "\n"
    )
    store = Store(tmp_path / "dm.sqlite")
    reports = (Report(ADD, 200), Report(ACTIVE, 215))
    tasks = (Task("p", 0, ADD), Task("p", 1, ACTIVE))
    store.begin("a", store.auth("a"), b"n")
    store.record(SessionRecord.of(Outcome("a", True, {}, reports, 2, tasks), Nonces()))
    store.close()
    argv = ["campaign", "report", str(inventory), "--plans", str(plans)]
    assert main([*argv, "--store", str(tmp_path / "dm.sqlite"), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["devices"]["declined"] == 1 and summary["devices"]["not seen"] == 1
    assert summary["steps"][1] == {"step": 2, "ok": 0, "declined": 1, "failed": 0, "not seen": 1}


def test_plans_for_another_inventory_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory, plans, results = tmp_path / "i", tmp_path / "p", tmp_path / "r"
    inventory.write_text('{"device": "a", "state": {}}\n')
    plans.write_text('{"device": "z", "plan": []}\n')
    results.write_text("")
    argv = ["campaign", "report", str(inventory), "--plans", str(plans), "--results", str(results)]
    assert main(argv) == 2
    assert "not for this inventory" in capsys.readouterr().err
    plans.write_text("")
    assert main(argv) == 2
    assert "fewer plans than devices" in capsys.readouterr().err
