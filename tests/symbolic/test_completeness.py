"""``verify --complete``: the shipped spec's properties decide every answer; a spec without the
properties that close its gaps gets, per gap, two answers both engines' checks accept; and
``Engine.judge``, which replays the other answer, judges any answer, not only its own steps'."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mostate import Answer, DeviceState, Engine, Request, Status, load_spec, parse_spec
from mostate.cli import main
from mostate.errors import ReplayError
from mostate.symbolic.completeness import Determined, Gap, check_completeness, statuses
from tests.conftest import CCS

TEXT = CCS.read_text(encoding="utf-8")

CLOSING = (
    "only_add_answers_418",
    "add_and_queries_are_never_425",
    "add_and_service_queries_are_never_404",
    "parameter_commands_change_no_flag",
    "set_active_changes_only_active",
    "set_default_changes_only_default",
    "set_locked_changes_only_locked",
    "get_answers_the_target",
)
"""The properties added to close the gaps --complete found in the shipped spec."""


def without(*names: str) -> str:
    """The shipped spec's text without the named property tables."""
    text = TEXT
    for name in names:
        text, n = re.subn(rf"\[properties\.{name}\]\n.*?\n(?=\n\[|\n#)", "", text, flags=re.S)
        assert n == 1, name
    return text


OPEN = parse_spec(without(*CLOSING), "open.toml")
"""The shipped spec as it was before its gaps were closed."""


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_shipped_spec_decides_every_answer() -> None:
    rows = check_completeness(load_spec())
    assert len(rows) == 30
    assert all(isinstance(r.verdict, Determined) for r in rows), [
        (r.op, r.branch, r.verdict) for r in rows if not isinstance(r.verdict, Determined)
    ]


@pytest.mark.slow  # about 2 s here (2 cores)
def test_without_its_closing_properties_every_operation_has_a_gap_that_replays() -> None:
    rows = check_completeness(OPEN)
    gaps = [r for r in rows if isinstance(r.verdict, Gap)]
    assert {r.op for r in gaps} == set(OPEN.ops)
    engine = Engine(OPEN)
    for row in gaps:
        gap = row.verdict
        assert isinstance(gap, Gap) and gap.request.op == row.op
        assert engine.apply(gap.before, gap.request) == gap.spec
        assert gap.differs and gap.other != gap.spec
        assert int(gap.other.status) in statuses(OPEN)
        if gap.other.status is not Status.OK:  # a refusal's answer keeps the state
            assert gap.other.result is None


def test_a_frame_gap_shows_the_flag_the_properties_leave_free() -> None:
    # The mistake: a server's set_locked that also changes Active. Without the frame
    # property, an answer doing so keeps every other property.
    spec = parse_spec(without("set_locked_changes_only_locked"), "frame.toml")
    rows = {(r.op, r.branch): r.verdict for r in check_completeness(spec)}
    gap = rows[("set_locked", "server")]
    assert isinstance(gap, Gap) and gap.differs == ("state",)
    assert gap.spec.status is gap.other.status is Status.OK
    service, name = gap.request.service, gap.request.instance
    assert service is not None and name is not None
    mine, other = gap.spec.state.instance(service, name), gap.other.state.instance(service, name)
    assert mine is not None and other is not None and mine.locked == other.locked
    assert (mine.active, mine.default, mine.params) != (other.active, other.default, other.params)
    assert all(isinstance(v, Determined) for k, v in rows.items() if k[0] != "set_locked")


@pytest.mark.slow  # about 1 s here (2 cores)
def test_an_other_answer_the_engine_does_not_accept_is_a_replay_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = parse_spec(without("get_answers_the_target"), "get.toml")
    monkeypatch.setattr(Engine, "judge", lambda *args: (Engine(spec).spec.properties[0],))
    with pytest.raises(ReplayError, match="the other answer breaks"):
        check_completeness(spec)


# -- Engine.judge -----------------------------------------------------------------------------

ACTIVATE = {"actor": "user", "op": "set_active", "service": "MMS", "instance": "a", "value": True}


def test_judge_weighs_an_answer_its_own_steps_never_give() -> None:
    # The optimised engine specialises its checks to its own steps (a set_active changes one
    # service, so own_service_only is true of it); judge must still see another answer break it.
    engine = Engine(load_spec())
    before = DeviceState.from_json({"MMS": {"a": {}}, "WAP": {"x": {"active": True}}})
    request = Request.from_json(ACTIVATE)
    own = engine.apply(before, request)
    assert engine.judge(before, request, Answer(Status.OK, own.state)) == ()
    elsewhere = own.state.to_json()
    elsewhere["WAP"]["x"]["active"] = False
    broken = engine.judge(before, request, Answer(Status.OK, DeviceState.from_json(elsewhere)))
    assert [c.name for c in broken] == ["own_service_only"]
    refused = engine.judge(before, request, Answer(Status.PERMISSION_DENIED, own.state))
    assert "refusal_changes_nothing" in [c.name for c in refused]


# -- the command line -------------------------------------------------------------------------


@pytest.mark.slow  # verify and its rules with the completeness table: about 3 s here
def test_cli_complete_exits_0_on_the_shipped_spec_and_1_on_a_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--complete", "--depth", "0"]) == 0
    assert "30 determined, 0 gaps, 0 unknown in" in capsys.readouterr().out
    path = tmp_path / "open.toml"
    path.write_text(without("set_locked_changes_only_locked"), encoding="utf-8")
    assert main(["verify", str(path), "--complete", "--depth", "0", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    gaps = [row for row in report["completeness"] if row["verdict"] == "GAP"]
    assert [(g["op"], g["actor"]) for g in gaps] == [("set_locked", "server")]
    gap = gaps[0]["gap"]
    before, request = DeviceState.from_json(gap["before"]), Request.from_json(gap["request"])
    assert Engine(load_spec(path)).apply(before, request).to_json() == gap["spec"]
    assert gap["other"]["status"] == 200 and gap["other"]["state"] != gap["spec"]["state"]


def test_a_dropped_confirmation_hidden_by_a_typo_in_its_property_is_a_gap() -> None:
    # One of the five mistakes no property saw: get asks no confirmation, and the
    # property that would notice reads `declined` (asked and declined) for `declines` (the
    # user's "no"). Every proof passes; --complete shows that a declined get may be answered
    # 200 or 215, both keeping every property.
    text = TEXT.replace('expr = "declines -> status != 200"', 'expr = "declined -> status != 200"')
    get_confirm = "[[ops.get.steps]]\nconfirm = true\n"
    assert get_confirm in text
    spec = parse_spec(text.replace(get_confirm, ""), "typo.toml")
    rows = {(r.op, r.branch): r.verdict for r in check_completeness(spec)}
    gap = rows[("get", "server/decline")]
    assert isinstance(gap, Gap) and int(gap.spec.status) == 200
    assert int(gap.other.status) == 215
