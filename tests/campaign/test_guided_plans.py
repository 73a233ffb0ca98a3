"""The guided search gives the plain breadth-first search's plans, request for request: on the
canonical states of synthetic fleets, on states drawn by Hypothesis (two services, a target
that may already exist), and without the proof; the CLI proves a campaign's goal once."""

from __future__ import annotations

import functools
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, load_spec
from mostate.campaign import Campaign, CampaignPlanner, synthetic_fleet
from mostate.campaign import search as search_module
from mostate.campaign.search import shortest
from mostate.cli import campaign as cli_campaign
from mostate.cli import main
from mostate.explore import Goal
from mostate.progress import Progress
from mostate.symbolic.progress import prove_goal
from mostate.testing.strategies import states

ENGINE = Engine(load_spec())
THREE = "active(target) and default(target) and locked(target)"
GOALS = (
    "exists(target) and active(target)",
    "active(target) and locked(target)",
    "not any(i, locked(i)) and active(target) and not default(target)",
    "exists(target) and count(i, exists(i)) == 1",
    "exists(target) and active(target) and not exists(target)",  # unreachable
)


def canonical_forms(devices: int, seed: int) -> list[DeviceState]:
    """The canonical states a campaign planner searches from, for a synthetic fleet."""
    planner = CampaignPlanner(ENGINE, Campaign("exists(target)", "new"))
    for device, state in synthetic_fleet(ENGINE, devices, seed=seed):
        planner.plan(device, state)
    return sorted(planner.cache, key=lambda s: (len(s.to_json()["MMS"]), repr(s)))


@functools.cache
def proved(goal: str) -> Progress:
    return prove_goal(ENGINE.spec, goal)


def both(goal: Goal, state: DeviceState, max_states: int = 20_000) -> tuple[object, object]:
    plain = shortest(ENGINE, state, goal, max_states=max_states)
    guided = shortest(ENGINE, state, goal, max_states=max_states, progress=proved(goal.text))
    return plain, guided


def estimates_along(goal: Goal, state: DeviceState, plan: tuple[Request, ...]) -> list[int]:
    """The guided search's estimate at each state of ``plan`` from ``state``."""
    progress = proved(goal.text)
    out = [progress.estimate(goal.met(state))]
    for request in plan:
        state = ENGINE.apply(state, request).state
        out.append(progress.estimate(goal.met(state)))
    return out


@pytest.mark.slow  # about 3 s: the plain search is what the guided one saves
def test_guided_plans_are_the_plain_searchs_on_the_fleets_canonical_states() -> None:
    forms = canonical_forms(600, seed=5)
    small = [f for f in forms if len(f.to_json()["MMS"]) <= 2]
    large = [f for f in forms if len(f.to_json()["MMS"]) >= 3]
    assert len(small) > 20 and len(large) > 80
    rng = random.Random(28)
    cases = [(g, small + rng.sample(large, 24)) for g in GOALS[:3]]
    cases += [(GOALS[3], small), (GOALS[4], small[:3])]
    cases += [(THREE, [*rng.sample(small, 10), *rng.sample(large, 4)])]
    planned = 0
    for text, chosen in cases:
        goal = Goal.parse(text, "MMS", "new")
        for state in chosen:
            plain, guided = both(goal, state, max_states=1_000 if text == GOALS[4] else 50_000)
            assert guided == plain, (text, state.to_json())
            if isinstance(plain, tuple):
                planned += 1
                # The estimate is a lower bound on what is left, along the shortest plan.
                seen = estimates_along(goal, state, plain)
                assert seen[-1] == 0 and all(e <= len(plain) - k for k, e in enumerate(seen))
    assert planned == sum(len(c) for t, c in cases if t != GOALS[4])  # every plan found


@pytest.mark.slow  # 1.5 to 6 s: some drawn states take the plain search thousands of states
@settings(max_examples=25)
@given(states(ENGINE.spec), st.sampled_from(["a", "new"]), st.sampled_from(GOALS[:4]))
def test_guided_plans_are_the_plain_searchs_on_drawn_states(
    state: DeviceState, target: str, text: str
) -> None:
    goal = Goal.parse(text, "MMS", target)
    plain, guided = both(goal, state, max_states=5_000)
    assert guided == plain


def test_a_campaign_plans_the_same_with_or_without_the_proof_and_refuses_anothers() -> None:
    state = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    plain = CampaignPlanner(ENGINE, Campaign(THREE, "new")).plan("d", state).requests
    guided = CampaignPlanner(ENGINE, Campaign(THREE, "new", progress=proved(THREE)))
    assert guided.progress == proved(THREE) and guided.plan("d", state).requests == plain
    assert plain is not None and [r.op for r in plain] == [
        "add", "set_active", "set_default", "set_locked"
    ]  # fmt: skip
    # Facts proved of another goal would prune what this one needs: refused.
    for other in ("active(target) and locked(target)", "locked(target) and active(target)"):
        with pytest.raises(ValueError, match="proved of"):
            CampaignPlanner(ENGINE, Campaign(other, "new", progress=proved(THREE)))


def test_campaign_plan_proves_the_goal_once_and_carries_it_to_its_planners(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Campaign] = []
    real = cli_campaign.plan_inventory

    def spy(campaign: Campaign, *args: Any, **kwargs: Any) -> Any:
        seen.append(campaign)
        return real(campaign, *args, **kwargs)

    monkeypatch.setattr(cli_campaign, "plan_inventory", spy)
    inventory = '{"device": "d", "state": {"MMS": {"a": {"active": true}}}}\n'
    monkeypatch.setattr("sys.stdin", io.StringIO(inventory))
    out = tmp_path / "plans.jsonl"
    argv = ["campaign", "plan", "-", "--goal", THREE, "--target", "new", "--out", str(out)]
    assert main(argv) == 0
    assert [r["op"] for r in json.loads(out.read_text())["plan"]][-1] == "set_locked"
    assert [c.progress for c in seen] == [proved(THREE)]


def test_an_unreachable_goal_costs_the_guided_search_at_most_its_budget_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The walks cannot tell that a goal is out of reach before their bound passes the deepest
    # state, each walk repeating the last: unbudgeted, they took four times the plain search's
    # steps here. Their budget spent, the plain search answers.
    plain_stepper, steps = search_module.stepper, [0]

    def counting(engine: Engine) -> search_module.Step:
        step = plain_stepper(engine)

        def counted(state: DeviceState, request: Request) -> DeviceState:
            steps[0] += 1
            return step(state, request)

        return counted

    monkeypatch.setattr(search_module, "stepper", counting)
    state = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    goal = Goal.parse(GOALS[4], "MMS", "new")
    progress = proved(goal.text)
    assert len(progress.groups()) == 3
    assert shortest(ENGINE, state, goal, max_states=300) is None
    plain, steps[0] = steps[0], 0
    assert shortest(ENGINE, state, goal, max_states=300, progress=progress) is None
    assert plain > 300 and steps[0] <= plain + 300
