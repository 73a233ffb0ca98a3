"""Device-side protocol rules: Atomic, Sequence, confirmation and display alerts, ACLs, and the
engine's status codes kept in the Status."""

from __future__ import annotations

from pathlib import Path

import pytest

from mostate import DeviceState, Engine, load_spec
from mostate.omadm import (
    AclTable,
    Add,
    Alert,
    Answer,
    Atomic,
    Delete,
    Device,
    Get,
    Item,
    Meta,
    Package,
    Prompt,
    Replace,
    Sequence,
    SyncHdr,
    TreeConfig,
    answering,
)

MUTANTS = Path(__file__).resolve().parents[2] / "specs" / "mutants"
NODE = Meta("node")
STATE = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {}}})


def confirm(cmd_id: str) -> Alert:
    return Alert(cmd_id, "1101", (Item(data="MAXDT=30"), Item(data="Switch MMS?")))


def activate(cmd_id: str, name: str, tree: TreeConfig) -> Replace:
    return Replace(cmd_id, (Item(tree.flag_uri("MMS", name, "Active"), data="true"),))


def add(cmd_id: str, name: str) -> Add:
    return Add(cmd_id, (Item(f"./MMS/{name}", meta=NODE),))


def package(*commands, source: str = "srv1") -> Package:
    return Package(SyncHdr("1", "1", "device", source), commands)


# -- Atomic ----------------------------------------------------------------------------------


def test_atomic_all_or_nothing(run, tree: TreeConfig) -> None:
    atomic = Atomic("2", (add("3", "c"), activate("4", "b", tree), add("5", "a"), add("6", "d")))
    after, codes, _ = run(STATE, atomic)
    # the failed member's code, the executed ones rolled back, the rest not executed
    assert codes == [("Atomic", 507), ("Add", 216), ("Replace", 216), ("Add", 418), ("Add", 215)]
    assert after == STATE


def test_atomic_that_succeeds_keeps_its_effects(run, tree: TreeConfig) -> None:
    after, codes, _ = run(STATE, Atomic("2", (add("3", "c"), activate("4", "c", tree))))
    assert codes == [("Atomic", 200), ("Add", 200), ("Replace", 200)]
    assert after.instance("MMS", "c").active


def test_results_of_a_rolled_back_atomic_are_dropped(run, tree: TreeConfig) -> None:
    atomic = Atomic("2", (Get("3", (Item("./MMS"),)), add("4", "a")))
    _, codes, response = run(STATE, atomic)
    assert codes == [("Atomic", 507), ("Get", 216), ("Add", 418)]
    assert response.results() == ()


@pytest.mark.parametrize(
    ("answer", "code"), [(Answer.DECLINE, 304), (Answer.CANCEL, 214), (Answer.TIMEOUT, 408)]
)
def test_a_no_inside_atomic_fails_it(run, tree: TreeConfig, answer: Answer, code: int) -> None:
    atomic = Atomic("2", (add("3", "c"), confirm("4"), activate("5", "c", tree)))
    after, codes, _ = run(STATE, atomic, ui=answering(answer))
    assert codes == [("Atomic", 507), ("Add", 216), ("Alert", code), ("Replace", 215)]
    assert after == STATE


# -- confirmation outside Atomic: the engine sees confirm=accept/decline -----------------------


def test_a_no_inside_sequence_bypasses_the_rest(run, tree: TreeConfig) -> None:
    seq = Sequence("2", (add("3", "c"), confirm("4"), activate("5", "b", tree), add("6", "d")))
    after, codes, _ = run(STATE, seq, add("7", "e"), ui=answering(Answer.DECLINE))
    assert codes == [
        ("Sequence", 200),
        ("Add", 200),
        ("Alert", 304),
        ("Replace", 215),
        ("Add", 215),
        ("Add", 200),  # after the Sequence: not covered by its alert
    ]
    assert sorted(after.service("MMS").instances) == ["a", "b", "c", "e"]


def test_declined_checks_come_first(run, tree: TreeConfig) -> None:
    """The engine's checks run before its confirmation point: a missing instance is 404 and an
    existing one 418 even when declined (scenario alternative-2)."""
    seq = Sequence("2", (confirm("3"), activate("4", "ghost", tree), add("5", "a"), add("6", "z")))
    _, codes, _ = run(STATE, seq, ui=answering(Answer.DECLINE))
    assert codes == [
        ("Sequence", 200),
        ("Alert", 304),
        ("Replace", 404),
        ("Add", 418),
        ("Add", 215),
    ]


def test_a_top_level_confirmation_covers_the_rest_of_the_package(run, tree: TreeConfig) -> None:
    after, codes, _ = run(
        STATE,
        confirm("2"),
        activate("3", "b", tree),
        Get("4", (Item("./MMS"),)),
        Atomic("5", (add("6", "c"),)),
        ui=answering(Answer.DECLINE),
    )
    assert codes == [
        ("Alert", 304),
        ("Replace", 215),
        ("Get", 215),
        ("Atomic", 507),
        ("Add", 215),
    ]
    assert after == STATE


