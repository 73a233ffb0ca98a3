"""Every shared real packet is either processed or refused with a clear message, as documented
in tests/data/syncml/README.md; each test says which and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from mostate import DeviceState, Engine
from mostate.omadm import (
    Answer,
    Atomic,
    Device,
    PackageError,
    answering,
    parse_package,
    write_package,
)
from mostate.omadm.acl import COMMANDS, ROOT_DEFAULT

PARSED = [
    "testalertconfirmatomic.xml",
    "testalertdisplay.xml",
    "testgetscript.xml",
    "testnewdatatype.xml",
    # The binary encoding (test_wbxml.py checks them against libwbxml).
    "testadd.wbxml",
    "testget.wbxml",
    "testreplace.wbxml",
    "testdelete.wbxml",
]
REFUSED = {
    # A raw '&' in the option string MAXDT=15&DR=1: not well-formed XML. We refuse, saying where.
    "testalertconfirm.xml": "not well-formed XML: not well-formed (invalid token): line 24",
    # A device description, not a package. Its DOCTYPE only names the DTD, so it is let through.
    "syncmldm.ddf": "the root element is <MgmtTree>, not <SyncML>",
}


def test_the_table_covers_every_shared_file(data_dir: Path) -> None:
    files = {p.name for p in data_dir.iterdir() if p.name != "README.md"}
    assert files == set(PARSED) | set(REFUSED)


@pytest.mark.parametrize("name", PARSED)
def test_parsed_packets_round_trip(data_dir: Path, name: str) -> None:
    package = parse_package((data_dir / name).read_bytes())
    assert package.header.ver_proto == "DM/1.2"
    assert parse_package(write_package(package)) == package


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_files_say_why(data_dir: Path, name: str, engine: Engine) -> None:
    data = (data_dir / name).read_bytes()
    with pytest.raises(
        PackageError, match="^" + REFUSED[name].replace("(", r"\(").replace(")", r"\)")
    ):
        parse_package(data)
    state = DeviceState.from_json({"MMS": {"a": {"active": True}}})
    after, response = Device(engine).process(state, data)
    (header,) = response.statuses()
    assert (header.cmd, header.code) == ("SyncHdr", 400)
    assert header.items[0].data is not None and REFUSED[name] in header.items[0].data
    assert after == state


def test_refused_confirm_alert_keeps_its_session_in_the_answer(
    data_dir: Path, engine: Engine
) -> None:
    _, response = Device(engine).process(
        DeviceState(), (data_dir / "testalertconfirm.xml").read_bytes()
    )
    assert response.header.session_id == "11"
    assert (response.header.target, response.header.source) == ("mot.manage", "SampleClient")


def test_the_confirm_alert_once_its_ampersand_is_escaped(data_dir: Path, engine: Engine) -> None:
    text = (data_dir / "testalertconfirm.xml").read_text().replace("15&DR", "15&amp;DR")
    prompts = []

    def ui(prompt):
        prompts.append(prompt)
        return Answer.DECLINE

    _, response = Device(engine).process(DeviceState(), text, ui=ui)
    assert [(s.cmd, s.code) for s in response.statuses()] == [("SyncHdr", 200), ("Alert", 304)]
    assert prompts[0].text == "Testing Confirmation Alert"
    assert prompts[0].options == "MAXDT=15&DR=1"


@pytest.mark.parametrize(
    ("answer", "codes"),
    [
        # What the AOSP client answered when the confirmation timed out:
        (Answer.TIMEOUT, [507, 408, 215]),
        (Answer.DECLINE, [507, 304, 215]),
        (Answer.CANCEL, [507, 214, 215]),
        # Accepted: the Replace runs and ./DevDetail/Bearer has no instance here: 404 fails the
        # Atomic, and the accepted alert is rolled back.
        (Answer.ACCEPT, [507, 216, 404]),
    ],
)
def test_confirm_inside_atomic(
    data_dir: Path, engine: Engine, answer: Answer, codes: list[int]
) -> None:
    data = (data_dir / "testalertconfirmatomic.xml").read_bytes()
    assert isinstance(parse_package(data).commands()[0], Atomic)
    after, response = Device(engine).process(DeviceState(), data, ui=answering(answer))
    assert [s.code for s in response.statuses()[1:]] == codes
    assert [s.cmd for s in response.statuses()[1:]] == ["Atomic", "Alert", "Replace"]
    assert after == DeviceState()


def test_display_alert_is_shown(data_dir: Path, engine: Engine) -> None:
    shown = []

    def ui(prompt):
        shown.append(prompt.text)
        return Answer.TIMEOUT

    _, response = Device(engine).process(
        DeviceState(), (data_dir / "testalertdisplay.xml").read_bytes(), ui=ui
    )
    assert shown == ["Testing Display Alert"]
    assert response.statuses()[1].code == 200


def test_get_of_a_node_outside_any_instance_is_404(data_dir: Path, engine: Engine) -> None:
    _, response = Device(engine).process(
        DeviceState(), (data_dir / "testgetscript.xml").read_bytes()
    )
    assert [(s.cmd, s.code) for s in response.statuses()] == [("SyncHdr", 200), ("Get", 404)]
    assert response.results() == ()


def test_new_data_types_add_replace_get_delete(data_dir: Path, engine: Engine) -> None:
    data = (data_dir / "testnewdatatype.xml").read_bytes()
    after, response = Device(engine).process(DeviceState(), data)
    assert [s.code for s in response.statuses()] == [200] * 15
    read = [item.data for results in response.results() for item in results.items]
    # Leaves are strings in the CCS model: the Replaced values come back as sent.
    assert read == ["1.2345", "2005-345", "11:20:35+01:20"]
    assert after == DeviceState()  # everything added was deleted again


def test_the_default_root_acl_is_the_real_devices(data_dir: Path) -> None:
    """The DDF's root AccessType grants every command: our default root ACL does the same."""
    from mostate.omadm.codec import _expat_tree  # the codec's own refusing parser

    root = _expat_tree((data_dir / "syncmldm.ddf").read_bytes())
    node = root.find("Node")
    assert node is not None and node.findtext("NodeName") == "."
    access = node.find("DFProperties/AccessType")
    assert access is not None
    granted = {child.tag for child in access}
    assert granted == set(COMMANDS)
    assert all(ROOT_DEFAULT.grants(cmd, "any-server") for cmd in granted)
