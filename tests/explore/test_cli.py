"""``mostate explore`` and ``mostate plan`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

import mostate.explore
from mostate.cli import main
from tests.conftest import MUTANTS


def test_explore_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--instances", "2", "--values", "1", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"states", "edges", "depth", "states_per_second", "violations"} <= set(report)
    assert report["violations"] == [] and report["states"] > 0


def test_explore_reports_a_mutant_with_its_trace(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(MUTANTS / "user-can-lock.toml")
    assert main(["explore", spec, "-n", "1", "-k", "1", "--format", "json"]) == 1
    (violation,) = json.loads(capsys.readouterr().out)["violations"]
    assert violation["name"] == "user_never_locks"
    assert violation["trace"][-1]["op"] == "set_locked"


@pytest.mark.parametrize("suffix", [".dot", ".graphml", ".json"])
def test_explore_writes_the_graph(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"g{suffix}"
    assert main(["explore", "-n", "1", "-k", "1", "--graph", str(out)]) == 0
    text = out.read_text()
    if suffix == ".graphml":
        assert nx.read_graphml(out).number_of_nodes() == 17
    elif suffix == ".json":
        assert len(json.loads(text)["nodes"]) == 17
    else:
        assert text.startswith("digraph") and text.count("->") > 17


def test_explore_exports_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "-n", "1", "-k", "1", "--export-traces", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {len(list(tmp_path.glob('*.jsonl')))} traces" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explore", "--instances", "0"], "instances must be at least 1"),
        (["explore", "--graph", "g.png"], "must end with one of"),
        (["explore", "a.toml", "--spec", "b.toml"], "give the spec once"),
        (["plan", "--goal", "activ(target)", "--target", "x"], "unknown function"),
        (["plan", "--goal", "true", "--state", "/nonexistent.json"], "cannot read state"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow  # about 2 s here (2 cores)
def test_plan_prints_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"MMS": {"a": {"active": True}, "b": {}}}))
    goal = "exists(target) and active(target) and default(target) and locked(target)"
    argv = ["plan", "--state", str(state), "--goal", goal, "--target", "new"]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["start"]["MMS"]["a"]["active"] is True
    assert [line["op"] for line in lines[1:]] == ["add", "set_active", "set_default", "set_locked"]


def test_plan_says_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--goal", "any(i, locked(i))", "--actor", "user", "--format", "json"]
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["reachable"] is False and "satisfies the goal" in report["reason"]


def test_exports_are_pinned() -> None:
    assert sorted(mostate.explore.__all__) == [
        "Exploration",
        "ExploreScope",
        "ExportSummary",
        "Goal",
        "Plan",
        "Stats",
        "Violation",
        "canonical",
        "draw_states",
        "explore",
        "export_traces",
        "in_use",
        "orbit_size",
        "plan",
        "scope_requests",
        "shortest_path",
        "step_graph",
    ]
    for name in mostate.explore.__all__:
        assert getattr(mostate.explore, name).__module__.startswith("mostate.explore")


@pytest.mark.parametrize(
    ("flags", "stopped"),
    [(["--max-states", "100"], "max states"), (["--max-memory", "1"], "max memory")],
    ids=["max-states", "max-memory"],
)
def test_explore_stops_at_a_limit_with_the_statistics_so_far(
    flags: list[str], stopped: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", "-n", "3", *flags, "--format", "json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["stopped"] == stopped and report["interrupted"] is True
    assert 0 < report["states"] < 840  # n = 3 has 840 states (up to symmetry): it stopped early
    assert main(["explore", "-n", "3", *flags]) == 3
    assert f"STOPPED ({stopped})" in capsys.readouterr().out
