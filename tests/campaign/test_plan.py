"""campaign plan: the same plans as mostate.explore.plan, device by device, each of which
replays through the engine to the goal; streamed; bad lines named, never dropped."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, Status, load_spec
from mostate.campaign import (
    Campaign,
    CampaignPlanner,
    plan_inventory,
    synthetic_fleet,
    synthetic_inventory,
)
from mostate.campaign import lines as lines_module
from mostate.explore import Goal, plan
from mostate.frozenmap import FrozenMap

ENGINE = Engine(load_spec())
ACTIVE = "exists(target) and active(target)"
LOCKED = "active(target) and locked(target)"


def replays_to_goal(state: DeviceState, requests: list[Request], goal: Goal) -> bool:
    for request in requests:
        outcome = ENGINE.apply(state, request)
        assert outcome.status == Status.OK, (request, outcome.reason)
        state = outcome.state
    return goal.holds(state)


@pytest.mark.slow  # 3 to 10 s: each device planned by mostate.explore.plan itself
@pytest.mark.parametrize(("goal_text", "devices"), [(ACTIVE, 75), (LOCKED, 25)])
def test_plans_agree_with_explore_plan_device_by_device(goal_text: str, devices: int) -> None:
    planner = CampaignPlanner(ENGINE, Campaign(goal_text, "new"))
    goal = Goal.parse(goal_text, "MMS", "new")
    for device, state in synthetic_fleet(ENGINE, devices, seed=11):
        ours = planner.plan(device, state)
        theirs = plan(ENGINE, state, goal)
        assert theirs.trace is not None
        assert ours.requests == theirs.trace.requests, device
    # The fleet shares canonical states: fewer searches than devices.
    assert len(planner.cache) < devices


@pytest.mark.slow  # about 2 s
def test_plans_that_touch_other_instances_are_as_short_and_reach_the_goal() -> None:
    text = "exists(target) and count(i, exists(i)) == 1"
    planner = CampaignPlanner(ENGINE, Campaign(text, "new"))
    goal = Goal.parse(text, "MMS", "new")
    for device, state in synthetic_fleet(ENGINE, 30, seed=3):
        ours = planner.plan(device, state).requests
        theirs = plan(ENGINE, state, goal).trace
        assert ours is not None and theirs is not None
        # The same requests, perhaps in another order among the instances deleted.
        assert sorted(map(repr, ours)) == sorted(map(repr, theirs.requests)), device
        assert replays_to_goal(state, list(ours), goal)


def test_a_target_that_exists_already_is_kept_by_name() -> None:
    planner = CampaignPlanner(ENGINE, Campaign(LOCKED, "b"))
    state = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {}}})
    found = planner.plan("d", state)
    theirs = plan(ENGINE, state, Goal.parse(LOCKED, "MMS", "b"))
    assert theirs.trace is not None and found.requests == theirs.trace.requests


def test_the_campaign_params_go_with_the_add_and_the_plan_still_reaches_the_goal() -> None:
    campaign = Campaign(ACTIVE, "new", params={"MMSC": "http://new"})
    planner = CampaignPlanner(ENGINE, campaign)
    state = DeviceState.from_json({"MMS": {"old": {"active": True, "locked": True}}})
    found = planner.plan("d", state)
    assert found.requests is not None
    add = found.requests[0]
    assert add.op == "add" and add.args["params"] == FrozenMap({"MMSC": "http://new"})
    assert replays_to_goal(state, list(found.requests), planner.goal)


def test_an_unreachable_goal_gets_the_reason_mostate_plan_gives() -> None:
    text = "exists(target) and count(i, active(i)) == 2"
    planner = CampaignPlanner(ENGINE, Campaign(text, "new", max_states=5_000))
    state = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    found = planner.plan("d", state)
    theirs = plan(ENGINE, state, Goal.parse(text, "MMS", "new"), max_states=5_000)
    assert found.requests is None and theirs.trace is None
    assert found.reason == theirs.reason and found.reason


def run_lines(campaign: Campaign, lines: list[str]) -> tuple[list[dict[str, object]], object]:
    out: list[str] = []
    counts = plan_inventory(campaign, lines, out.append, chunk=7)
    return [json.loads(x) for x in "".join(out).splitlines()], counts


@pytest.mark.slow  # about 3 s
def test_every_output_line_replays_through_the_engine_to_the_goal() -> None:
    campaign = Campaign(LOCKED, "new", params={"MMSC": "http://new"})
    inventory = list(synthetic_inventory(ENGINE, 120, seed=5))
    results, counts = run_lines(campaign, inventory)
    goal = Goal.parse(LOCKED, "MMS", "new")
    assert [r["device"] for r in results] == [json.loads(x)["device"] for x in inventory]
    for line, result in zip(inventory, results, strict=True):
        state = DeviceState.from_json(json.loads(line)["state"])
        plan_ = [Request.from_json(r) for r in result["plan"]]  # type: ignore[union-attr]
        assert replays_to_goal(state, plan_, goal)
    assert counts == lines_module.Counts(planned=120)


def test_bad_lines_are_named_by_number_and_kept_in_the_output() -> None:
    good = '{"device": "ok", "state": {"MMS": {}}}'
    inventory = [
        good,
        "not json",
        "",
        '["a list"]',
        '{"device": "nostate"}',
        '{"device": "two", "state": {"MMS": {"a": {"active": true}, "b": {"active": true}}}}',
        '{"device": "x", "state": {}, "extra": 1}',
        '{"device": "dup", "device": "dup2", "state": {}}',
        good,
    ]
    results, counts = run_lines(Campaign(ACTIVE, "new"), inventory)
    errors = [r for r in results if "error" in r]
    assert [e["line"] for e in errors] == [2, 4, 5, 6, 7, 8]
    assert errors[1]["error"] == "not a JSON object"
    assert "one_active" in str(errors[3]["error"]) and errors[3]["device"] == "two"
    assert "twice" in str(errors[5]["error"])
    assert [r["device"] for r in results if "plan" in r] == ["ok", "ok"]
    assert counts.errors == 6 and counts.planned == 2  # type: ignore[attr-defined]
    assert counts.first_errors[0].startswith("line 2: not JSON")  # type: ignore[attr-defined]


def test_input_is_streamed_output_is_written_before_the_input_ends() -> None:
    seen: list[int] = []
    written: list[int] = []

    def inventory() -> Iterator[str]:
        for n, line in enumerate(synthetic_inventory(ENGINE, 60, seed=2)):
            seen.append(n)
            yield line

    def write(text: str) -> None:
        written.append(len(seen))

    plan_inventory(Campaign(ACTIVE, "new"), inventory(), write, chunk=10)
    assert written[0] <= 11 and len(written) == 6


@pytest.mark.slow  # about 1 s
def test_the_caches_are_bounded_and_a_full_one_starts_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lines_module, "MAX_CACHED", 3)
    planner = lines_module.LinePlanner(Campaign(ACTIVE, "new"))
    inventory = list(synthetic_inventory(ENGINE, 80, seed=9))
    bounded = [planner.line(text, n) for n, text in enumerate(inventory, 1)]
    assert len(planner.tails) <= 3 and len(planner.planner.cache) <= 3
    free = lines_module.LinePlanner(Campaign(ACTIVE, "new"))
    assert bounded == [free.line(text, n) for n, text in enumerate(inventory, 1)]


def test_one_state_text_is_planned_once() -> None:
    planner = lines_module.LinePlanner(Campaign(ACTIVE, "new"))
    inventory = list(itertools.islice(synthetic_inventory(ENGINE, 200, seed=4), 200))
    for n, text in enumerate(inventory, 1):
        planner.line(text, n)
    # mostate writes the state as json.dumps does: the text after the id is the cache key.
    distinct = {json.dumps(json.loads(t)["state"]) for t in inventory}
    assert len(planner.tails) == len(distinct) < 200


def test_a_line_written_another_way_is_read_in_full_and_planned_the_same() -> None:
    planner = lines_module.LinePlanner(Campaign(ACTIVE, "new"))
    ours = planner.line('{"device": "a", "state": {"MMS": {"x": {"active": true}}}}', 1)
    other = planner.line('{ "state": {"MMS": {"x": {"active": true}}}, "device": "a"}', 2)
    assert ours == other and len(planner.tails) == 2
    spaced = planner.line('{"device": "a", "state": {"MMS": {"x": {"active": true}}}}  \n', 3)
    assert spaced == ours and len(planner.tails) == 2


def test_a_cached_text_after_the_id_never_hides_a_bad_line() -> None:
    planner = lines_module.LinePlanner(Campaign(ACTIVE, "new"))
    planner.line('{"device": "a", "state": {}}', 1)
    assert '"error"' in planner.line('{"device": "b", "state": {}, "device": "c"}', 2)
    assert '"error"' in planner.line('{"device": 5, "state": {}}', 3)
    assert '"error"' in planner.line('{"device": "", "state": {}}', 4)
    assert planner.line('{"device": "d", "state": {}}', 5).startswith('{"device": "d", "plan"')


def test_a_fleet_is_the_same_for_a_seed_and_holds_the_mix_it_promises(tmp_path: Path) -> None:
    one = list(synthetic_inventory(ENGINE, 400, seed=1))
    assert one == list(synthetic_inventory(ENGINE, 400, seed=1))
    assert one != list(synthetic_inventory(ENGINE, 400, seed=2))
    states = [DeviceState.from_json(json.loads(x)["state"]) for x in one]
    for state in states:
        ENGINE.validate(state)
    sizes = {len(s.service("MMS").instances) for s in states}
    assert sizes == {1, 2, 3, 4}
    flags = [i for s in states for i in s.service("MMS").instances.values()]
    for flag in ("active", "default", "locked"):
        share = sum(getattr(i, flag) for i in flags) / len(flags)
        assert 0.05 < share < 0.5, (flag, share)
    assert all(i.params.get("MMSC") for i in flags)


@pytest.mark.slow  # about 1 s
def test_parameter_values_share_a_plan_unless_something_names_them() -> None:
    planner = CampaignPlanner(ENGINE, Campaign(ACTIVE, "new"))
    for mmsc in ("http://a", "http://b", "http://c"):
        planner.plan("d", DeviceState.from_json({"MMS": {"x": {"params": {"MMSC": mmsc}}}}))
    assert len(planner.cache) == 1
    # A goal that names a value tells it apart, and the plans differ as explore.plan's do.
    text = 'exists(target) and all(i, params(i) != with({}, "MMSC", "http://a"))'
    named = CampaignPlanner(ENGINE, Campaign(text, "new"))
    goal = Goal.parse(text, "MMS", "new")
    lengths = set()
    for mmsc in ("http://a", "http://b"):
        state = DeviceState.from_json({"MMS": {"x": {"params": {"MMSC": mmsc}}}})
        ours = named.plan("d", state).requests
        theirs = plan(ENGINE, state, goal).trace
        assert theirs is not None and ours == theirs.requests
        lengths.add(len(ours))
    assert lengths == {1, 2}


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 50, 200])
def test_line_ranges_cover_every_line_once_with_its_number(tmp_path: Path, parts: int) -> None:
    from mostate.campaign.scale import line_ranges

    lines = [("x" * (n % 13)) + f"{n}\n" for n in range(1, 61)]
    path = tmp_path / "f"
    path.write_text("".join(lines), encoding="utf-8")
    data = path.read_bytes()
    seen: list[str] = []
    for start, end, number in line_ranges(str(path), parts):
        chunk = data[start:end].decode().splitlines(keepends=True)
        assert chunk[0] == lines[number - 1]
        seen.extend(chunk)
    assert seen == lines
