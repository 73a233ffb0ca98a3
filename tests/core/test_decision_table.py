"""Every row of the CCS decision table, for both actors, against the shipped spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mostate import DeviceState, Engine, Request, RequestError, Status, load_spec

ENGINE = Engine(load_spec())

# MMS: a is Active and Locked, b is Default, c is plain; WAP: w is Active.
START = DeviceState.from_json(
    {
        "MMS": {
            "a": {"active": True, "locked": True, "params": {"MMSC": "http://a"}},
            "b": {"default": True},
            "c": {},
        },
        "WAP": {"w": {"active": True}},
    }
)


def req(actor: str, op: str, instance: str | None = None, **extra: Any) -> Request:
    obj: dict[str, Any] = {"actor": actor, "op": op, "service": extra.pop("service", "MMS")}
    if instance is not None:
        obj["instance"] = instance
    obj.update(extra)
    return Request.from_json(obj)


def flags(state: DeviceState, service: str = "MMS") -> dict[str, tuple[bool, bool, bool]]:
    return {n: (i.active, i.default, i.locked) for n, i in state.service(service).instances.items()}


BOTH = ("user", "server")

# (actor, op, instance, extra args, expected status)
ROWS: list[tuple[str, str, str | None, dict[str, Any], Status]] = [
    *[(a, "add", "n", {}, Status.OK) for a in BOTH],
    *[(a, "add", "n", {"params": {"MMSC": "x"}}, Status.OK) for a in BOTH],
    *[(a, "add", "c", {}, Status.ALREADY_EXISTS) for a in BOTH],
    *[(a, "add", "a", {}, Status.ALREADY_EXISTS) for a in BOTH],
    *[(a, "delete", "zz", {}, Status.NOT_FOUND) for a in BOTH],
    *[(a, "delete", "c", {}, Status.OK) for a in BOTH],
    ("user", "delete", "a", {}, Status.PERMISSION_DENIED),
    ("server", "delete", "a", {}, Status.OK),
    *[(a, "replace", "zz", {"param": "p", "value": "v"}, Status.NOT_FOUND) for a in BOTH],
    *[(a, "replace", "c", {"param": "p", "value": "v"}, Status.OK) for a in BOTH],
    ("user", "replace", "a", {"param": "MMSC", "value": "v"}, Status.PERMISSION_DENIED),
    ("server", "replace", "a", {"param": "MMSC", "value": "v"}, Status.OK),
    *[
        (a, op, "zz", {"value": True}, Status.NOT_FOUND)
        for a in BOTH
        for op in ("set_active", "set_default", "set_locked")
    ],
    *[(a, "delete_param", "zz", {"param": "MMSC"}, Status.NOT_FOUND) for a in BOTH],
    *[(a, "delete_param", "c", {"param": "MMSC"}, Status.NOT_FOUND) for a in BOTH],
    ("user", "delete_param", "a", {"param": "MMSC"}, Status.PERMISSION_DENIED),
    ("server", "delete_param", "a", {"param": "MMSC"}, Status.OK),
    ("user", "delete_param", "a", {"param": "nope"}, Status.NOT_FOUND),
    *[(a, "delete_param", "a", {"param": "x/y"}, Status.BAD_REQUEST) for a in BOTH],
    # switching Active away from the locked Active instance a
    ("user", "set_active", "c", {"value": True}, Status.PERMISSION_DENIED),
    ("server", "set_active", "c", {"value": True}, Status.OK),
    ("user", "set_active", "a", {"value": False}, Status.PERMISSION_DENIED),
    ("server", "set_active", "a", {"value": False}, Status.OK),
    ("user", "set_active", "a", {"value": True}, Status.PERMISSION_DENIED),
    *[(a, "set_active", "c", {"value": False}, Status.OK) for a in BOTH],
    # Default: b holds it and is not locked
    *[(a, "set_default", "c", {"value": True}, Status.OK) for a in BOTH],
    *[(a, "set_default", "b", {"value": False}, Status.OK) for a in BOTH],
    ("user", "set_default", "a", {"value": True}, Status.PERMISSION_DENIED),
    ("server", "set_default", "a", {"value": True}, Status.OK),
    # Locked: only a server
    *[
        ("user", "set_locked", i, {"value": v}, Status.PERMISSION_DENIED)
        for i in "ac"
        for v in (True, False)
    ],
    *[("server", "set_locked", i, {"value": v}, Status.OK) for i in "ac" for v in (True, False)],
    # queries: both actors, any instance
    *[(a, "get", i, {}, Status.OK) for a in BOTH for i in "abc"],
    *[(a, "get", "zz", {}, Status.NOT_FOUND) for a in BOTH],
    *[(a, q, None, {}, Status.OK) for a in BOTH for q in ("get_active", "in_use")],
    # malformed: 400 before anything else
    *[(a, "set_active", "zz", {"value": "yes"}, Status.BAD_REQUEST) for a in BOTH],
    *[(a, "replace", "a", {"param": "p"}, Status.BAD_REQUEST) for a in BOTH],
    *[
        (a, "replace", "a", {"param": p, "value": "v"}, Status.BAD_REQUEST)
        for a in BOTH
        for p in ("", "x/y", "x?")
    ],
    *[(a, "add", "a", {"params": "x"}, Status.BAD_REQUEST) for a in BOTH],
    *[(a, "frobnicate", "a", {}, Status.BAD_REQUEST) for a in BOTH],
    *[(a, "delete", None, {}, Status.BAD_REQUEST) for a in BOTH],
]


@pytest.mark.parametrize(("actor", "op", "instance", "extra", "status"), ROWS)
def test_status(
    actor: str, op: str, instance: str | None, extra: dict[str, Any], status: Status
) -> None:
    outcome = ENGINE.apply(START, req(actor, op, instance, **extra))
    assert outcome.status is status, outcome.reason
    if status is not Status.OK or op in ("get", "get_active", "in_use"):
        assert outcome.state == START
    else:
        assert outcome.state.service("WAP") == START.service("WAP"), "touched another service"
    assert outcome.clause.location is not None or status is Status.BAD_REQUEST


def test_add_creates_an_instance_with_all_flags_false_and_its_params() -> None:
    out = ENGINE.apply(START, req("server", "add", "n", params={"MMSC": "x"}))
    new = out.state.instance("MMS", "n")
    assert new is not None and (new.active, new.default, new.locked) == (False, False, False)
    assert dict(new.params) == {"MMSC": "x"}
    assert flags(out.state)["a"] == (True, False, True)


def test_add_of_a_first_instance_creates_the_service() -> None:
    out = ENGINE.apply(DeviceState(), req("user", "add", "x", service="IMS"))
    assert list(out.state.services) == ["IMS"]


def test_delete_removes_the_instance_and_its_flags_and_an_empty_service() -> None:
    out = ENGINE.apply(START, req("server", "delete", "a"))
    assert out.state.instance("MMS", "a") is None
    assert all(not f[0] for f in flags(out.state).values())
    out = ENGINE.apply(START, req("user", "delete", "w", service="WAP"))
    assert "WAP" not in out.state.services


def test_replace_sets_one_parameter_and_keeps_the_others() -> None:
    out = ENGINE.apply(START, req("server", "replace", "a", param="proxy", value="p:80"))
    inst = out.state.instance("MMS", "a")
    assert inst is not None and dict(inst.params) == {"MMSC": "http://a", "proxy": "p:80"}
    out = ENGINE.apply(START, req("server", "replace", "a", param="MMSC", value="new"))
    inst = out.state.instance("MMS", "a")
    assert inst is not None and dict(inst.params) == {"MMSC": "new"}


def test_delete_param_removes_one_parameter() -> None:
    state = ENGINE.apply(START, req("server", "replace", "a", param="proxy", value="p")).state
    out = ENGINE.apply(state, req("server", "delete_param", "a", param="MMSC"))
    inst = out.state.instance("MMS", "a")
    assert inst is not None and dict(inst.params) == {"proxy": "p"} and inst.locked


def test_set_active_true_makes_the_target_the_only_active_one() -> None:
    out = ENGINE.apply(START, req("server", "set_active", "c", value=True))
    assert [n for n, f in flags(out.state).items() if f[0]] == ["c"]
    assert flags(out.state, "WAP")["w"][0], "the other service keeps its Active instance"


def test_set_active_false_clears_only_the_target() -> None:
    state = ENGINE.apply(START, req("server", "set_default", "c", value=True)).state
    out = ENGINE.apply(state, req("server", "set_active", "a", value=False))
    assert flags(out.state)["a"] == (False, False, True)
    assert flags(out.state)["c"] == (False, True, False)


def test_set_default_true_moves_default() -> None:
    out = ENGINE.apply(START, req("user", "set_default", "c", value=True))
    assert [n for n, f in flags(out.state).items() if f[1]] == ["c"]


def test_user_may_set_default_when_the_locked_instance_is_not_default() -> None:
    # a is locked but not Default: moving Default from b to c modifies no locked instance.
    out = ENGINE.apply(START, req("user", "set_default", "c", value=True))
    assert out.status is Status.OK


def test_queries_answer_and_change_nothing() -> None:
    got = ENGINE.apply(START, req("user", "get", "a"))
    assert got.to_json(with_state=False)["result"] == {
        "active": True,
        "default": False,
        "locked": True,
        "params": {"MMSC": "http://a"},
    }
    assert ENGINE.apply(START, req("user", "get_active")).result == "a"
    assert ENGINE.apply(START, req("user", "in_use")).result == "a"
    no_active = ENGINE.apply(START, req("server", "set_active", "a", value=False)).state
    assert ENGINE.apply(no_active, req("user", "get_active")).result is None
    assert ENGINE.apply(no_active, req("user", "in_use")).result == "b"
    nothing = ENGINE.apply(no_active, req("server", "set_default", "b", value=False)).state
    assert ENGINE.apply(nothing, req("user", "in_use")).result is None
    assert ENGINE.apply(START, req("user", "get_active", service="NONE")).result is None


@pytest.mark.parametrize("op", sorted(ENGINE.spec.ops))
def test_declined_server_request_is_not_executed(op: str) -> None:
    extra: dict[str, Any] = {"confirm": "decline"}
    instance = {"add": "n", "get_active": None, "in_use": None}.get(op, "c")
    if op == "replace":
        extra.update(param="p", value="v")
    if op == "delete_param":
        instance, extra["param"] = "a", "MMSC"
    if op.startswith("set_"):
        extra["value"] = True
    out = ENGINE.apply(START, req("server", op, instance, **extra))
    assert out.status is Status.NOT_EXECUTED and out.state == START
    accepted = ENGINE.apply(START, req("server", op, instance, **{**extra, "confirm": "accept"}))
    assert accepted.status is Status.OK


def test_order_of_checks_400_then_404_then_425_then_215() -> None:
    assert (
        ENGINE.apply(START, req("server", "set_active", "zz", value="1", confirm="decline")).status
        == 400
    )
    assert (
        ENGINE.apply(START, req("server", "set_active", "zz", value=True, confirm="decline")).status
        == 404
    )
    assert ENGINE.apply(START, req("server", "add", "a", confirm="decline")).status == 418
    assert ENGINE.apply(START, req("user", "set_locked", "zz", value=True)).status == 404
    assert ENGINE.apply(START, req("user", "delete", "a")).status == 425


def test_a_user_request_carrying_confirm_is_refused_and_a_bad_value_is_400() -> None:
    # The engine asks only a server's request: a user's "decline" would be silently ignored.
    for answer in ("decline", "accept"):
        with pytest.raises(RequestError, match="a user's own request carries none"):
            req("user", "set_active", "c", value=False, confirm=answer)
    assert ENGINE.apply(START, req("user", "set_active", "c", value=False)).status == 200
    with pytest.raises(ValueError, match="confirm"):
        req("user", "get_active", confirm="maybe")


@pytest.mark.parametrize("bad", ["", "a/b", "a?b", "a\x00b", 3])
def test_bad_names_are_400(bad: object) -> None:
    with pytest.raises(ValueError):
        Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": bad})


def test_every_outcome_names_its_clause_with_a_location() -> None:
    out = ENGINE.apply(START, req("user", "delete", "a"))
    assert out.clause.kind == "refusal" and out.clause.name == "delete: locked"
    assert out.clause.location is not None and out.clause.location.file.endswith("ccs.toml")
    lines = Path(load_spec().source).read_text(encoding="utf-8").splitlines()
    line = lines[out.clause.location.line - 1]
    assert line.startswith("[[ops.delete.steps]]")
