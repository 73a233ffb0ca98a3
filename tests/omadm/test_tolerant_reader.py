"""What real DM peers send is read, and nothing unsafe comes in with it: a DOCTYPE naming the DTD
(libwbxml), a BOM or a newline before ``<?xml`` and NUL-terminated data (libdmclient), 212 as
the header's success; internal subsets, entities and external DTDs stay refused or unread."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from mostate import DeviceState, Engine, Request
from mostate.omadm import Device, PackageError, Server, parse_package, write_package

DOCTYPE = (
    '<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" '
    '"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">'
)
BODY = """<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>2</MsgID>
<Target><LocURI>dev</LocURI></Target><Source><LocURI>srv</LocURI></Source></SyncHdr>
<SyncBody><Get><CmdID>2</CmdID><Item><Target><LocURI>./MMS</LocURI></Target></Item></Get>
<Final/></SyncBody></SyncML>"""


def test_a_doctype_that_only_names_the_dtd_is_read() -> None:
    package = parse_package(f'<?xml version="1.0"?>\n{DOCTYPE}\n{BODY}')
    assert package.commands()[0].NAME == "Get"


@pytest.mark.parametrize(
    "subset",
    [
        '[<!ENTITY x "boom">]',
        '[<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]',
        "[<!ELEMENT SyncML ANY>]",  # no entity at all: still an internal subset, still refused
    ],
)
def test_an_internal_subset_is_refused(subset: str) -> None:
    with pytest.raises(PackageError, match=r"^a DOCTYPE with an internal subset is not allowed"):
        parse_package(f"<!DOCTYPE SyncML {subset}>{BODY}")


def test_an_external_dtd_is_never_fetched(tmp_path: Path, engine: Engine) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY secret "TOP-SECRET">')
    text = BODY.replace("./MMS", "&secret;")
    data = f'<!DOCTYPE SyncML SYSTEM "{dtd.as_uri()}">{text}'
    with pytest.raises(PackageError, match="undefined entity"):
        parse_package(data)
    _, answer = Device(engine).process(DeviceState(), data)
    assert answer.statuses()[0].code == 400
    assert "TOP-SECRET" not in write_package(answer)


@pytest.mark.parametrize(
    "prefix",
    [b"\xef\xbb\xbf", b"\n", b"\r\n  ", b"\xef\xbb\xbf\n"],
    ids=["bom", "lf", "crlf", "both"],
)
def test_a_bom_or_whitespace_before_the_declaration_is_read(prefix: bytes) -> None:
    package = parse_package(prefix + b'<?xml version="1.0" encoding="UTF-8"?>\n' + BODY.encode())
    assert package.header.msg_id == "2"


def test_a_child_list_ending_in_nul_is_read_without_it() -> None:
    results = b"""<Results><CmdID>3</CmdID><MsgRef>1</MsgRef><CmdRef>2</CmdRef><Item>
<Source><LocURI>./MMS</LocURI></Source><Meta><Format xmlns='syncml:metinf'>node</Format></Meta>
<Data>new/old2/old1\x00</Data></Item></Results>"""
    data = BODY.encode().replace(b"<Final/>", results + b"<Final/>")
    (read,) = parse_package(data).results()
    assert read.items[0].data == "new/old2/old1"


def test_a_nul_elsewhere_is_still_not_xml() -> None:
    with pytest.raises(PackageError, match="not well-formed XML"):
        parse_package(BODY.encode().replace(b"./MMS", b"./M\x00MS"))


def _answer(header_code: int, get_code: int) -> str:
    return f"""<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>
<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
<Target><LocURI>srv</LocURI></Target><Source><LocURI>dev</LocURI></Source></SyncHdr><SyncBody>
<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>
<Data>{header_code}</Data></Status>
<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>1</CmdRef><Cmd>Replace</Cmd>
<Data>{get_code}</Data></Status><Final/></SyncBody></SyncML>"""


@pytest.mark.parametrize(("header", "expected"), [(200, 200), (212, 200), (401, 401)])
def test_212_authentication_accepted_is_a_success(
    engine: Engine, header: int, expected: int
) -> None:
    server = Server(engine, server_id="srv")
    request = Request.from_json(
        {"actor": "server", "op": "set_locked", "service": "MMS", "instance": "a", "value": True}
    )
    _, sent = server.build([request])
    (report,) = server.read(sent, _answer(header, 200))
    assert report.status == expected


def test_interior_adds_carry_an_empty_data(engine: Engine) -> None:
    """libdmclient dereferences a missing Data of an interior Add; AOSP's servers send one."""
    request = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "n"})
    package, _ = Server(engine).build([request])
    assert "<Data></Data>" in write_package(package)
    (node,) = package.commands()[0].items  # type: ignore[union-attr]
    assert (node.meta.format if node.meta else None, node.data) == ("node", "")


def test_copy_gets_its_own_406_and_the_package_goes_on(engine: Engine) -> None:
    copy = (
        "<Copy><CmdID>3</CmdID><Item><Target><LocURI>./MMS/b</LocURI></Target>"
        "<Source><LocURI>./MMS/a</LocURI></Source></Item></Copy>"
    )
    data = BODY.replace("<Final/>", copy + "<Final/>")
    _, answer = Device(engine).process(DeviceState(), data)
    assert [(s.cmd, s.code) for s in answer.statuses()] == [
        ("SyncHdr", 200),
        ("Get", 200),
        ("Copy", 406),
    ]


