"""JSON forms of states and requests: round trips, and clear errors for malformed documents."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mostate import DeviceState, Request, RequestError

names = st.text(
    st.characters(blacklist_characters="/?\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=6,
)
instances = st.fixed_dictionaries(
    {},
    optional={
        "active": st.booleans(),
        "default": st.booleans(),
        "locked": st.booleans(),
        "params": st.dictionaries(names, st.text(max_size=5), max_size=3),
    },
)
states = st.dictionaries(
    names, st.dictionaries(names, instances, min_size=1, max_size=3), max_size=3
)


@given(states)
def test_state_round_trip(doc: dict[str, Any]) -> None:
    state = DeviceState.from_json(doc)
    assert DeviceState.from_json(state.to_json()) == state
    assert hash(DeviceState.from_json(state.to_json())) == hash(state)


@st.composite
def request_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"actor": draw(st.sampled_from(["user", "server"])), "op": draw(names)}
    for key in ("service", "instance", "param"):
        if draw(st.booleans()):
            doc[key] = draw(names)
    if draw(st.booleans()):
        doc["value"] = draw(st.one_of(st.booleans(), st.text(max_size=4)))
    if draw(st.booleans()):
        doc["params"] = draw(st.dictionaries(names, st.text(max_size=4), max_size=2))
    if doc["actor"] == "server" and draw(st.booleans()):
        doc["server_id"] = draw(names)
    if doc["actor"] == "server" and draw(st.booleans()):  # the user's answer to a server
        doc["confirm"] = draw(st.sampled_from(["accept", "decline"]))
    return doc


@given(request_docs())
def test_request_round_trip(doc: dict[str, Any]) -> None:
    request = Request.from_json(doc)
    assert request.to_json() == doc
    assert Request.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "request must be a JSON object"),
        ({"op": "add"}, "'actor'"),
        ({"actor": "robot", "op": "add"}, "'actor'"),
        ({"actor": "user"}, "'op'"),
        ({"actor": "user", "op": "add", "service": ""}, "non-empty"),
        ({"actor": "user", "op": "add", "service": "M/S"}, "must not contain"),
        ({"actor": "user", "op": "add", "value": 3}, "'value' must be"),
        ({"actor": "user", "op": "add", "params": {"k": 1}}, "must be a string"),
        ({"actor": "server", "op": "add", "server_id": 5}, "server_id"),
        ({"actor": "server", "op": "add", "confirm": "yes"}, "confirm"),
    ],
)
def test_malformed_requests_say_what_is_wrong(doc: object, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        Request.from_json(doc)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "state must be a JSON object"),
        ({"MMS": []}, "service 'MMS'"),
        ({"MMS": {"a": {"active": "yes"}}}, "'active' must be true or false"),
        ({"MMS": {"a": {"colour": "red"}}}, "unknown field 'colour'"),
        ({"MMS": {"a/b": {}}}, "must not contain"),
    ],
)
def test_malformed_states_say_what_is_wrong(doc: object, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        DeviceState.from_json(doc)


def test_a_service_without_instances_does_not_exist() -> None:
    assert DeviceState.from_json({"MMS": {}}) == DeviceState()


def test_a_trace_line_past_the_limit_is_a_400_not_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from mostate import trace

    monkeypatch.setattr(trace, "MAX_LINE", 100)
    line = '{"actor": "user", "op": "get_active", "service": "MMS", "note": "' + "x" * 100 + '"}'
    _, lines = trace.read_lines([line, '{"actor": "user", "op": "get_active", "service": "MMS"}'])
    assert lines[0].request is None and "longer than 100 characters" in (lines[0].error or "")
    assert lines[1].request is not None  # the run goes on
