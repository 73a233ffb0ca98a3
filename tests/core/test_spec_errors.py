"""Malformed spec files: every kind of mistake is reported as file:line:col: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from mostate import SpecError, load_spec, parse_spec
from mostate.cli import main
from mostate.rules import Arg, Type

GOOD_OP = """
[ops.add]
args = { params = "params?" }

[[ops.add.steps]]
refuse = 418
when = "exists(target)"

[[ops.add.steps]]
effect.exists = "exists(i) or i == target"
"""

SET_OP = """
[ops.set]
args = { value = "bool" }

[[ops.set.steps]]
effect.active = "if i == target then value else active(i)"
"""

RENAME_OP = """
[ops.rename]
args = { value = "str" }

[[ops.rename.steps]]
effect.params = "if i == target then with(params(i), value, value) else params(i)"
"""


def error_of(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "bad.toml")
    return info.value


CASES = [
    ("toml syntax", "[ops.add\nx = 1\n", 1, "TOML syntax"),
    (
        "unknown section",
        GOOD_OP + "\n[invariant.x]\nexpr = 'true'\n",
        12,
        "unknown key 'invariant'",
    ),
    ("typo in an op", "[ops.add]\nstpes = []\n", 2, "unknown key 'stpes'"),
    ("no steps kind", "[ops.add]\n[[ops.add.steps]]\nname = 'x'\n", 2, "exactly one of"),
    (
        "two kinds",
        "[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nconfirm = true\nwhen = 'true'\n",
        2,
        "exactly one of",
    ),
    (
        "bad status",
        "[ops.add]\n[[ops.add.steps]]\nrefuse = 999\nwhen = 'true'\n",
        3,
        "not a status code",
    ),
    (
        "200 refusal",
        "[ops.add]\n[[ops.add.steps]]\nrefuse = 200\nwhen = 'true'\n",
        3,
        "cannot answer 200",
    ),
    (
        "unknown function",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "not exist(target)"\n',
        4,
        "unknown function 'exist'",
    ),
    (
        "unknown name",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "valu"\n',
        4,
        "unknown name 'valu'",
    ),
    (
        "type error",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "exists(target) and 3"\n',
        4,
        "needs bool operands",
    ),
    (
        "compare types",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "target == true"\n',
        4,
        "cannot compare",
    ),
    (
        "primed outside a property",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "active\'(target)"\n',
        4,
        "not in scope",
    ),
    (
        "unknown actor",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nactors = ["admin"]\nwhen = "true"\n',
        4,
        "unknown actor 'admin'",
    ),
    ("bad arg type", '[ops.add]\nargs = { value = "int" }\n', 2, "type must be"),
    ("reserved arg", '[ops.add]\nargs = { service = "str" }\n', 2, "reserved"),
    (
        "unknown op in property",
        GOOD_OP + '\n[properties.p]\nops = ["remove"]\nexpr = "true"\n',
        13,
        "unknown operation 'remove'",
    ),
    (
        "bad domain",
        GOOD_OP + '\n[invariants.i]\nexpr = "all(i in world, true)"\n',
        13,
        "unknown domain 'world'",
    ),
    (
        "effect with when",
        '[ops.add]\n[[ops.add.steps]]\neffect.active = "true"\nwhen = "true"\n',
        2,
        "no 'when'",
    ),
    (
        "unknown effect field",
        '[ops.add]\n[[ops.add.steps]]\neffect.colour = "true"\n',
        3,
        "unknown key 'colour'",
    ),
    ("result type", '[ops.q]\nresult = "true"\n', 2, "result must be an instance"),
    (
        "status outside a property",
        GOOD_OP + '\n[invariants.i]\nexpr = "status == 200"\n',
        13,
        "only in scope in transition properties",
    ),
    (
        "hiding variable",
        GOOD_OP + '\n[invariants.i]\nexpr = "all(i, any(i, active(i)))"\n',
        13,
        "hides a name",
    ),
    (
        "declined outside a property",
        GOOD_OP + '\n[invariants.i]\nexpr = "declined"\n',
        13,
        "'declined' is only in scope in transition properties",
    ),
    (
        "declined in a refusal",
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "declined"\n',
        4,
        "unknown name 'declined'",
    ),
    (
        "argument not declared by every operation",
        GOOD_OP + SET_OP + '\n[properties.p]\nexpr = "value"\n',
        19,
        "unknown name 'value' (declared by set but not by add, which this property speaks of)",
    ),
    (
        "argument declared with two types",
        GOOD_OP
        + SET_OP
        + RENAME_OP
        + '\n[properties.p]\nops = ["set", "rename"]\nexpr = "value"\n',
        26,
        "different types: bool in set; str in rename",
    ),
    ("builtin as an argument", '[ops.add]\nargs = { declined = "bool" }\n', 2, "reserved"),
    ("no ops", '[spec]\nname = "x"\n', 1, "at least one operation"),
    (
        "trailing tokens",
        GOOD_OP + '\n[invariants.i]\nexpr = "true true"\n',
        13,
        "after the expression",
    ),
]


@pytest.mark.parametrize(("what", "text", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_error_names_file_line_and_message(what: str, text: str, line: int, message: str) -> None:
    err = error_of(text)
    assert str(err).startswith(f"bad.toml:{line}:"), str(err)
    assert message in str(err)


def test_column_points_at_the_offending_token() -> None:
    err = error_of(
        '[ops.add]\n[[ops.add.steps]]\nrefuse = 404\nwhen = "exists(target) or activ(target)"\n'
    )
    # `when = "` is 8 characters; the bad call starts 18 characters into the string.
    assert (err.location.line, err.location.column) == (4, 9 + 18)


def test_an_argument_out_of_scope_is_located_at_its_token() -> None:
    err = error_of(GOOD_OP + SET_OP + '\n[properties.p]\nexpr = "status == 200 -> value"\n')
    # `expr = "` is 8 characters; `value` starts 17 characters into the string.
    assert (err.location.line, err.location.column) == (19, 9 + 17)
    assert "not by add" in str(err)


def test_an_argument_every_operation_declares_alike_is_in_scope() -> None:
    spec = parse_spec(GOOD_OP + SET_OP + '\n[properties.p]\nops = ["set"]\nexpr = "value"\n')
    assert spec.properties[0].expr == Arg("value", Type.BOOL)
    both = '\n[properties.q]\nexpr = "declined -> params(target) == params(target)"\n'
    assert parse_spec(GOOD_OP + SET_OP + both).properties[0].name == "q"


def test_error_inside_a_multi_line_string_gets_its_own_line() -> None:
    text = GOOD_OP + '\n[invariants.i]\nexpr = """\ntrue and\n  bogus\n"""\n'
    err = error_of(text)
    assert (err.location.line, err.location.column) == (15, 3)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "nope.toml")


def test_every_shipped_spec_and_mutant_loads() -> None:
    root = Path(__file__).resolve().parents[2] / "specs"
    files = [root / "ccs.toml", *sorted((root / "mutants").glob("*.toml"))]
    loaded = [load_spec(f) for f in files if f.name != "manifest.toml"]
    assert len(loaded) >= 11
    assert len({s.name for s in loaded}) == len(loaded)


# -- hostile specs: a located error and exit 2, never a RecursionError ---------------------------

_SHIPPED = (Path(__file__).resolve().parents[2] / "specs" / "ccs.toml").read_text(encoding="utf-8")
_ONE_ACTIVE = 'expr = "count(i, active(i)) <= 1"'


def _with_invariant(expr: str) -> str:
    return _SHIPPED.replace(_ONE_ACTIVE, f'expr = "{expr}"')


HOSTILE = {
    "110-parentheses": (_with_invariant("(" * 110 + "true" + ")" * 110), "nested more than"),
    "500-or": (_with_invariant(" or ".join(["true"] * 500)), "nested more than"),
    "2000-implies": (_with_invariant(" -> ".join(["true"] * 2000)), "nested more than"),
    "5000-not": (_with_invariant("not " * 5000 + "true"), "nested more than"),
    "deep-toml": (_SHIPPED + "\n[x]\ny = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deep"),
    "ops-of-lists": (
        _SHIPPED.replace('ops = ["get", "get_active", "in_use"]', 'ops = [["get_active"]]'),
        "lists operation names",
    ),
    "float-status": (_SHIPPED.replace("refuse = 418", "refuse = 418.0"), "not a status code"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_spec_is_a_located_error(name: str) -> None:
    text, message = HOSTILE[name]
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "ccs.toml")
    assert str(raised.value).startswith("ccs.toml") and message in str(raised.value)


@pytest.mark.parametrize("name", ["110-parentheses", "deep-toml"])
def test_verify_of_a_hostile_spec_exits_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "ccs.toml"
    spec.write_text(HOSTILE[name][0], encoding="utf-8")
    assert main(["verify", str(spec)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_deep_plan_goal_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    goal = "(" * 200 + "active(target)" + ")" * 200
    assert main(["plan", "--goal", goal, "--target", "a"]) == 2
    assert "nested more than" in capsys.readouterr().err
