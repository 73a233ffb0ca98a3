"""Fuzzing every input mostate reads from a user: spec text, trace lines, state files. Each input
gets a result or a clean error (``file:line:col: message`` for a spec, exit 2 for a file the CLI
cannot read), never a traceback; a refused input never changes a state file.

The mutations are those that turned up crashes before (issue 14): spans cut, doubled or moved,
markup and operator characters sprinkled, numbers made long or non-ASCII, nesting made deep.
SyncML packets have their own fuzzing in tests/omadm (test_robustness.py, test_wbxml.py).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mostate import SpecError
from mostate.cli import main
from mostate.spec import parse_spec
from tests.conftest import CCS, ROOT

pytestmark = pytest.mark.slow

SPEC_TEXT = CCS.read_text()
SCENARIO = (ROOT / "specs" / "scenarios" / "normal-flow.jsonl").read_text()
JUNK = [
    "(", ")", "[", "]", "{", "}", '"', "'", "\\", "->", "and", "or", "not", "==", "!=", "=",
    ",", "\n", "#", "count(", "forall i:", "١٢", "9" * 30, "-", ".", "\x00", "\ufeff", "é",
]  # fmt: skip
LOCATED = re.compile(r"^<fuzz>:\d+:\d+: \S")


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to four edits: a span cut, doubled or moved, or junk put in."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        span = draw(st.integers(1, 80))
        match draw(st.sampled_from(["cut", "double", "move", "junk", "deep"])):
            case "cut":
                text = text[:at] + text[at + span :]
            case "double":
                text = text[:at] + text[at : at + span] * 2 + text[at + span :]
            case "move":
                piece, rest = text[at : at + span], text[:at] + text[at + span :]
                to = draw(st.integers(0, len(rest)))
                text = rest[:to] + piece + rest[to:]
            case "junk":
                text = text[:at] + draw(st.sampled_from(JUNK)) + text[at:]
            case _:
                depth = draw(st.integers(20, 3000))
                text = text[:at] + "(" * depth + "x" + ")" * depth + text[at:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SPEC_TEXT))
def test_a_mutated_spec_loads_or_says_where_it_is_wrong(text: str) -> None:
    try:
        parse_spec(text, "<fuzz>")
    except SpecError as err:
        assert LOCATED.match(str(err)), str(err)


@settings(max_examples=80, deadline=None)
@given(mutated(SCENARIO), st.booleans())
def test_a_mutated_trace_runs_or_is_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, text: str, check: bool
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "trace.jsonl"
    path.write_text(text, errors="surrogatepass")
    code = main(["check" if check else "run", str(path)])
    assert code in (0, 1, 2)


STATE = {"MMS": {"a": {"active": True, "params": {"MMSC": "x"}}, "b": {"default": True}}}


@settings(max_examples=150, deadline=None)
@given(mutated(json.dumps(STATE, indent=1)))
def test_a_mutated_state_file_is_used_or_refused_and_never_changed(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    state, trace = folder / "state.json", folder / "t.jsonl"
    state.write_text(text, errors="surrogatepass")
    trace.write_text(
        json.dumps({"actor": "server", "op": "add", "service": "MMS", "instance": "z"}) + "\n"
    )
    before = state.read_bytes()
    code = main(["run", str(trace), "--state", str(state)])
    assert code in (0, 2)
    assert state.read_bytes() == before  # run never writes the state file
