"""No dead rules: every refusal, confirmation point and effect of the shipped spec has a witness
that it fires, every premise a witness that it holds; specs with a dead rule or a vacuous property
are caught, warned about, and fail under ``mostate verify --strict``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import mostate.symbolic.liveness as liveness_module
from mostate import Engine, load_spec, parse_spec
from mostate.errors import ReplayError
from mostate.model import Status
from mostate.rules import Spec
from mostate.symbolic import Dead, Live, Liveness, Proved, Verifier, check_liveness
from mostate.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
CCS_TEXT = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    """The shipped spec's text with one passage replaced (which must occur exactly once)."""
    assert CCS_TEXT.count(old) == 1, old
    return CCS_TEXT.replace(old, new)


def without_properties(text: str, *names: str) -> str:
    """``text`` with the named ``[properties.NAME]`` tables left out."""
    for name in names:
        text, n = re.subn(rf"\[properties\.{name}\]\n.*?\n(?=\[|# -)", "", text, flags=re.S)
        assert n == 1, name
    return text


# The properties that pin what add answers would be violated by an add that is always refused
# (that is what they are for): left out, its rules are only dead.
ALWAYS_REFUSED_ADD = without_properties(
    edited('when = "exists(target)"', 'when = "exists(target) or not exists(target)"'),
    "existing_instance_is_418",
    "add_creates_a_blank_instance",
)
VACUOUS = (
    CCS_TEXT
    + """
[properties.never_above_600]
doc = "No status is above 600 (so the premise never holds)."
expr = "status > 600 -> all(i in device, unchanged(i))"
"""
)


def shadowed(condition: str) -> str:
    """The shipped spec with a refusal of delete after "missing", under ``condition``."""
    return edited(
        '[[ops.delete.steps]]\nname = "locked"',
        f'[[ops.delete.steps]]\nname = "shadowed"\nrefuse = 404\nwhen = "{condition}"\n\n'
        '[[ops.delete.steps]]\nname = "locked"',
    )


def rows_by_rule(spec: Spec, depth: int = 4) -> dict[str, Liveness]:
    rows = check_liveness(spec, depth=depth)
    assert len({r.rule for r in rows}) == len(rows)
    return {r.rule: r for r in rows}


def replayed_clause(spec: Spec, row: Liveness) -> tuple[int, str]:
    """Status and clause name of the witness's last step, replayed independently of the checker."""
    assert isinstance(row.verdict, Live)
    last = row.verdict.witness.replay(Engine(spec))[-1]
    return int(last.outcome.status), last.outcome.clause.name


# -- the shipped spec --------------------------------------------------------------------------


@pytest.mark.slow  # about 2 s here (2 cores)
def test_every_rule_of_the_shipped_spec_fires_from_the_empty_device() -> None:
    spec = load_spec()
    rows = check_liveness(spec)
    steps = sum(len(op.steps) for op in spec.ops.values())
    premises = [r for r in rows if r.kind == "premise"]
    assert len(rows) == steps + len(premises)
    top = {r.rule for r in premises if "@" not in r.rule}
    nested = {r.rule.split("@")[0] for r in premises if "@" in r.rule}
    assert top == {
        "refusal_changes_nothing",
        "get_active_is_active",
        "default_when_none_active",
        "user_keeps_off_locked_instances",
        "user_sets_active_unless_locked",
        "user_sets_default_unless_locked",
        "only_a_server_locks",
        "every_request_asks_first",
        "add_creates_a_blank_instance",
        "delete_removes_the_target",
        "replace_sets_the_parameter",
        "delete_param_removes_the_parameter",
        "set_active_switches",
        "set_default_switches",
        "set_locked_locks_the_target_alone",
        "get_answers_the_target",
    }
    # the premises inside all(...) and on the right of another implication, invariants' too
    assert nested == {
        "flags_need_instance",
        "user_respects_lock",
        "user_never_locks",
        "add_creates_a_blank_instance",
        "delete_removes_the_target",
        "replace_sets_the_parameter",
        "delete_param_removes_the_parameter",
        "set_active_switches",
        "set_default_switches",
        "set_locked_locks_the_target_alone",
    }
    for row in rows:
        assert isinstance(row.verdict, Live), row
        assert row.verdict.reachable, row
        assert row.verdict.witness.start.to_json() == {}
        assert row.op == row.verdict.witness.requests[-1].op


