"""Numbers on the wire and in specs are ASCII digits of a sane length: anything else is a clean
error (400, or file:line:col), never a traceback."""

from __future__ import annotations

import pytest

from mostate import DeviceState, parse_spec
from mostate.errors import SpecError
from mostate.omadm import Alert, Item
from tests.conftest import CCS

STATE = DeviceState.from_json({"MMS": {"a": {}}})


@pytest.mark.parametrize(
    "code",
    ["\u00b9\u00b9\u2070\u00b9", "\u0661\u0661\u0660\u0661", "1" * 5000],
    ids=["superscript", "arabic-indic", "5000-digits"],
)
def test_an_alert_code_that_is_no_ascii_number_is_answered_400(run, code: str) -> None:  # type: ignore[no-untyped-def]
    after, codes, _ = run(STATE, Alert("2", code, (Item(data="MAXDT=30"), Item(data="?"))))
    assert codes == [("Alert", 400)] and after == STATE


@pytest.mark.parametrize(
    ("literal", "message"),
    [("1" * 4301, "more than 9 digits"), ("1" * 10, "more than 9 digits"), ("\u0661", "")],
    ids=["4301-digits", "10-digits", "arabic-digit"],
)
def test_an_integer_literal_is_ascii_and_short_or_a_located_error(
    literal: str, message: str
) -> None:
    text = CCS.read_text(encoding="utf-8").replace(
        'expr = "count(i, active(i)) <= 1"', f'expr = "count(i, active(i)) <= {literal}"'
    )
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "ccs.toml")
    assert str(raised.value).startswith("ccs.toml:") and message in str(raised.value)
