"""WBXML: our codec against libwbxml (Debian's libwbxml2-utils), both ways, on every real packet
and on generated packages; a round trip on random packages; and hostile bytes that must give a
PackageError, never anything else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine
from mostate.omadm import (
    Device,
    Package,
    PackageError,
    Server,
    parse_package,
    write_package,
    write_wbxml,
)
from mostate.omadm.wbxml import WbxmlError, decode, encode, is_wbxml
from tests.omadm.test_robustness import START, packages

LIBWBXML = shutil.which("wbxml2xml") and shutil.which("xml2wbxml")
needs_libwbxml = pytest.mark.skipif(
    not LIBWBXML, reason="libwbxml is not installed (apt-get install libwbxml2-utils)"
)
AOSP = ["testadd.wbxml", "testdelete.wbxml", "testget.wbxml", "testreplace.wbxml"]
XML = ["testalertconfirmatomic.xml", "testalertdisplay.xml", "testgetscript.xml"]


def wbxml2xml(data: bytes, tmp: Path) -> bytes:
    (tmp / "in.wbxml").write_bytes(data)
    subprocess.run(
        ["wbxml2xml", "-m", "0", "-k", "-o", str(tmp / "out.xml"), str(tmp / "in.wbxml")],
        check=True,
        capture_output=True,
    )
    return (tmp / "out.xml").read_bytes()


def xml2wbxml(text: str, tmp: Path) -> bytes:
    (tmp / "in.xml").write_text(text)
    subprocess.run(
        ["xml2wbxml", "-o", str(tmp / "out.wbxml"), str(tmp / "in.xml")],
        check=True,
        capture_output=True,
    )
    return (tmp / "out.wbxml").read_bytes()


def generated() -> list[Package]:
    """What mostate itself sends and answers: a server package and the device's answer."""
    from mostate import Request, load_spec

    engine = Engine(load_spec())
    server = Server(engine, server_id="srv")
    base = {"actor": "server", "server_id": "srv", "service": "MMS", "instance": "new"}
    requests = [
        Request.from_json({**base, "op": "add", "params": {"MMSC": "http://m"}}),
        Request.from_json({**base, "op": "set_active", "value": True}),
        Request.from_json({**base, "op": "get"}),
        Request.from_json({**base, "op": "get_active"}),
    ]
    package, _ = server.build(requests)
    _, answer = Device(engine).process(START, write_package(package))
    return [package, answer]


@pytest.mark.parametrize("name", AOSP)
def test_real_wbxml_packets_are_read(data_dir: Path, name: str) -> None:
    package = parse_package((data_dir / name).read_bytes())
    assert package.header.ver_proto == "DM/1.2"
    assert package.header.max_msg_size == "3500"  # a MetInf element, on code page 1
    assert package.body  # commands or statuses, not an empty shell


@needs_libwbxml
@pytest.mark.parametrize("name", AOSP)
def test_we_read_real_packets_as_libwbxml_does(data_dir: Path, name: str, tmp_path: Path) -> None:
    data = (data_dir / name).read_bytes()
    assert parse_package(data) == parse_package(wbxml2xml(data, tmp_path))


@needs_libwbxml
@pytest.mark.parametrize("which", [*XML, "generated-0", "generated-1"])
def test_libwbxml_reads_what_we_write_and_we_read_what_it_writes(
    data_dir: Path, which: str, tmp_path: Path
) -> None:
    if which.startswith("generated-"):
        package = generated()[int(which[-1])]
    else:
        package = parse_package((data_dir / which).read_bytes())
    assert parse_package(wbxml2xml(write_wbxml(package), tmp_path)) == package
    assert parse_package(xml2wbxml(write_package(package), tmp_path)) == package


@pytest.mark.slow
@needs_libwbxml
@settings(max_examples=25, deadline=None)
# libwbxml writes a carriage return raw into its XML, which every XML reader then reads as a line
# feed (XML 1.0, 2.11): a property of its XML output, not of the WBXML, so such text is left out.
@given(packages.filter(lambda p: "&#13;" not in write_package(p)))
def test_libwbxml_agrees_on_random_packages(package: Package) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert parse_package(wbxml2xml(write_wbxml(package), Path(tmp))) == package


@given(packages)
def test_wbxml_round_trip(package: Package) -> None:
    data = write_wbxml(package)
    assert is_wbxml(data)
    assert parse_package(data) == package