def test_accepted_confirmation(run, tree: TreeConfig) -> None:
    after, codes, _ = run(
        STATE, confirm("2"), activate("3", "b", tree), ui=answering(Answer.ACCEPT)
    )
    assert codes == [("Alert", 200), ("Replace", 200)]
    assert after.instance("MMS", "b").active


def test_display_alert_and_unsupported_alerts(run) -> None:
    shown: list[Prompt] = []

    def ui(prompt: Prompt) -> Answer:
        shown.append(prompt)
        return Answer.DECLINE

    display = Alert("2", "1100", (Item(data="MINDT=5"), Item(data="Updated")))
    _, codes, _ = run(STATE, display, Alert("3", "1102"), Alert("4", "soon"), ui=ui)
    assert codes == [("Alert", 200), ("Alert", 406), ("Alert", 400)]
    assert [p.text for p in shown] == ["Updated"]


def test_a_ui_that_fails_counts_as_a_timeout(run, tree: TreeConfig) -> None:
    def ui(prompt: Prompt) -> Answer:
        raise RuntimeError("screen off")

    after, codes, _ = run(STATE, confirm("2"), activate("3", "b", tree), ui=ui)
    assert codes == [("Alert", 408), ("Replace", 215)]
    assert after == STATE


# -- ACLs ------------------------------------------------------------------------------------


def test_acls_are_checked_per_server_before_the_engine(engine: Engine, tree: TreeConfig) -> None:
    acls = AclTable.from_strings({"./MMS": "Get=*&Replace=srv1&Add=srv1", "./MMS/a": "Get=srv1"})
    device = Device(engine, TreeConfig(flags=tree.flags, acls=acls))
    commands = (
        activate("2", "b", tree),
        Get("3", (Item("./MMS/a/MMSC"),)),
        add("4", "c"),
        Delete("5", (Item("./MMS/b"),)),
    )
    after, response = device.process(STATE, package(*commands, source="srv2"))
    assert [s.code for s in response.statuses()[1:]] == [425, 425, 425, 425]
    assert after == STATE
    after, response = device.process(STATE, package(*commands, source="srv1"))
    # srv1 may Replace and Add; reading a missing leaf is then the tree's 404; nobody may Delete
    assert [s.code for s in response.statuses()[1:]] == [200, 404, 200, 425]


def test_the_server_id_argument_overrides_the_header(engine: Engine) -> None:
    acls = AclTable.from_strings({".": "Get=srv1"})
    device = Device(engine, TreeConfig(acls=acls))
    get = Get("2", (Item("./MMS"),))
    _, response = device.process(STATE, package(get, source="srv1"), server_id="srv2")
    assert response.statuses()[1].code == 425


# -- engine codes are kept -------------------------------------------------------------------


def test_a_server_refused_by_the_spec_keeps_the_engines_425(tree: TreeConfig) -> None:
    """The shipped spec never refuses a server for a lock; the mutant that does is answered
    425, not re-decided here."""
    locked = DeviceState.from_json({"MMS": {"a": {"locked": True}}})
    replace = Replace("2", (Item("./MMS/a/MMSC", data="x"),))
    for spec, code in (("lock-checked-on-server.toml", 425), (None, 200)):
        engine = Engine(load_spec(MUTANTS / spec if spec else None))
        after, response = Device(engine, tree).process(locked, package(replace))
        assert response.statuses()[1].code == code
        assert (after == locked) is (code != 200)


def test_a_step_that_breaks_an_invariant_is_the_engines_500(tree: TreeConfig) -> None:
    engine = Engine(load_spec(MUTANTS / "active-not-cleared.toml"))
    after, response = Device(engine, tree).process(STATE, package(activate("2", "b", tree)))
    assert response.statuses()[1].code == 500
    assert after == STATE


def test_the_response_header_answers_the_package() -> None:
    device = Device(Engine(load_spec()))
    pkg = Package(SyncHdr("77", "5", "IMEI:1", "srv1"), (Get("9", (Item("./MMS"),)),))
    _, response = device.process(STATE, pkg)
    assert (response.header.session_id, response.header.msg_id) == ("77", "5")
    assert (response.header.target, response.header.source) == ("srv1", "IMEI:1")
    header, get = response.statuses()
    assert (header.cmd_ref, header.msg_ref, header.target_refs) == ("0", "5", ("IMEI:1",))
    assert (get.cmd_ref, get.target_refs) == ("9", ("./MMS",))
    assert response.results()[0].cmd_ref == "9"


def test_a_failed_atomic_leaves_no_cmdid_twice_in_the_answer(run, tree: TreeConfig) -> None:
    # The Atomic's Get answered Results, dropped with the rollback: the Status written after
    # it once took the CmdID of an element that was kept (and the answer did not parse).
    atomic = Atomic("2", (Get("3", (Item("./MMS"),)), add("4", "a")))  # a exists: 418
    _, codes, response = run(STATE, atomic, add("5", "z"))  # run() parses the answer back
    ids = [element.cmd_id for element in response.body]
    assert len(ids) == len(set(ids)), ids
    assert codes == [("Atomic", 507), ("Get", 216), ("Add", 418), ("Add", 200)]