def test_no_resp_means_no_status_for_that_command(engine: Engine) -> None:
    """RepPro 1.2, NoResp: the recipient sends no Status for the command (libdmclient does)."""
    add = (
        "<Add><CmdID>3</CmdID><NoResp/><Item><Target><LocURI>./MMS/n</LocURI></Target>"
        "<Meta><Format xmlns='syncml:metinf'>node</Format></Meta><Data/></Item></Add>"
    )
    data = BODY.replace("<Final/>", add + "<Final/>")
    after, answer = Device(engine).process(DeviceState(), data)
    assert [s.cmd for s in answer.statuses()] == ["SyncHdr", "Get"]
    assert "n" in after.service("MMS").instances  # done, just not reported
    assert parse_package(write_package(parse_package(data))) == parse_package(data)


def test_a_device_answers_gets_of_its_devinfo_and_refuses_writes(engine: Engine) -> None:
    from mostate.omadm.client import standard_tree
    from mostate.omadm.session import Account

    fixed = standard_tree("sim-7", Account(server_id="op"), "http://dm/")
    gets = "".join(
        f"<Get><CmdID>{n}</CmdID><Item><Target><LocURI>{uri}</LocURI></Target></Item></Get>"
        for n, uri in enumerate(["./DevInfo/DevId", "./DevInfo", "./DMAcc/op/ServerID"], start=3)
    )
    write = (
        "<Replace><CmdID>9</CmdID><Item><Target><LocURI>./DevInfo/DevId</LocURI></Target>"
        "<Data>x</Data></Item></Replace>"
    )
    data = BODY.replace("<Final/>", gets + write + "<Final/>")
    _, answer = Device(engine, fixed=fixed).process(DeviceState(), data)
    assert [s.code for s in answer.statuses()[2:]] == [200, 200, 200, 405]
    read = [i.data for r in answer.results() for i in r.items]
    assert read[1:] == ["sim-7", "DevId/Man/Mod/DmV/Lang", "op"]
    assert not any("Secret" in uri for uri in fixed)  # no secret is ever readable


def test_acls_name_the_dmacc_server_id_not_the_url(engine: Engine) -> None:
    """An ACL says Replace=op; the server's packages carry its URL as Source."""
    from mostate.omadm import AclTable, TreeConfig

    tree = TreeConfig(acls=AclTable.from_strings({"./MMS": "Add=op&Get=*&Replace=op"}))
    add = (
        "<Add><CmdID>3</CmdID><Item><Target><LocURI>./MMS/n</LocURI></Target>"
        "<Meta><Format xmlns='syncml:metinf'>node</Format></Meta><Data/></Item></Add>"
    )
    data = BODY.replace("<Final/>", add + "<Final/>").replace(
        "<LocURI>srv</LocURI>", "<LocURI>https://dm.op.example/dm</LocURI>"
    )
    plain = Device(engine, tree)
    known = Device(engine, tree, accounts={"https://dm.op.example/dm": "op"})
    assert plain.process(DeviceState(), data)[1].statuses()[2].code == 425
    after, answer = known.process(DeviceState(), data)
    assert answer.statuses()[2].code == 200 and "n" in after.service("MMS").instances


def test_a_cmdid_used_twice_refuses_the_package(engine: Engine) -> None:
    twice = BODY.replace(
        "<Final/>", BODY[BODY.index("<Get>") : BODY.index("</Get>") + 6] + "<Final/>"
    )
    with pytest.raises(PackageError, match="CmdID 2 is used twice"):
        parse_package(twice)
    after, answer = Device(engine).process(DeviceState(), twice)
    assert answer.statuses()[0].code == 400 and after == DeviceState()


def test_a_body_of_too_many_elements_is_refused_before_any_runs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mostate.omadm import codec

    monkeypatch.setattr(codec, "MAX_ELEMENTS", 50)
    gets = "".join(
        f"<Get><CmdID>{n}</CmdID><Item><Target><LocURI>./MMS</LocURI></Target></Item></Get>"
        for n in range(3, 30)
    )
    with pytest.raises(PackageError, match="more than 50 elements"):
        parse_package(BODY.replace("<Final/>", gets + "<Final/>"))


def test_a_package_object_with_a_cmdid_used_twice_is_refused_whole(engine: Engine) -> None:
    # A Package built in code skips the reader; the device checks it all the same, nested
    # commands included, and runs none of it.
    from mostate.omadm.messages import Add, Atomic, Item, Meta, Package, SyncHdr

    first = Add("2", (Item("./MMS/a", meta=Meta("node")),))
    again = Add("2", (Item("./MMS/b", meta=Meta("node")),))
    package = Package(SyncHdr("1", "1", "dev", "srv"), (first, Atomic("3", (again,))))
    after, answer = Device(engine).process(DeviceState(), package)
    (status,) = answer.statuses()
    assert (status.cmd, status.code) == ("SyncHdr", 400) and after == DeviceState()
    assert status.items[0].data == "CmdID 2 is used twice in the message"
    unique = Package(package.header, (first, Atomic("3", (attrs.evolve(again, cmd_id="4"),))))
    after, answer = Device(engine).process(DeviceState(), unique)
    assert [s.code for s in answer.statuses()] == [200, 200, 200, 200]
    assert sorted(after.service("MMS").instances) == ["a", "b"]