def test_each_witness_is_decided_by_its_own_clause() -> None:
    spec = load_spec()
    for row in check_liveness(spec, depth=0):
        status, clause = replayed_clause(spec, row)
        if row.kind == "refusal":
            assert clause == row.rule and status != 200, row
        elif row.kind == "confirmation":
            assert clause == row.rule and status == int(Status.NOT_EXECUTED), row
        elif row.kind == "effect":
            assert status == 200, row


def test_depth_0_gives_witnesses_from_invariant_states_only() -> None:
    rows = check_liveness(load_spec(), depth=0)
    assert all(isinstance(r.verdict, Live) and not r.verdict.reachable for r in rows)


def test_a_witness_the_engine_does_not_confirm_is_a_replay_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same clauses at the same places, but an add that is always refused.
    other = parse_spec(ALWAYS_REFUSED_ADD, load_spec().source)
    monkeypatch.setattr(liveness_module, "Engine", lambda spec, **kw: Engine(other, **kw))
    with pytest.raises(ReplayError, match=r"'add: (create|confirmation)'"):
        check_liveness(load_spec(), depth=0)


# -- dead rules and vacuous properties ---------------------------------------------------------


@pytest.mark.slow  # about 2 s here (2 cores)
def test_an_add_that_is_always_refused_kills_its_confirmation_and_effect() -> None:
    spec = parse_spec(ALWAYS_REFUSED_ADD, "always-refused.toml")
    assert all(isinstance(c.verdict, Proved) for c in Verifier(spec).checks())
    rows = rows_by_rule(spec, depth=2)
    assert isinstance(rows["add: confirmation"].verdict, Dead)
    assert isinstance(rows["add: create"].verdict, Dead)
    refused = rows["add: already exists"]
    assert isinstance(refused.verdict, Live) and refused.verdict.reachable
    assert replayed_clause(spec, refused) == (418, "add: already exists")
    # Nothing can be created, so delete's rules fire only from states the empty device never
    # reaches: live (as the proofs count states), but not reached.
    removed = rows["delete: remove"].verdict
    assert isinstance(removed, Live) and not removed.reachable
    assert removed.witness.start.to_json() != {}


@pytest.mark.slow  # about 3 s here (2 cores)
def test_a_property_whose_premise_never_holds_is_vacuous() -> None:
    spec = parse_spec(VACUOUS, "vacuous.toml")
    proved = [c for c in Verifier(spec).checks() if c.name == "never_above_600"]
    assert proved and all(isinstance(c.verdict, Proved) for c in proved)
    rows = rows_by_rule(spec, depth=1)
    vacuous = rows["never_above_600"]
    assert vacuous.kind == "premise" and isinstance(vacuous.verdict, Dead)
    assert isinstance(rows["refusal_changes_nothing"].verdict, Live)


NESTED = CCS_TEXT + (
    "\n[properties.two_active_are_refused]\n"
    'doc = "An instance Active beside another Active one is refused (no valid state has two)."\n'
    'ops = ["set_active"]\n'
    'expr = "all(i, (active(i) and count(j, active(j)) >= 2) -> status == 425)"\n'
)


