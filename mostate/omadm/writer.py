"""Writing message values as SyncML DM 1.2 XML or WBXML: the inverse of
:func:`~.codec.parse_package`.

The output is what servers expect to read: the SYNCML:SYNCML1.2 namespace, Meta fields in the
``syncml:metinf`` namespace, one element per line. Text is escaped; a carriage return is written
as ``&#13;`` so that it survives XML line-end normalisation; characters XML 1.0 cannot carry at
all (most C0 controls) are written as U+FFFD, so a state holding them still gives a well-formed
answer. Apart from those, ``parse_package(write_package(p)) == p``.
"""

from __future__ import annotations

import re
from typing import assert_never
from xml.etree.ElementTree import fromstring
from xml.sax.saxutils import escape

from . import wbxml
from .messages import (
    Add,
    Alert,
    Atomic,
    BodyElement,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Meta,
    Package,
    Replace,
    Results,
    Sequence,
    Status,
    SyncHdr,
)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_METINF = ' xmlns="syncml:metinf"'


def write_package(package: Package) -> str:
    """The XML text of a package.

    >>> from mostate.omadm.messages import SyncHdr, Get, Item
    >>> get = Get("2", (Item("./MMS"),))
    >>> text = write_package(Package(SyncHdr("1", "1", "dev", "srv"), (get,)))
    >>> print(text.splitlines()[0])
    <SyncML xmlns="SYNCML:SYNCML1.2">
    >>> "<LocURI>./MMS</LocURI>" in text
    True
    """
    out = ['<SyncML xmlns="SYNCML:SYNCML1.2">']
    _header(out, package.header)
    out.append("<SyncBody>")
    for element in package.body:
        _element(out, element)
    if package.final:
        out.append("<Final/>")
    out.append("</SyncBody>")
    out.append("</SyncML>")
    return "\n".join(out) + "\n"


def write_wbxml(package: Package) -> bytes:
    """The WBXML bytes of a package (``application/vnd.syncml.dm+wbxml``): the XML text's
    element tree, tokenised; ``parse_package(write_wbxml(p)) == parse_package(write_package(p))``.

    >>> from mostate.omadm.messages import SyncHdr
    >>> write_wbxml(Package(SyncHdr("1", "1", "dev", "srv")))[:6].hex(" ")
    '02 a4 01 6a 00 6d'
    """
    return wbxml.encode(fromstring(write_package(package)))


def _esc(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text)).replace("\r", "&#13;")


def _leaf(out: list[str], name: str, text: str | None, attrs: str = "") -> None:
    if text is not None:
        out.append(f"<{name}{attrs}>{_esc(text)}</{name}>")


def _header(out: list[str], header: SyncHdr) -> None:
    out.append("<SyncHdr>")
    _leaf(out, "VerDTD", header.ver_dtd)
    _leaf(out, "VerProto", header.ver_proto)
    _leaf(out, "SessionID", header.session_id)
    _leaf(out, "MsgID", header.msg_id)
    _loc(out, "Target", header.target)
    _loc(out, "Source", header.source)
    _leaf(out, "RespURI", header.resp_uri)
    if header.cred is not None:
        out.append("<Cred>")
        _meta(out, Meta(header.cred.format, header.cred.type))
        _leaf(out, "Data", header.cred.data)
        out.append("</Cred>")
    if header.max_msg_size is not None:
        out.append("<Meta>")
        _leaf(out, "MaxMsgSize", header.max_msg_size, _METINF)
        out.append("</Meta>")
    out.append("</SyncHdr>")


def _loc(out: list[str], name: str, uri: str | None) -> None:
    if uri is not None:
        out.append(f"<{name}><LocURI>{_esc(uri)}</LocURI></{name}>")


def _meta(out: list[str], meta: Meta | None) -> None:
    if meta is None:
        return
    out.append("<Meta>")
    _leaf(out, "Format", meta.format, _METINF)
    _leaf(out, "Type", meta.type, _METINF)
    _leaf(out, "Size", meta.size, _METINF)
    out.append("</Meta>")


def _item(out: list[str], item: Item) -> None:
    out.append("<Item>")
    _loc(out, "Target", item.target)
    _loc(out, "Source", item.source)
    _meta(out, item.meta)
    _leaf(out, "Data", item.data)
    if item.more_data:
        out.append("<MoreData/>")
    out.append("</Item>")


def _element(out: list[str], element: BodyElement) -> None:
    out.append(f"<{element.NAME}>")
    _leaf(out, "CmdID", element.cmd_id)
    match element:
        case Add() | Replace() | Delete() | Get() | Exec() | Copy():
            if element.no_resp:
                out.append("<NoResp/>")
            _meta(out, element.meta)
            for item in element.items:
                _item(out, item)
        case Alert():
            _leaf(out, "Data", element.code)
            for item in element.items:
                _item(out, item)
        case Atomic() | Sequence():
            _meta(out, element.meta)
            for member in element.commands:
                _element(out, member)
        case Status():
            _status(out, element)
        case Results():
            _leaf(out, "MsgRef", element.msg_ref)
            _leaf(out, "CmdRef", element.cmd_ref)
            for item in element.items:
                _item(out, item)
        case _:
            assert_never(element)
    out.append(f"</{element.NAME}>")


def _status(out: list[str], status: Status) -> None:
    _leaf(out, "MsgRef", status.msg_ref)
    _leaf(out, "CmdRef", status.cmd_ref)
    _leaf(out, "Cmd", status.cmd)
    for ref in status.target_refs:
        _leaf(out, "TargetRef", ref)
    for ref in status.source_refs:
        _leaf(out, "SourceRef", ref)
    if status.chal is not None:
        out.append("<Chal><Meta>")
        _leaf(out, "Type", status.chal.type, _METINF)
        _leaf(out, "Format", status.chal.format, _METINF)
        _leaf(out, "NextNonce", status.chal.next_nonce, _METINF)
        out.append("</Meta></Chal>")
    _leaf(out, "Data", str(status.code))
    for item in status.items:
        _item(out, item)
