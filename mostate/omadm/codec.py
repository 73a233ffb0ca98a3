"""Reading SyncML DM 1.2 packages, XML or WBXML, into message values.

The XML parser is expat with entity declarations, internal DTD subsets and external references
refused (the hooks :mod:`defusedxml` sets, set here on expat itself), so no entity is ever
expanded and no file or URL is ever fetched; a DOCTYPE that only names the SyncML DTD is let
through, as libwbxml writes one on every package. The tree is built by the standard library's C
``TreeBuilder`` called straight from expat: defusedxml's parser is ElementTree's pure-Python one,
and parsing was most of a DM server's time per message (4x faster this way). WBXML
(``application/vnd.syncml.dm+wbxml``) is decoded by :mod:`mostate.omadm.wbxml` into the same
element tree. Everything that is not a well-formed SyncML DM package raises
:class:`PackageError` with a message that says what is wrong and where (``line 24, column 21``,
``byte 57``); nothing else escapes. :func:`write_package` is the inverse, in
:mod:`mostate.omadm.writer`.

What real clients send is tolerated where it is unambiguous: a byte order mark or whitespace
before ``<?xml``, and data ending in a NUL byte (libdmclient ends its child lists so).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NoReturn, TypeVar
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from ..errors import MostateError
from . import wbxml
from .messages import (
    Add,
    Alert,
    Atomic,
    BodyElement,
    Chal,
    Command,
    Copy,
    Cred,
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

MAX_PACKAGE_BYTES = 1_000_000
"""Larger inputs are refused before parsing (a DM message is tens of kilobytes at most)."""
MAX_ELEMENTS = 100_000
"""Elements in a body, commands and their parts: a bound on the work one message can ask for."""

_NAMESPACES = frozenset({"", "syncml:syncml1.2", "syncml:syncml1.1"})
_ITEM_COMMANDS: dict[str, type[Add | Replace | Delete | Get | Exec | Copy]] = {
    c.NAME: c for c in (Add, Replace, Delete, Get, Exec, Copy)
}
_MAX_DEPTH = 8
C = TypeVar("C", Atomic, Sequence)


class PackageError(MostateError, ValueError):
    """A package that is not well-formed SyncML DM 1.2 XML (the device answers 400).

    >>> try:
    ...     parse_package("<SyncML><SyncHdr>")
    ... except PackageError as err:
    ...     print(err)
    not well-formed XML: no element found: line 1, column 17
    """


def parse_package(data: str | bytes) -> Package:
    """Read one SyncML DM package; raises :class:`PackageError` for anything else.

    >>> p = parse_package('''<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
    ... <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
    ... <Target><LocURI>dev</LocURI></Target><Source><LocURI>srv</LocURI></Source></SyncHdr>
    ... <SyncBody><Get><CmdID>2</CmdID><Item><Target><LocURI>./MMS</LocURI></Target></Item>
    ... </Get><Final/></SyncBody></SyncML>''')
    >>> p.header.source, p.commands()[0].items[0].target
    ('srv', './MMS')
    """
    root = _parse_xml(data)
    if _local(root.tag) != "SyncML":
        raise PackageError(f"the root element is <{_local(root.tag)}>, not <SyncML>")
    namespace = root.tag.removeprefix("{").rpartition("}")[0]
    if namespace.lower() not in _NAMESPACES:
        raise PackageError(f"unknown namespace {namespace!r} (expected SYNCML:SYNCML1.2)")
    header = _header(_required(root, "SyncHdr"))
    body_el = _required(root, "SyncBody")
    if sum(1 for _ in body_el.iter()) > MAX_ELEMENTS:
        raise PackageError(f"more than {MAX_ELEMENTS} elements in the body")
    body = tuple(_body_element(el, 0) for el in body_el if _local(el.tag) != "Final")
    final = _child(body_el, "Final") is not None
    package = Package(header, body, final)
    unique_ids(package)
    return package


def unique_ids(package: Package) -> None:
    """Raise :class:`PackageError` for a CmdID used twice in ``package``, at any depth.

    CmdIDs name commands within a message (a Status's CmdRef points at one): one used twice
    would make the answers ambiguous (RepPro 1.2, CmdID: unique within the message).

    >>> from mostate.omadm.messages import Get, Item, SyncHdr
    >>> unique_ids(Package(SyncHdr("1", "1", "d", "s"), (Get("2", ()), Get("2", ()))))
    Traceback (most recent call last):
    mostate.omadm.codec.PackageError: CmdID 2 is used twice in the message
    """
    seen: set[str] = set()
    stack: list[BodyElement] = list(package.body)
    while stack:
        element = stack.pop()
        if element.cmd_id in seen:
            raise PackageError(f"CmdID {element.cmd_id} is used twice in the message")
        seen.add(element.cmd_id)
        if isinstance(element, Atomic | Sequence):
            stack.extend(element.commands)


def _parse_xml(data: str | bytes) -> Element:
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(f"package of {len(data)} bytes exceeds {MAX_PACKAGE_BYTES}")
    if isinstance(data, bytes) and wbxml.is_wbxml(data):
        try:
            return wbxml.decode(data)[0]
        except wbxml.WbxmlError as err:
            raise PackageError(f"not well-formed WBXML: {err}") from None
    try:
        return _expat_tree(_tolerated(data))
    except _Refused as err:
        raise PackageError(str(err)) from None
    except expat.ExpatError as err:
        message = expat.ErrorString(err.code) if err.code else str(err)
        raise PackageError(
            f"not well-formed XML: {message}: line {err.lineno}, column {err.offset}"
        ) from None
    except (ValueError, LookupError) as err:  # a bad encoding declaration, say
        raise PackageError(f"cannot decode the package: {err}") from None


class _Refused(Exception):
    """An XML construct the parser does not allow (an internal subset, an entity)."""


def _expat_tree(data: str | bytes) -> Element:
    """The element tree of ``data``: expat, namespaces as ``uri}local`` (what :func:`_local`
    reads), elements built in C; a DOCTYPE with an internal subset (the only place an entity can
    be declared), an entity declaration, or a reference to an external entity is refused."""
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _entity
    parser.UnparsedEntityDeclHandler = _entity
    parser.ExternalEntityRefHandler = _external
    parser.SkippedEntityHandler = _skipped  # a reference an unread external DTD might declare
    parser.Parse(data, True)
    root: Element = builder.close()
    return root


def _doctype(name: str, sysid: str | None, pubid: str | None, internal_subset: bool) -> None:
    if internal_subset:
        raise _Refused("a DOCTYPE with an internal subset is not allowed")


def _entity(name: str, *rest: object) -> NoReturn:
    raise _Refused(f"refused XML construct: the entity declaration {name!r}")


def _skipped(name: str, is_parameter_entity: bool) -> NoReturn:
    raise _Refused(f"not well-formed XML: undefined entity &{name};")


def _external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> NoReturn:
    raise _Refused(f"refused XML construct: a reference to the external entity {sysid!r}")


def _tolerated(data: str | bytes) -> str | bytes:
    """What real clients send, made well-formed: a byte order mark or a newline before
    ``<?xml`` (libdmclient), and data ending in a NUL byte (libdmclient's child lists)."""
    if isinstance(data, bytes):
        return data.removeprefix(b"\xef\xbb\xbf").lstrip().replace(b"\x00<", b"<")
    return data.removeprefix("\ufeff").lstrip().replace("\x00<", "<")


def _local(tag: object) -> str:
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return _local_name(tag)


@functools.lru_cache(maxsize=4096)
def _local_name(tag: str) -> str:
    """A tag's name without its namespace; packages use a few dozen tags, so it is cached."""
    return tag.rpartition("}")[2]


def _child(el: Element, name: str) -> Element | None:
    for child in el:
        if _local(child.tag) == name:
            return child
    return None


def _children(el: Element) -> dict[str, Element]:
    """Each child's local name and the first child of that name, for elements read field by
    field (one pass over the children rather than one per field)."""
    out: dict[str, Element] = {}
    for child in el:
        out.setdefault(_local(child.tag), child)
    return out


def _required(el: Element, name: str) -> Element:
    child = _child(el, name)
    if child is None:
        raise PackageError(f"<{_local(el.tag)}> has no <{name}>")
    return child


def _text(el: Element | None, *, strip: bool = True) -> str | None:
    if el is None:
        return None
    text = "".join(el.itertext())
    return text.strip() if strip else text


def _required_text(el: Element, name: str) -> str:
    text = _text(_required(el, name))
    if not text:
        raise PackageError(f"<{name}> in <{_local(el.tag)}> is empty")
    return text


def _loc_uri(el: Element, name: str) -> str | None:
    holder = _child(el, name)
    return None if holder is None else _required_text(holder, "LocURI")


def _header(el: Element) -> SyncHdr:
    ver_proto = _required_text(el, "VerProto")
    if not ver_proto.startswith("DM/1."):
        raise PackageError(f"VerProto {ver_proto!r} is not OMA DM 1.x")
    meta = _child(el, "Meta")
    return SyncHdr(
        session_id=_required_text(el, "SessionID"),
        msg_id=_required_text(el, "MsgID"),
        target=_loc_uri(el, "Target") or _missing("SyncHdr", "Target"),
        source=_loc_uri(el, "Source") or _missing("SyncHdr", "Source"),
        ver_dtd=_required_text(el, "VerDTD"),
        ver_proto=ver_proto,
        resp_uri=_text(_child(el, "RespURI")),
        max_msg_size=None if meta is None else _text(_child(meta, "MaxMsgSize")),
        cred=_cred(_child(el, "Cred")),
    )


def _cred(el: Element | None) -> Cred | None:
    if el is None:
        return None
    meta = _child(el, "Meta")
    kind = None if meta is None else _text(_child(meta, "Type"))
    return Cred(
        kind or "syncml:auth-basic",  # RepPro 1.2, Cred: basic when Meta gives no Type
        _text(_child(el, "Data")) or "",
        None if meta is None else _text(_child(meta, "Format")),
    )


def _chal(el: Element | None) -> Chal | None:
    meta = None if el is None else _child(el, "Meta")
    if meta is None:
        return None
    return Chal(
        _text(_child(meta, "Type")) or "syncml:auth-basic",
        _text(_child(meta, "NextNonce")),
        _text(_child(meta, "Format")),
    )


def _missing(where: str, name: str) -> str:
    raise PackageError(f"<{where}> has no <{name}>")


def _body_element(el: Element, depth: int) -> BodyElement:
    name = _local(el.tag)
    if name == "Status":
        return _status(el)
    if name == "Results":
        return Results(
            _required_text(el, "CmdID"),
            _required_text(el, "MsgRef"),
            _required_text(el, "CmdRef"),
            _items(el),
        )
    return _command(el, depth)


def _command(el: Element, depth: int) -> Command:
    name = _local(el.tag)
    cmd_id = _required_text(el, "CmdID")
    if name in _ITEM_COMMANDS:
        items = _items(el)
        if not items:
            raise PackageError(f"<{name}> {cmd_id} has no <Item>")
        no_resp = _child(el, "NoResp") is not None
        command: Command = _ITEM_COMMANDS[name](
            cmd_id, items, _meta(_child(el, "Meta")), no_resp=no_resp
        )
        return command
    if name == "Alert":
        return Alert(cmd_id, _required_text(el, "Data"), _items(el))
    if name == "Atomic":
        return _container(Atomic, el, cmd_id, depth)
    if name == "Sequence":
        return _container(Sequence, el, cmd_id, depth)
    raise PackageError(f"unsupported command <{name}> (CmdID {cmd_id})")


def _container(cls: Callable[..., C], el: Element, cmd_id: str, depth: int) -> C:
    if depth >= _MAX_DEPTH:
        raise PackageError(f"commands nested deeper than {_MAX_DEPTH} levels")
    members = tuple(
        _command(child, depth + 1)
        for child in el
        if _local(child.tag) not in ("", "CmdID", "Meta", "NoResp")
    )
    if not members:
        raise PackageError(f"<{_local(el.tag)}> {cmd_id} is empty")
    return cls(cmd_id, members, _meta(_child(el, "Meta")))


def _status(el: Element) -> Status:
    code = _required_text(el, "Data")
    if not re.fullmatch(r"[0-9]{3,4}", code):  # ASCII digits only: "¹¹⁰¹" is no code
        raise PackageError(f"status code {code!r} is not a number")
    return Status(
        cmd_id=_required_text(el, "CmdID"),
        msg_ref=_required_text(el, "MsgRef"),
        cmd_ref=_required_text(el, "CmdRef"),
        cmd=_required_text(el, "Cmd"),
        code=int(code),
        target_refs=tuple(_text(c) or "" for c in el if _local(c.tag) == "TargetRef"),
        source_refs=tuple(_text(c) or "" for c in el if _local(c.tag) == "SourceRef"),
        items=_items(el),
        chal=_chal(_child(el, "Chal")),
    )


def _items(el: Element) -> tuple[Item, ...]:
    return tuple(_item(c) for c in el if _local(c.tag) == "Item")


def _item(el: Element) -> Item:
    kids = _children(el)
    target, source = kids.get("Target"), kids.get("Source")
    return Item(
        target=None if target is None else _required_text(target, "LocURI"),
        source=None if source is None else _required_text(source, "LocURI"),
        meta=_meta(kids.get("Meta")),
        data=_data(kids.get("Data")),
        more_data="MoreData" in kids,
    )


def _data(el: Element | None) -> str | None:
    text = _text(el, strip=False)
    return None if text is None else text.removesuffix("\x00")


def _meta(el: Element | None) -> Meta | None:
    if el is None:
        return None
    return Meta(_text(_child(el, "Format")), _text(_child(el, "Type")), _text(_child(el, "Size")))


_SALVAGE = {
    name: re.compile(pattern, re.S)
    for name, pattern in {
        "session_id": r"<SessionID>\s*([^<\s]+)",
        "msg_id": r"<MsgID>\s*([^<\s]+)",
        "target": r"<Target>\s*<LocURI>\s*([^<\s]+)",
        "source": r"<Source>\s*<LocURI>\s*([^<\s]+)",
    }.items()
}


def salvage_header(data: str | bytes) -> SyncHdr:
    """The header fields of a package that does not parse, found by pattern (or placeholders),
    so that even a refusal is addressed to the right session and message.

    >>> salvage_header("<SyncHdr><SessionID>7</SessionID><MsgID>3</MsgID> & oops").msg_id
    '3'
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    head = text[: text.find("</SyncHdr>") if "</SyncHdr>" in text else 4096]
    found = {name: pattern.search(head) for name, pattern in _SALVAGE.items()}
    values = {name: m.group(1) if m else "" for name, m in found.items()}
    return SyncHdr(
        session_id=values["session_id"] or "0",
        msg_id=values["msg_id"] or "0",
        target=values["target"] or "unknown",
        source=values["source"] or "unknown",
    )
