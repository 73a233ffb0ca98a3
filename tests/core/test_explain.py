"""``mostate explain``: each step in order with its condition's value, the deciding step the
engine's own clause, in text and JSON, on the shipped spec and on mutants whose effects run
before their refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, load_spec
from mostate.cli import main
from mostate.explain import explain
from mostate.testing import requests, states

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    "ccs.toml",
    "mutants/effect-before-lock-check.toml",
    "mutants/effect-before-confirmation.toml",
]


@pytest.mark.slow  # about 2 s each here (2 cores): drawing valid states is the cost
@pytest.mark.parametrize("name", SPECS)
def test_the_step_explain_finds_deciding_is_the_engines(name: str) -> None:
    spec = load_spec(ROOT / "specs" / name)
    engine = Engine(spec)

    @settings(max_examples=60, database=None)
    @given(states(spec), st.data())
    def agrees(state: DeviceState, data: st.DataObject) -> None:
        request = data.draw(requests(spec))
        found = explain(engine, state, request)  # raises ReplayError on a disagreement
        status = int(found.outcome.status)
        fired = [s for s in found.steps if s.verdict.startswith("fires")]
        if status in (200, 400, 500):
            assert not fired
        else:
            assert fired and (fired[0].status or 215) == status
            after = found.steps[found.steps.index(fired[0]) + 1 :]
            assert all(s.verdict == "not reached" for s in after)
        if status == 200:
            applied = [s for s in found.steps if s.kind == "effect"]
            assert all(s.verdict == "applied" for s in applied)

    agrees()


LOCKED_ACTIVE = {"MMS": {"a": {"active": True, "locked": True}, "b": {}}}
SWITCH = {"actor": "user", "op": "set_active", "service": "MMS", "instance": "b", "value": True}


def test_every_part_of_a_condition_has_its_value() -> None:
    engine = Engine(load_spec())
    found = explain(engine, DeviceState.from_json(LOCKED_ACTIVE), Request.from_json(SWITCH))
    locked = found.steps[1]
    assert locked.verdict == "fires" and locked.status == 425
    assert locked.condition is not None and locked.condition.value is True
    (left, right) = locked.condition.parts
    assert (left.text, left.value) == ("locked(target)", False)
    assert right.value is True
    quantifier = right.parts[1]
    assert quantifier.text.startswith("any(j,") and quantifier.note == "holds for a"
    assert [s.verdict for s in found.steps[2:]] == ["not reached", "not reached"]


def test_explain_in_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "s.json"
    state.write_text(json.dumps(LOCKED_ACTIVE))
    assert main(["explain", "--state", str(state), json.dumps(SWITCH)]) == 0
    text = capsys.readouterr().out
    assert "2. refusal 'locked' (425; user): fires" in text
    assert "any(j, active(j) and locked(j) and j != target) = true  [holds for a]" in text
    assert "answer: 425" in text and "decided by refusal set_active: locked" in text
    assert main(["explain", "--state", str(state), json.dumps(SWITCH), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["verdict"] for s in report["steps"]] == [
        "passes",
        "fires",
        "not reached",
        "not reached",
    ]
    assert report["steps"][1]["condition"]["parts"][0] == {"expr": "locked(target)", "value": False}
    assert report["answer"]["status"] == 425 and report["changes"] == {}


def test_explain_the_last_line_of_a_trace_after_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    trace = ROOT / "specs" / "scenarios" / "alternative-2-confirmation.jsonl"
    assert main(["explain", str(trace), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"][-1]["verdict"] == "applied" and report["steps"][-1]["changes"]
    assert report["before"]  # the state the earlier lines left


def test_a_malformed_request_is_explained_by_the_engines_400(
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = {**SWITCH, "value": "yes"}
    assert main(["explain", json.dumps(request)]) == 0
    out = capsys.readouterr().out
    assert "answer: 400" in out and "'value' must be bool" in out
