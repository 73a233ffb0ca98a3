"""The engine against an independent, hand-written model of the decision table, on random traces."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, load_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from handwritten import decide  # benchmarks/ is a folder of scripts, not a package

ENGINE = Engine(load_spec())
OPS = tuple(ENGINE.spec.ops)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    op = draw(st.sampled_from(OPS))
    obj: dict[str, Any] = {
        "actor": draw(st.sampled_from(("user", "server"))),
        "op": op,
        "service": draw(st.sampled_from(("MMS", "WAP"))),
    }
    if op not in ("get_active", "in_use"):
        obj["instance"] = draw(st.sampled_from("abc"))
    if op.startswith("set_"):
        obj["value"] = draw(st.booleans())
    if op == "replace":
        obj["param"] = draw(st.sampled_from(("p", "q")))
        obj["value"] = draw(st.sampled_from(("x", "y")))
    if op == "add" and draw(st.booleans()):
        obj["params"] = {"p": "x"}
    if obj["actor"] == "server":
        confirm = draw(st.sampled_from((None, "accept", "decline")))
        if confirm:
            obj["confirm"] = confirm
    return Request.from_json(obj)


@given(st.lists(requests(), max_size=40))
def test_engine_agrees_with_the_hand_written_table(trace: list[Request]) -> None:
    state = DeviceState()
    for request in trace:
        status, expected, result = decide(state, request)
        outcome = ENGINE.apply(state, request)
        assert outcome.status == status, (request, outcome.reason)
        assert outcome.state == expected, request
        assert outcome.result == result, request
        state = outcome.state
