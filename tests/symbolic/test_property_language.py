"""Transition properties that read the request's arguments and ``declined``: the engine and Z3
give them one meaning, ``mostate verify`` proves them on the shipped spec, and one-line mistakes
that every shipped property lets through are caught, with counterexamples the engine replays.

The properties live here, appended to the shipped spec's text: which ones the shipped spec gets
is the spec's own business.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from mostate import DeviceState, Engine, Request, Spec, parse_spec
from mostate.cli import main
from mostate.errors import SpecError
from mostate.rules import Arg, Builtin, BuiltinName, Type, walk
from mostate.symbolic import Proved, Verifier, Violated

ROOT = Path(__file__).resolve().parents[2]
CCS_TEXT = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")

PROPERTIES = """
[properties.set_active_obeys_value]
ops = ["set_active"]
expr = "status == 200 -> active'(target) == value"

[properties.set_locked_obeys_value]
ops = ["set_locked"]
expr = "status == 200 -> locked'(target) == value"

[properties.replace_sets_the_value]
ops = ["replace"]
expr = "status == 200 -> params'(target) == with(params(target), param, value)"

[properties.add_keeps_the_params]
ops = ["add"]
expr = "status == 200 -> params'(target) == params"

[properties.declined_answers_215_and_changes_nothing]
expr = "declined -> status == 215 and all(i in device, unchanged(i))"

[properties.only_a_server_is_asked]
expr = "declined -> actor == server"

