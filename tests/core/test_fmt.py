"""``mostate fmt``: one layout, comments kept, idempotent, meaning unchanged, every shipped spec
already in it."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import parse_spec
from mostate.cli import main
from mostate.fmt import FormatError, format_text
from mostate.printer import show
from mostate.rules import Expr, Type
from mostate.testing.expressions import expressions

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "specs").rglob("*.toml"))

MESSY = """\
# A spec written by hand.


[spec]
name   =   'messy'   # the name

[ ops.add ]

args={params="params?"}
[[ ops.add.steps ]]
refuse=418
  when  =  "exists( target )"
[[ops.add.steps]]
effect . exists = '''exists(i)   or   i == target'''

# Invariants.
[invariants.few]
expr = \"\"\"
count(i,
      active(i)) <= (1)\"\"\"
[properties.long]
expr = "LONG"
""".replace(
    "LONG",
    "status == 200 -> exists'(target) and params'(target) == params and not active'(target)"
    " and not locked'(target)",
)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_spec_is_formatted(path: Path) -> None:
    assert not format_text(path.read_text(encoding="utf-8"), str(path)).changed


def test_a_messy_spec_gets_the_layout_keeping_its_comments_and_meaning() -> None:
    after = format_text(MESSY, "messy.toml").after
    assert after.startswith('# A spec written by hand.\n\n[spec]\nname = "messy"  # the name\n')
    assert '[ops.add]\nargs = { params = "params?" }\n\n[[ops.add.steps]]\n' in after
    assert (
        'when = "exists(target)"' in after and 'effect.exists = "exists(i) or i == target"' in after
    )
    assert '\n\n# Invariants.\n[invariants.few]\nexpr = "count(i, active(i)) <= 1"\n' in after
    assert 'expr = """\nstatus == 200 ->\n  exists\'(target)' in after
    assert max(len(line) for line in after.splitlines()) <= 100
    comments = [line.strip() for line in MESSY.splitlines() if "#" in line]
    assert [c.split("#", 1)[1] for c in comments] == [
        line.split("#", 1)[1] for line in after.splitlines() if "#" in line
    ]
    assert parse_spec(after, "messy.toml") == parse_spec(MESSY, "messy.toml")
    assert not format_text(after, "messy.toml").changed


def test_a_file_that_is_not_a_spec_gets_the_layout_of_its_data() -> None:
    text = '[a]\nfile="x.toml"\nbreaks = [ "one",  "two" ]\n\n\n\n[b]\nn=3\n'
    assert (
        format_text(text).after == '[a]\nfile = "x.toml"\nbreaks = ["one", "two"]\n\n[b]\nn = 3\n'
    )


def test_a_spec_that_does_not_load_is_a_spec_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unknown function 'activ'"):
        format_text('[ops.a]\n[[ops.a.steps]]\nrefuse = 404\nwhen = "activ(target)"\n')


def test_a_value_the_formatter_cannot_reprint_is_kept_as_written() -> None:
    text = "[a]\nx = 1.50\ny = [\n  1,  # one\n  2,\n]\n"
    assert format_text(text).after == text


def test_a_formatter_that_would_change_the_meaning_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    import mostate.fmt as fmt

    monkeypatch.setattr(fmt, "show", lambda expr: "true")
    with pytest.raises(FormatError, match="change what the spec means"):
        format_text(MESSY, "messy.toml")


PROPERTY = (
    '[ops.a]\nargs = { value = "bool", param = "str", params = "params" }\n[[ops.a.steps]]\n'
    'confirm = true\n[properties.p]\nexpr = """\n{}\n"""\n'
)


def in_toml(text: str) -> str:
    """``text`` inside a TOML multi-line basic string: backslashes, quotes and control
    characters escaped (newlines and tabs may stay)."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif (ord(char) < 0x20 and char not in "\n\t") or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


@settings(max_examples=60)
@given(expressions(Type.BOOL, depth=5), st.sampled_from([" ", "  ", "\n  "]))
def test_any_property_is_formatted_to_the_same_meaning_once_and_for_all(
    expr: Expr, space: str
) -> None:
    # A query's result is in scope only for queries: keep the drawn trees that read none.
    if "result" in show(expr):
        return
    text = PROPERTY.replace("{}", in_toml(show(expr).replace(" ", space)))
    first = format_text(text, "p.toml")  # raises if the meaning changed
    assert not format_text(first.after, "p.toml").changed
    assert parse_spec(first.after, "p.toml") == parse_spec(text, "p.toml")


def test_fmt_check_names_what_would_change_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = tmp_path / "messy.toml"
    messy.write_text(MESSY)
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    assert f"would reformat {messy}" in capsys.readouterr().out
    assert messy.read_text() == MESSY
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text() == format_text(MESSY, str(messy)).after
    assert main(["fmt", "--check", str(messy)]) == 0


def test_fmt_check_passes_on_the_shipped_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", str(ROOT / "specs")]) == 0
    assert "0 files would be reformatted" in capsys.readouterr().out


def test_fmt_reads_stdin_and_writes_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSY.encode())))
    assert main(["fmt", "-"]) == 0
    assert capsys.readouterr().out == format_text(MESSY).after