def test_the_device_answers_wbxml_it_could_read(data_dir: Path, engine: Engine) -> None:
    package = generated()[0]
    after, answer = Device(engine).process(DeviceState(), write_wbxml(package))
    assert answer.statuses()[0].code == 200
    assert "new" in after.to_json()["MMS"]


def test_nul_in_text_goes_as_opaque_data() -> None:
    from xml.etree.ElementTree import Element, SubElement

    root = Element("SyncML")
    SubElement(root, "Data").text = "a/b\x00"
    data = encode(root)
    assert b"\xc3\x04a/b\x00" in data  # OPAQUE, length 4, the bytes
    assert decode(data)[0][0].text == "a/b\x00"


def test_a_public_id_in_the_string_table_names_the_version(data_dir: Path) -> None:
    root, public_id = decode((data_dir / "testadd.wbxml").read_bytes())
    assert public_id == "-//SYNCML//DTD SyncML 1.1//EN"
    assert root.tag == "{SYNCML:SYNCML1.1}SyncML"


HEADER = bytes([0x02, 0xA4, 0x01, 0x6A, 0x00])  # WBXML 1.2, SyncML 1.2, UTF-8, no strings


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the document ends before its root"),
        (b"\x6d\x6c", "the document ends inside an element"),
        (b"\x6d\x03abc", "an inline string without its NUL"),
        (b"\x6d\xc3\x8f\xff\xff\xff\xff\x7f", "longer than 32 bits"),
        (b"\x6d\xc3\x10ab\x01", "opaque data of 16 bytes runs past the end"),
        (b"\x6d\x83\x05\x01", "string table reference 5 is outside the table"),
        (b"\x6d\x00\x07\x01", "code page 7 is not SyncML or MetInf"),
        (b"\xad\x01", "token 0xad is not used in SyncML DM"),  # a tag with attributes
        (b"\x6d\x3f\x01", "unknown tag 0x3f on page 0"),
        (b"\x6d\x01\x6d\x01", "2 bytes after the root element"),
        (b"\x6d\xc3\x02\xff\xfe\x01", "text that is not UTF-8"),
        (b"\x01", "END outside any element"),
        (b"\x6d" * 40 + b"\x01" * 40, "nested deeper than 32"),
    ],
)
def test_hostile_wbxml_is_refused_with_a_reason(body: bytes, message: str) -> None:
    with pytest.raises(WbxmlError, match=message):
        decode(HEADER + body)
    with pytest.raises(PackageError, match="not well-formed WBXML"):
        parse_package(HEADER + body)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (bytes([0x07, 0x01, 0x6A, 0x00]), "version byte 0x07"),
        (bytes([0x02, 0x05, 0x6A, 0x00]), "public identifier 0x5 is not a SyncML DTD"),
        (bytes([0x02, 0x01, 0x04, 0x00]), "charset 4 is not UTF-8"),
        (bytes([0x02, 0x00, 0x00, 0x6A, 0x03]) + b"-//", "not a SyncML DTD"),
        (bytes([0x02, 0x01, 0x6A, 0x7F]), "string table of 127 bytes runs past the end"),
    ],
)
def test_a_bad_header_is_refused_with_a_reason(header: bytes, message: str) -> None:
    with pytest.raises(WbxmlError, match=message):
        decode(header + b"\x6d\x01")


@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_anything_but_package_error(data: bytes) -> None:
    try:
        package = parse_package(HEADER + data)
    except PackageError as err:
        assert str(err) and "\n" not in str(err)  # one line that says what is wrong
    else:
        assert package.header.ver_proto.startswith("DM/1.")


@given(packages, st.data())
def test_every_cut_of_a_valid_package_is_refused_cleanly(
    package: Package, data: st.DataObject
) -> None:
    wire = write_wbxml(package)
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(PackageError):
        parse_package(wire[:cut])


def test_the_device_refuses_broken_wbxml_and_keeps_its_state(engine: Engine) -> None:
    after, answer = Device(engine).process(START, HEADER + b"\x6d\x6c")
    (header,) = answer.statuses()
    assert (header.code, after) == (400, START)
    assert header.items[0].data is not None and "WBXML" in header.items[0].data


def test_is_wbxml_does_not_take_xml_for_wbxml() -> None:
    assert not is_wbxml(b"\xef\xbb\xbf<SyncML/>")
    assert not is_wbxml(b"\n<?xml version='1.0'?><SyncML/>")
    with pytest.raises(WbxmlError):
        decode(b"")