def test_a_premise_inside_a_quantifier_that_never_holds_is_vacuous(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Once reported "0 vacuous" under --strict: only top-level premises were asked about.
    from mostate.cli import main

    rows = rows_by_rule(parse_spec(NESTED, "nested.toml"), depth=1)
    vacuous = [r for r in rows.values() if isinstance(r.verdict, Dead)]
    assert [(r.rule.split("@")[0], r.kind) for r in vacuous] == [
        ("two_active_are_refused", "premise")
    ]
    path = tmp_path / "nested.toml"
    path.write_text(NESTED, encoding="utf-8")
    assert main(["verify", str(path), "--depth", "1", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "WARNING vacuous property two_active_are_refused@" in out and "1 vacuous" in out


def test_a_premise_under_an_if_branch_holds_with_its_condition() -> None:
    spec = parse_spec(
        CCS_TEXT
        + '\n[properties.branchy]\nops = ["get"]\n'
        + 'expr = "if exists(target) then (not exists(target) -> false) else true"\n',
        "branchy.toml",
    )
    rows = rows_by_rule(spec, depth=0)
    branchy = [r for r in rows.values() if r.rule.startswith("branchy@")]
    assert len(branchy) == 1 and isinstance(branchy[0].verdict, Dead)


@pytest.mark.parametrize(
    "condition", ["not exists(target)", "not exists(target) and not active(target)"]
)
def test_a_refusal_shadowed_by_an_earlier_one_is_dead(condition: str) -> None:
    spec = parse_spec(shadowed(condition), "shadowed.toml")
    rows = rows_by_rule(spec, depth=1)
    assert isinstance(rows["delete: shadowed"].verdict, Dead)
    assert isinstance(rows["delete: missing"].verdict, Live)


@pytest.mark.slow  # about 2 s here (2 cores)
def test_a_refusal_that_only_overlaps_an_earlier_one_is_live() -> None:
    spec = parse_spec(shadowed("not exists(target) or active(target)"), "overlap.toml")
    row = rows_by_rule(spec, depth=3)["delete: shadowed"]
    assert isinstance(row.verdict, Live) and row.verdict.reachable
    assert replayed_clause(spec, row) == (404, "delete: shadowed")


# -- mostate verify ----------------------------------------------------------------------------


@pytest.mark.slow  # about 3 s here (2 cores)
def test_verify_strict_passes_on_the_shipped_spec(capsys: pytest.CaptureFixture[str]) -> None:
    from mostate.cli import main

    assert main(["verify", "--strict"]) == 0
    out = capsys.readouterr().out
    lines = out.rstrip("\n").splitlines()
    assert "WARNING" not in out and "DEAD" not in out and "VACUOUS" not in out
    assert " rules live, 0 dead; 26 premises satisfiable, 0 vacuous" in lines[-2]
    assert " proved, 0 violated, 0 unknown in " in lines[-1]


@pytest.mark.slow  # about 5 s here (2 cores)
def test_a_dead_rule_warns_and_fails_only_under_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from mostate.cli import main

    path = tmp_path / "always-refused.toml"
    path.write_text(ALWAYS_REFUSED_ADD, encoding="utf-8")
    assert main(["verify", str(path), "--depth", "2"]) == 0
    out = capsys.readouterr().out
    assert "WARNING dead effect add: create" in out
    assert "WARNING dead confirmation add: confirmation" in out
    assert "2 dead; 24 premises satisfiable, 0 vacuous" in out
    last = out.rstrip("\n").splitlines()[-1]
    assert " proved, 0 violated, 0 unknown in " in last  # the proofs' line stays last
    assert main(["verify", str(path), "--depth", "2", "--strict"]) == 1


@pytest.mark.slow  # about 2 s here (2 cores)
def test_the_json_report_lists_every_rule_with_its_witness(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from mostate.cli import main

    path = tmp_path / "vacuous.toml"
    path.write_text(VACUOUS, encoding="utf-8")
    assert main(["verify", str(path), "--depth", "2", "--format", "json", "--strict"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["exit"] == 1
    rows = {row["rule"]: row for row in report["liveness"]}
    vacuous = rows["never_above_600"]
    assert vacuous["kind"] == "premise" and vacuous["verdict"] == "DEAD" and vacuous["warning"]
    assert vacuous["witness"] is None
    assert {row["kind"] for row in report["liveness"]} == {
        "refusal",
        "confirmation",
        "effect",
        "premise",
    }
    missing = rows["delete: missing"]
    assert missing["verdict"] == "LIVE" and missing["op"] == "delete" and not missing["warning"]
    witness = missing["witness"]
    assert witness["reachable"] and witness["requests"] == 1
    trace = Trace.from_json(witness["trace"])
    spec = parse_spec(VACUOUS, "vacuous.toml")
    assert trace.replay(Engine(spec))[-1].outcome.clause.name == "delete: missing"
    trace_file = tmp_path / "witness.jsonl"
    trace_file.write_text(trace.to_jsonl(), encoding="utf-8")
    assert main(["run", "--spec", str(path), str(trace_file)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == 404