[properties.asked_only_about_an_existing_instance]
ops = ["delete", "replace", "delete_param", "set_active", "set_default", "set_locked"]
expr = "declined -> exists(target)"
"""
NAMES = [
    "set_active_obeys_value",
    "set_locked_obeys_value",
    "replace_sets_the_value",
    "add_keeps_the_params",
    "declined_answers_215_and_changes_nothing",
    "only_a_server_is_asked",
    "asked_only_about_an_existing_instance",
]


def with_properties(text: str, name: str = "ccs-with-arguments.toml") -> Spec:
    return parse_spec(text + PROPERTIES, name)


def mutate(old: str, new: str) -> str:
    assert CCS_TEXT.count(old) == 1, old
    return CCS_TEXT.replace(old, new)


# Each mistake is one line of the shipped spec; the shipped properties let the first two through.
SET_ACTIVE_IGNORES_VALUE = mutate(
    'effect.active = "if i == target then value else',
    'effect.active = "if i == target then true else',
)
SET_LOCKED_IGNORES_VALUE = mutate(
    'effect.locked = "if i == target then value else locked(i)"',
    'effect.locked = "if i == target then true else locked(i)"',
)
# The confirmation moved before the 404 check: a user is asked about an instance that is not
# there (the answer is 215 either way, so only `declined` tells the two orders apart).
CONFIRMS_BEFORE_404 = mutate(
    '[[ops.set_default.steps]]\nname = "missing"\nrefuse = 404\nwhen = "not exists(target)"\n',
    "[[ops.set_default.steps]]\nconfirm = true\n\n"
    '[[ops.set_default.steps]]\nname = "missing"\nrefuse = 404\nwhen = "not exists(target)"\n',
).replace(
    '[[ops.set_default.steps]]\nconfirm = true\n\n[[ops.set_default.steps]]\nname = "switch"',
    '[[ops.set_default.steps]]\nname = "switch"',
)


def verdicts(spec: Spec, depth: int = 0) -> dict[tuple[str, str, str], object]:
    return {(c.name, c.op, c.branch): c.verdict for c in Verifier(spec, depth=depth).checks()}


# -- parsing -------------------------------------------------------------------------------------


def test_arguments_and_declined_parse_with_their_types() -> None:
    spec = with_properties(CCS_TEXT)
    props = {p.name: p for p in spec.properties}
    args = {
        name: {(n.name, n.type) for n in walk(props[name].expr) if isinstance(n, Arg)}
        for name in NAMES
    }
    assert args["set_active_obeys_value"] == {("value", Type.BOOL)}
    assert args["replace_sets_the_value"] == {("param", Type.STR), ("value", Type.STR)}
    assert args["add_keeps_the_params"] == {("params", Type.PARAMS)}
    declined = [
        n
        for n in walk(props["only_a_server_is_asked"].expr)
        if isinstance(n, Builtin) and n.name is BuiltinName.DECLINED
    ]
    assert [d.type for d in declined] == [Type.BOOL]


# -- the engine ----------------------------------------------------------------------------------


def _request(**obj: object) -> Request:
    return Request.from_json({"service": "MMS", "instance": "a", **obj})


def test_the_engine_reads_declined_only_when_the_confirmation_point_was_reached() -> None:
    extra = '\n[properties.never_declined]\nexpr = "not declined"\n'
    engine = Engine(parse_spec(CCS_TEXT + extra, "t.toml"))
    state = DeviceState.from_json({"MMS": {"a": {}}})
    asked = _request(actor="server", op="set_active", value=True, confirm="decline")
    missing = _request(actor="server", op="set_active", instance="b", value=True, confirm="decline")
    accepted = _request(actor="server", op="set_active", value=True, confirm="accept")
    broken = {
        name: [c.name for c in engine.evaluate(state, r).violations]
        for name, r in [("asked", asked), ("missing", missing), ("accepted", accepted)]
    }
    assert broken == {"asked": ["never_declined"], "missing": [], "accepted": []}
    assert int(engine.evaluate(state, missing).outcome.status) == 404


def test_the_engine_reads_the_request_arguments() -> None:
    extra = '\n[properties.only_true]\nops = ["set_active"]\nexpr = "value"\n'
    engine = Engine(parse_spec(CCS_TEXT + extra, "t.toml"))
    state = DeviceState.from_json({"MMS": {"a": {}}})
    for value in (True, False):
        step = engine.evaluate(state, _request(actor="server", op="set_active", value=value))
        assert [c.name for c in step.violations] == ([] if value else ["only_true"])


def test_an_omitted_optional_argument_reads_as_the_empty_map() -> None:
    extra = '\n[properties.no_params]\nops = ["add"]\nexpr = "params == {}"\n'
    engine = Engine(parse_spec(CCS_TEXT + extra, "t.toml"))
    bare = engine.evaluate(DeviceState(), _request(actor="server", op="add"))
    given = engine.evaluate(DeviceState(), _request(actor="server", op="add", params={"p": "x"}))
    assert [c.name for c in bare.violations] == []
    assert [c.name for c in given.violations] == ["no_params"]


# -- the proofs ----------------------------------------------------------------------------------


def test_the_shipped_spec_proves_every_new_property_for_every_branch() -> None:
    found = verdicts(with_properties(CCS_TEXT))
    assert all(isinstance(v, Proved) for v in found.values()), [
        k for k, v in found.items() if not isinstance(v, Proved)
    ]
    names = {name for name, _, _ in found}
    assert set(NAMES) <= names
    # declined is asked of the declining branch of every operation that confirms
    assert ("only_a_server_is_asked", "set_active", "server/decline") in found


@pytest.mark.parametrize(
    ("text", "op", "caught"),
    [
        (SET_ACTIVE_IGNORES_VALUE, "set_active", "set_active_obeys_value"),
        (SET_LOCKED_IGNORES_VALUE, "set_locked", "set_locked_obeys_value"),
        (CONFIRMS_BEFORE_404, "set_default", "asked_only_about_an_existing_instance"),
    ],
    ids=["set_active-ignores-value", "set_locked-ignores-value", "confirms-before-404"],
)
@pytest.mark.slow  # about 16 s here (2 cores)
def test_a_one_line_mistake_is_violated_with_a_replayed_counterexample(
    text: str, op: str, caught: str
) -> None:
    spec = with_properties(text, "mutant.toml")
    found = verdicts(spec, depth=3)
    violated = {k: v for k, v in found.items() if isinstance(v, Violated)}
    assert {name for name, _, _ in violated} >= {caught}
    engine = Engine(spec)
    for (name, where, _), verdict in violated.items():
        assert isinstance(verdict, Violated) and where == op
        replayed = verdict.trace.confirm(engine)  # raises ReplayError if the engine disagrees
        assert name in {c.name for c in replayed.violations}
    # and the new property's violation is reachable from the empty device
    reach = next(v.reachable for (name, _, _), v in violated.items() if name == caught)
    assert reach is not None and reach.start == DeviceState()
    assert caught in {c.name for c in reach.confirm(engine).violations}


# The properties ccs.toml shipped before a property could read the request's arguments (it has
# since gained properties that read them, which catch both mistakes).
FIRST_SHIPPED = {
    "user_respects_lock",
    "user_never_locks",
    "refusal_changes_nothing",
    "queries_change_nothing",
    "own_service_only",
    "get_active_is_active",
    "default_when_none_active",
}


@pytest.mark.slow  # about 1 s here (2 cores)
def test_the_first_shipped_properties_alone_miss_two_of_the_mistakes() -> None:
    # Why the richer language: without the new properties these mutants prove clean.
    for text in (SET_LOCKED_IGNORES_VALUE, CONFIRMS_BEFORE_404):
        spec = parse_spec(text, "mutant.toml")
        first = tuple(p for p in spec.properties if p.name in FIRST_SHIPPED)
        assert len(first) == len(FIRST_SHIPPED)
        found = verdicts(attrs.evolve(spec, properties=first))
        assert all(isinstance(v, Proved) for v in found.values())


@pytest.mark.slow  # about 7 s here (2 cores)
def test_mostate_verify_on_a_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(CCS_TEXT + PROPERTIES, encoding="utf-8")
    bad.write_text(SET_ACTIVE_IGNORES_VALUE + PROPERTIES, encoding="utf-8")
    assert main(["verify", str(good), "--format", "json"]) == 0
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert {c["property"] for c in checks} >= set(NAMES)
    assert main(["verify", str(bad), "--format", "json", "--depth", "2"]) == 1
    report = json.loads(capsys.readouterr().out)
    bad_rows = [c for c in report["checks"] if c["verdict"] == "VIOLATED"]
    assert "set_active_obeys_value" in {c["property"] for c in bad_rows}


# -- `declines`: the user's "no", asked for or not ------------------------------------------------

# set_locked forgets its confirmation point: a declined request is carried out with 200.
SET_LOCKED_FORGETS_TO_ASK = mutate(
    "[[ops.set_locked.steps]]\nconfirm = true\n\n",
    "",
)


def test_declines_parses_as_a_bool_and_is_reserved() -> None:
    extra = '\n[properties.no_is_no]\nexpr = "declines -> status != 200"\n'
    spec = parse_spec(CCS_TEXT + extra, "t.toml")
    prop = next(p for p in spec.properties if p.name == "no_is_no")
    found = {(n.name, n.type) for n in walk(prop.expr) if isinstance(n, Builtin)}
    assert found == {(BuiltinName.DECLINES, Type.BOOL), (BuiltinName.STATUS, Type.INT)}
    with pytest.raises(SpecError, match="declines"):
        parse_spec(
            mutate('args = { params = "params?" }', 'args = { declines = "bool" }'), "t.toml"
        )


def test_the_engine_reads_declines_whether_or_not_the_operation_asked() -> None:
    extra = '\n[properties.never_declines]\nexpr = "not declines"\n'
    state = DeviceState.from_json({"MMS": {"a": {}}})
    missing = _request(actor="server", op="set_locked", instance="b", value=True, confirm="decline")
    unasked = _request(actor="server", op="set_locked", value=True, confirm="decline")
    accepted = _request(actor="server", op="set_locked", value=True, confirm="accept")
    for text in (CCS_TEXT, SET_LOCKED_FORGETS_TO_ASK):
        engine = Engine(parse_spec(text + extra, "t.toml"))
        broken = {
            name: [
                c.name for c in engine.evaluate(state, r).violations if c.name == "never_declines"
            ]
            for name, r in [("missing", missing), ("unasked", unasked), ("accepted", accepted)]
        }
        assert broken == {
            "missing": ["never_declines"],
            "unasked": ["never_declines"],
            "accepted": [],
        }
    forgot = Engine(parse_spec(SET_LOCKED_FORGETS_TO_ASK, "t.toml")).evaluate(state, unasked)
    assert int(forgot.outcome.status) == 200


@pytest.mark.slow  # about 2 s here (2 cores)
def test_every_checker_sees_an_operation_that_forgot_to_ask() -> None:
    # The decline branch is checked even for an operation with no confirmation point.
    spec = parse_spec(SET_LOCKED_FORGETS_TO_ASK, "mutant.toml")
    found = verdicts(spec, depth=2)
    violated = {k for k, v in found.items() if isinstance(v, Violated)}
    assert violated == {("every_request_asks_first", "set_locked", "server/decline")}
    verdict = found[("every_request_asks_first", "set_locked", "server/decline")]
    assert isinstance(verdict, Violated) and verdict.reachable is not None
    step = verdict.trace.confirm(Engine(spec))
    assert int(step.outcome.status) == 200 and step.request.confirm is not None
    assert all(isinstance(v, Proved) for v in verdicts(parse_spec(CCS_TEXT, "ccs.toml")).values())
