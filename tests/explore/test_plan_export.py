"""Plans reach their goal by the shortest way; the conformance suite covers every edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Role, SpecError, load_spec
from mostate.cli.run import diverging
from mostate.explore import ExploreScope, Goal, explore, export_traces, plan
from mostate.trace import read_lines
from tests.conftest import CCS, MUTANTS

START = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"default": True}}})


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_spec(CCS))


@pytest.mark.slow  # about 2 s here (2 cores)
def test_a_campaign_plan_reaches_its_goal(engine: Engine) -> None:
    goal = Goal.parse("active(target) and default(target) and locked(target)", target="new")
    found = plan(engine, START, goal)
    assert found.trace is not None
    assert [r.op for r in found.trace.requests] == [
        "add",
        "set_active",
        "set_default",
        "set_locked",
    ]
    final = found.trace.replay(engine)[-1].outcome.state
    assert goal.holds(final) and not goal.holds(START)


def test_a_plan_is_shortest(engine: Engine) -> None:
    goal = Goal.parse("not any(i, active(i))")
    found = plan(engine, START, goal)
    assert found.trace is not None and len(found.trace.requests) == 1


def test_a_user_cannot_lock_so_the_goal_is_unreachable(engine: Engine) -> None:
    goal = Goal.parse("locked(target)", target="a")
    found = plan(engine, START, goal, roles=frozenset({Role.USER}))
    assert found.trace is None and not found.bounded
    assert "satisfies the goal" in found.reason


def test_a_search_that_hits_its_bound_says_so(engine: Engine) -> None:
    goal = Goal.parse("locked(target)", target="a")
    found = plan(engine, START, goal, roles=frozenset({Role.USER}), max_states=5)
    assert found.trace is None and found.bounded


def test_a_bad_goal_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown function"):
        Goal.parse("activ(target)", target="a")
    with pytest.raises(SpecError):
        Goal.parse("count(i, active(i))")


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_suite_has_one_trace_per_edge_and_the_spec_passes_it(
    engine: Engine, tmp_path: Path
) -> None:
    run = explore(engine, ExploreScope(2, 1))
    summary = export_traces(run, tmp_path)
    files = sorted(tmp_path.glob("*.jsonl"))
    assert summary.traces == len(files) == run.stats.edges
    assert summary.requests == sum(len(f.read_text().splitlines()) - 1 for f in files)
    for file in files[::37]:
        start, lines = read_lines(file.read_text().splitlines())
        assert all(line.expect is not None for line in lines)
        assert diverging(engine, start or DeviceState(), lines) == []


def test_the_suite_catches_a_device_that_ignores_locks(engine: Engine, tmp_path: Path) -> None:
    export_traces(explore(engine, ExploreScope(1, 1)), tmp_path)
    buggy = Engine(load_spec(MUTANTS / "delete-ignores-lock.toml"))
    caught = 0
    for file in sorted(tmp_path.glob("*.jsonl")):
        start, lines = read_lines(file.read_text().splitlines())
        caught += bool(diverging(buggy, start or DeviceState(), lines))
    assert caught > 0


def test_exported_lines_are_requests_with_expectations(engine: Engine, tmp_path: Path) -> None:
    export_traces(explore(engine, ExploreScope(1, 1)), tmp_path)
    first = (tmp_path / "trace-000001.jsonl").read_text().splitlines()
    assert json.loads(first[0]) == {"start": {}}
    assert set(json.loads(first[-1])["expect"]) == {"status", "state", "result"}
