"""``diff_specs`` and ``mostate diff``: a spec is equivalent to itself and to its refactorings,
each shipped mutant differs exactly on the operation it changed (with witnesses both engines
replay, as a device answers: the run-time check included), a spec that adds an invariant or a
property differs where the addition refuses a step, and an undecided query is never read as
equivalent."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import mostate
from mostate.cli import main
from mostate.errors import ReplayError
from mostate.rules import Spec
from mostate.symbolic import (
    Budget,
    Different,
    Equivalent,
    OpDiff,
    StateWitness,
    Undecided,
    Witness,
    diff_specs,
)
from mostate.symbolic import diff as diff_module
from mostate.symbolic.diff import STATES
from mostate.symbolic.transition import branches

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "specs" / "mutants"
MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
SHIPPED = mostate.load_spec()
TEXT = mostate.default_spec_path().read_text(encoding="utf-8")

OBSERVABLY_EQUIVALENT: dict[str, str] = {}
"""Mutants whose change no request can observe, each with the reason. delete_keeps_lock was one
while diff compared raw steps (the Locked flag it keeps belongs to the instance delete removes,
and the engine drops a missing instance's flags); a device answers its delete 500, since the
raw state breaks flags_need_instance, and diff now compares what a device answers."""


def edited(old: str, new: str) -> Spec:
    """The shipped spec with the first occurrence of one line replaced."""
    assert old in TEXT, old
    return mostate.parse_spec(TEXT.replace(old, new, 1), "edited.toml")


def changed_ops(a: Spec, b: Spec) -> set[str]:
    """The operations whose parsed definitions differ (locations are not compared)."""
    return {name for name in set(a.ops) | set(b.ops) if a.ops.get(name) != b.ops.get(name)}


def differing(rows: list[OpDiff]) -> set[str]:
    return {row.op for row in rows if isinstance(row.verdict, Different)}


def assert_replays(a: Spec, b: Spec, rows: list[OpDiff]) -> None:
    """Every witness, run again through fresh engines (as a device answers, the run-time check
    included), gives the outcomes it records, and they differ in what it says."""
    for row in rows:
        if not isinstance(row.verdict, Different):
            continue
        witness = row.verdict.witness
        if row.op == STATES:
            assert isinstance(witness, StateWitness) and row.verdict.reason == STATES
            allowed = [not mostate.Engine(s).state_violations(witness.state) for s in (a, b)]
            assert allowed[0] != allowed[1]
            continue
        if row.verdict.reason == "signature":  # a result of another type: no request to replay
            assert witness is None and a.ops[row.op] != b.ops[row.op]
            continue
        assert isinstance(witness, Witness) and row.verdict.reason == "behaviour"
        assert witness.request.op == row.op
        assert witness.request.actor.role.value == row.branch.split("/")[0]
        out_a = mostate.Engine(a).apply(witness.before, witness.request)
        out_b = mostate.Engine(b).apply(witness.before, witness.request)
        assert (out_a, out_b) == (witness.under_a, witness.under_b)
        shown = {
            "status": out_a.status != out_b.status,
            "result": out_a.result != out_b.result,
            "state": out_a.state != out_b.state,
        }
        assert witness.differs and {k for k, v in shown.items() if v} == set(witness.differs)


def test_a_spec_is_equivalent_to_itself_on_every_operation_and_branch() -> None:
    rows = diff_specs(SHIPPED, SHIPPED)
    expected = [(name, str(br)) for name, op in SHIPPED.ops.items() for br in branches(op)]
    assert [(r.op, r.branch) for r in rows] == [(STATES, "*"), *expected]
    assert all(isinstance(r.verdict, Equivalent) for r in rows)


@pytest.mark.parametrize("mutant", sorted(MANIFEST))
def test_each_mutant_differs_exactly_on_the_operation_it_changed(mutant: str) -> None:
    spec = mostate.load_spec(MUTANTS / MANIFEST[mutant]["file"])
    changed = changed_ops(SHIPPED, spec)
    assert changed, "a mutant changes at least one operation"
    rows = diff_specs(SHIPPED, spec)
    assert not [r for r in rows if isinstance(r.verdict, Undecided)]
    expected = set() if mutant in OBSERVABLY_EQUIVALENT else changed
    assert differing(rows) == expected
    assert_replays(SHIPPED, spec, rows)


REFACTORINGS = {
    "negation as a comparison": (
        'when = "not exists(target)"',
        'when = "exists(target) == false"',
    ),
    "operands of or and and swapped": (
        'when = "locked(target) or (value and any(j, active(j) and locked(j) and j != target))"',
        'when = "(value and any(j, locked(j) and active(j) and target != j)) or locked(target)"',
    ),
    "if-then-else as a disjunction": (
        'effect.active = "if i == target then value else active(i) and not value"',
        'effect.active = "(i == target and value) or (i != target and active(i) and not value)"',
    ),
    "a condition the invariants make redundant": (
        'result = "if any(i, active(i)) then the(i, active(i)) else the(i, default(i))"',
        'result = "if any(i, active(i)) then the(i, active(i) and'
        ' not any(j, active(j) and j != i)) else the(i, default(i))"',
    ),
}


@pytest.mark.slow  # about 3 s here (2 cores)
@pytest.mark.parametrize("name", sorted(REFACTORINGS))
def test_a_textually_different_refactoring_is_proved_equivalent(name: str) -> None:
    spec = edited(*REFACTORINGS[name])
    assert len(changed_ops(SHIPPED, spec)) == 1
    rows = diff_specs(SHIPPED, spec)
    assert all(isinstance(r.verdict, Equivalent) for r in rows), [
        (r.op, r.branch, r.verdict) for r in rows if not isinstance(r.verdict, Equivalent)
    ]


def test_a_change_only_states_outside_the_invariants_tell_apart_is_equivalent() -> None:
    # Also keeping the others when the target is Active changes nothing while one_active holds:
    # the diff compares the states both specs' invariants allow, and only those.
    line = 'effect.active = "if i == target then value else active(i) and not value"'
    loose = line.replace("active(i) and not value", "active(i) and not (value or active(target))")
    rows = diff_specs(SHIPPED, edited(line, loose), ops=["set_active"])
    assert all(isinstance(r.verdict, Equivalent) for r in rows)
    one_active = 'expr = "count(i, active(i)) <= 1"'
    assert one_active in TEXT
    unguarded = TEXT.replace(one_active, 'expr = "true"')
    a = mostate.parse_spec(unguarded, "a.toml")
    b = mostate.parse_spec(unguarded.replace(line, loose), "b.toml")
    rows = diff_specs(a, b, ops=["set_active"])
    assert differing(rows) == {"set_active"}
    assert_replays(a, b, rows)
    for row in rows:
        if isinstance(row.verdict, Different) and isinstance(row.verdict.witness, Witness):
            broken = mostate.Engine(SHIPPED).state_violations(row.verdict.witness.before)
            assert "one_active" in {clause.name for clause in broken}


# Specs that add a check to the shipped one: once "30 equivalent", exit 0, as diff compared the
# raw steps and not what a device answers (the run-time check refuses a step that breaks an
# invariant or a property with 500, the state kept).
ADDITIONS = {
    "an invariant": (
        '[invariants.never_active_and_locked]\nexpr = "all(i, not (active(i) and locked(i)))"\n',
        None,
        {STATES, "set_active", "set_locked"},
    ),
    "a property": (
        '[properties.server_keeps_the_active_one]\nops = ["delete"]\n'
        'expr = "status == 200 -> not active(target)"\n',
        None,
        {"delete"},
    ),
    "a property add breaks, --op add": (
        '[properties.add_makes_it_default]\nops = ["add"]\n'
        'expr = "status == 200 -> default\'(target)"\n',
        ["add"],
        {"add"},
    ),
}


@pytest.mark.parametrize("name", sorted(ADDITIONS))
def test_a_spec_that_adds_a_check_differs_where_a_device_answers_500(name: str) -> None:
    added, ops, expected = ADDITIONS[name]
    spec = mostate.parse_spec(TEXT + "\n" + added, "added.toml")
    rows = diff_specs(SHIPPED, spec, ops=ops)
    assert differing(rows) == expected
    assert_replays(SHIPPED, spec, rows)
    for row in rows:
        witness = row.verdict.witness if isinstance(row.verdict, Different) else None
        if isinstance(witness, Witness):
            assert (int(witness.under_a.status), int(witness.under_b.status)) == (200, 500)
            assert witness.under_b.state == witness.before


def test_the_issues_three_requests_are_200_under_one_spec_and_500_under_the_other() -> None:
    added = ADDITIONS["an invariant"][0]
    engines = mostate.Engine(SHIPPED), mostate.Engine(mostate.parse_spec(TEXT + added, "b.toml"))
    ask = {"actor": "server", "service": "MMS", "instance": "a"}
    steps = [
        {"op": "add"},
        {"op": "set_active", "value": True},
        {"op": "set_locked", "value": True},
    ]
    states = [mostate.DeviceState(), mostate.DeviceState()]
    for step in steps:
        request = mostate.Request.from_json({**ask, **step})
        answers = [
            engine.apply(state, request) for engine, state in zip(engines, states, strict=True)
        ]
        states = [answer.state for answer in answers]
    assert [int(answer.status) for answer in answers] == [200, 500]
    rows = diff_specs(SHIPPED, engines[1].spec)
    state_row = next(r for r in rows if r.op == STATES)
    assert isinstance(state_row.verdict, Different)
    witness = state_row.verdict.witness
    assert isinstance(witness, StateWitness)
    assert witness.broken_in_a == () and witness.broken_in_b == ("never_active_and_locked",)
    assert len(witness.state.service(next(iter(witness.state.services))).instances) == 1


def test_a_different_request_shape_and_a_missing_operation_need_no_solver() -> None:
    shape = edited('args = { value = "bool" }', 'args = { value = "bool", why = "str" }')
    rows = diff_specs(SHIPPED, shape, ops=["set_active", "get"])
    assert [(r.op, r.branch, r.verdict) for r in rows if r.op == "set_active"] == [
        ("set_active", "*", Different("signature"))
    ]
    text = TEXT.replace("ops.delete_param", "ops.drop_param")
    renamed = mostate.parse_spec(text.replace('"delete_param"', '"drop_param"'), "r.toml")
    rows = diff_specs(SHIPPED, renamed)
    assert Different("only in A") in [r.verdict for r in rows if r.op == "delete_param"]
    assert [r.verdict for r in rows if r.op == "drop_param"] == [Different("only in B")]
    assert differing(rows) == {"delete_param", "drop_param"}


def test_a_confirmation_only_one_spec_asks_for_is_compared_on_the_declined_branch() -> None:
    spec = edited("[[ops.add.steps]]\nconfirm = true\n\n", "")
    rows = diff_specs(SHIPPED, spec, ops=["add"])
    assert [(r.branch, type(r.verdict)) for r in rows] == [
        ("user", Equivalent),
        ("server", Equivalent),
        ("server/decline", Different),
    ]
    assert_replays(SHIPPED, spec, rows)
    backwards = diff_specs(spec, SHIPPED, ops=["add"])
    assert [r.verdict == Equivalent() for r in backwards] == [True, True, False]


def test_the_ops_filter_keeps_only_the_named_operations() -> None:
    rows = diff_specs(SHIPPED, SHIPPED, ops=["set_locked", "get"])
    assert [r.op for r in rows] == ["get"] * 3 + ["set_locked"] * 3
    with pytest.raises(ValueError, match="'nope'"):
        diff_specs(SHIPPED, SHIPPED, ops=["nope"])


def test_a_solver_that_gives_up_is_undecided_never_equivalent() -> None:
    # A spec compared with itself needs no solver (the same steps, the same checks); a
    # refactoring of in_use's result does.
    refactored = edited(*REFACTORINGS["a condition the invariants make redundant"])
    rows = diff_specs(SHIPPED, refactored, budget=Budget(rlimit=1), ops=["in_use"])
    verdicts = [type(r.verdict) for r in rows]
    assert Undecided in verdicts and Different not in verdicts


def test_a_difference_the_engines_do_not_replay_is_a_replay_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A broken comparison (every pair of steps "differs") must not turn into a result.
    monkeypatch.setattr(diff_module, "differ", lambda z, *_: z.true)
    with pytest.raises(ReplayError, match="alike"):
        diff_specs(SHIPPED, edited(*REFACTORINGS["negation as a comparison"]), ops=["delete"])


def test_only_the_wrapper_module_imports_z3() -> None:
    import inspect

    assert "import z3" not in inspect.getsource(diff_module)


# -- the command line -------------------------------------------------------------------------

CCS = str(ROOT / "specs" / "ccs.toml")
MUTANT = str(MUTANTS / "in-use-prefers-default.toml")


def test_cli_a_spec_against_itself_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", CCS, CCS]) == 0
    out = capsys.readouterr().out
    rows = sum(len(branches(op)) for op in SHIPPED.ops.values()) + 1  # and the states
    assert f"{rows} equivalent, 0 different, 0 unknown in" in out
    assert "DIFFERENT" not in out


def test_cli_a_mutant_exits_1_with_witnesses_as_json_objects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diff", CCS, MUTANT, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["exit"] == 1 and report["a"] == CCS and report["b"] == MUTANT
    bad = [row for row in report["ops"] if row["verdict"] == "DIFFERENT"]
    assert {row["op"] for row in bad} == {"in_use"}
    witness = bad[0]["witness"]
    assert isinstance(witness["before"], dict) and isinstance(witness["request"], dict)
    # The mutant's engine refuses its own step (its result breaks default_when_none_active):
    # a device built from it answers 500 and no result.
    assert witness["differs"] == ["status", "result"]
    assert (witness["a"]["status"], witness["b"]["status"], witness["b"]["result"]) == (
        200,
        500,
        None,
    )
    request = mostate.Request.from_json(witness["request"])
    before = mostate.DeviceState.from_json(witness["before"])
    assert mostate.Engine(SHIPPED).apply(before, request).to_json() == witness["a"]


def test_cli_text_shows_each_witness(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", CCS, MUTANT, "--op", "in_use", "--op", "get"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT in_use as user: status and result differ" in out
    assert "before:" in out and "request:" in out and "under A:" in out and "under B:" in out
    assert "4 equivalent, 2 different, 0 unknown in" in out


def test_cli_unknown_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = REFACTORINGS["a condition the invariants make redundant"]
    other = tmp_path / "refactored.toml"
    other.write_text(TEXT.replace(old, new, 1), encoding="utf-8")
    argv = ["diff", CCS, str(other), "--rlimit", "1", "--op", "in_use", "--format", "json"]
    assert main(argv) == 3
    verdicts = [row["verdict"] for row in json.loads(capsys.readouterr().out)["ops"]]
    assert "UNKNOWN" in verdicts and "DIFFERENT" not in verdicts


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", CCS],
        ["diff", CCS, str(ROOT / "no-such-spec.toml")],
        ["diff", CCS, CCS, "--op", "nope"],
        ["diff", CCS, CCS, "--timeout", "0"],
    ],
)
def test_cli_usage_and_spec_errors_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse exits on its own usage errors
        code = int(exit_.code or 0)
    assert code == 2
    assert "mostate" in capsys.readouterr().err
