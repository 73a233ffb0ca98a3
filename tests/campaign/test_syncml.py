"""campaign plan --format syncml: one SyncML DM package per planned device, which mostate's own
reader parses back to the plan's commands and which, run on the device, reaches the goal; device
ids that look like paths stay inside the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, load_spec
from mostate.campaign import Campaign, plan_inventory, synthetic_inventory
from mostate.cli import main
from mostate.cli.campaign_syncml import file_name
from mostate.explore import Goal
from mostate.omadm import Device, FlagBinding, Server, TreeConfig, parse_package

ENGINE = Engine(load_spec())
GOAL_TEXT = "exists(target) and active(target)"
GOAL = ["--goal", GOAL_TEXT, "--target", "new", "--params", '{"MMSC": "http://new"}']


def plans_of(inventory: Path) -> list[dict[str, object]]:
    out: list[str] = []
    lines = inventory.read_text(encoding="utf-8").splitlines()
    plan_inventory(Campaign(GOAL_TEXT, "new", params={"MMSC": "http://new"}), lines, out.append)
    return [json.loads(line) for line in "".join(out).splitlines()]


@pytest.mark.parametrize(
    ("options", "tree"),
    [
        ([], TreeConfig()),
        (["--wbxml", "--flags-as", "leaves"], TreeConfig(flags=FlagBinding.LEAVES)),
    ],
    ids=["xml", "wbxml-leaves"],
)
def test_each_package_reads_back_as_the_plan_and_reaches_the_goal(
    tmp_path: Path, options: list[str], tree: TreeConfig
) -> None:
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text("".join(synthetic_inventory(ENGINE, 40, seed=4)), encoding="utf-8")
    folder = tmp_path / "packages"
    argv = ["campaign", "plan", str(inventory), *GOAL, "--format", "syncml"]
    assert main([*argv, "--out-dir", str(folder), "--server-id", "srv", *options]) == 0
    suffix = ".wbxml" if "--wbxml" in options else ".xml"
    states = {o["device"]: o["state"] for o in map(json.loads, inventory.read_text().splitlines())}
    plans = [p for p in plans_of(inventory) if "plan" in p]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        file_name(str(p["device"]), suffix) for p in plans
    )
    goal = Goal.parse(GOAL_TEXT, "MMS", "new")
    for plan in plans:
        device = str(plan["device"])
        data = (folder / file_name(device, suffix)).read_bytes()
        requests = [Request.from_json(r) for r in plan["plan"]]  # type: ignore[attr-defined]
        package = parse_package(data)
        want, _ = Server(ENGINE, tree, server_id="srv", client=device).build(requests)
        assert package == want
        assert package.header.target == device and package.header.source == "srv"
        state = DeviceState.from_json(states[device])
        after, response = Device(ENGINE, tree).process(state, data)
        assert all(s.code == 200 for s in response.statuses()), device
        replayed = state
        for request in requests:
            replayed = ENGINE.apply(replayed, request).state
        assert after == replayed and goal.holds(after)
        assert goal.holds(state) == (not requests)


def test_device_ids_cannot_leave_the_folder(tmp_path: Path) -> None:
    ids = ["../x", "/etc/passwd", "a/../../b", ".", "..", "..%2Fx", "ok", ".hidden", "a\\b"]
    inventory = tmp_path / "inv.jsonl"
    inventory.write_text(
        "".join(json.dumps({"device": d, "state": {}}) + "\n" for d in ids), encoding="utf-8"
    )
    folder = tmp_path / "out" / "packages"
    folder.parent.mkdir()
    argv = ["campaign", "plan", str(inventory), *GOAL, "--format", "syncml"]
    assert main([*argv, "--out-dir", str(folder)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.jsonl", "out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["packages"]
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == len(ids)  # one file each: no two ids share one
    assert all(p.is_file() and not p.name.startswith(".") for p in folder.iterdir())
    assert "%2E.%2Fx.xml" in names and "%2E.%252Fx.xml" in names and "ok.xml" in names
    for device in ids:
        parsed = parse_package((folder / file_name(device, ".xml")).read_bytes())
        assert parsed.header.target == device  # the file named for a device is its own


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--format", "syncml"], "--format syncml needs --out-dir"),
        (["--out-dir", "DIR"], "--out-dir and --wbxml go with --format syncml"),
        (["--format", "syncml", "--out-dir", "FILE"], "exists and is not a folder"),
        (["--format", "syncml", "--out-dir", "DIR", "--root", "MMS"], "--root"),
    ],
)
def test_syncml_usage_errors_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    inventory = tmp_path / "inv.jsonl"
    inventory.write_text('{"device": "a", "state": {}}\n', encoding="utf-8")
    args = [o.replace("DIR", str(tmp_path / "d")).replace("FILE", str(inventory)) for o in options]
    assert main(["campaign", "plan", str(inventory), *GOAL, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_device_id_too_long_for_a_file_name_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inv.jsonl"
    inventory.write_text(json.dumps({"device": "/" * 100, "state": {}}) + "\n", encoding="utf-8")
    argv = ["campaign", "plan", str(inventory), *GOAL, "--format", "syncml"]
    assert main([*argv, "--out-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "too long" in err and "Traceback" not in err
    assert list((tmp_path / "d").iterdir()) == []
