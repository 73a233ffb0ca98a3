"""WBXML, the binary encoding of SyncML DM 1.2 that most devices speak.

A WBXML document is the XML element tree written as one-byte tokens: each element name is a
token of a code page (SyncML on page 0, MetInf on page 1), text is an inline string, a reference
into the document's string table, or opaque bytes. :func:`decode` turns a document into the same
:class:`~xml.etree.ElementTree.Element` tree the XML reader builds, so one reader serves both
encodings; :func:`encode` writes an element tree back.

The token values are those of the SyncML Representation Protocol (OMA-TS-SyncML_RepPro-V1_2,
section 8, "WBXML definition") and the Meta Information DTD (OMA-TS-SyncML_MetaInfo-V1_2); the
document structure is WAP-192-WBXML. The decoder is written for untrusted input: every length is
checked against what is left, nesting is bounded, nothing is read past the end, and anything
outside SyncML DM (attributes, processing instructions, extension tokens, unknown tags) raises
:class:`WbxmlError` saying what and at which byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, SubElement

from ..errors import MostateError

SYNCML_PAGE = (  # noqa: SIM905  (the table reads best as the text it is copied from)
    "Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data Delete Exec Final Get Item "
    "Lang LocName LocURI Map MapItem Meta MsgID MsgRef NoResp NoResults Put Replace RespURI "
    "Results Search Sequence SessionID SftDel Source SourceRef Status Sync SyncBody SyncHdr "
    "SyncML Target TargetRef Reserved VerDTD VerProto NumberOfChanges MoreData Field Filter "
    "Record FilterType SourceParent TargetParent Move Correlator"
).split()
"""Code page 0, tokens 0x05 upwards, in order (RepPro 1.2, 8.2)."""

METINF_PAGE = (  # noqa: SIM905
    "Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf Next NextNonce SharedMem "
    "Size Type Version MaxObjSize FieldLevel"
).split()
"""Code page 1, tokens 0x05 upwards, in order (MetaInfo 1.2, 6)."""

METINF = "syncml:metinf"
PUBLIC_IDS = {
    0x0FD1: "-//SYNCML//DTD SyncML 1.0//EN",
    0x0FD3: "-//SYNCML//DTD SyncML 1.1//EN",
    0x1201: "-//SYNCML//DTD SyncML 1.2//EN",
}
"""The registered public identifiers of the SyncML DTDs (the WBXML header's publicid)."""
UNKNOWN_PUBLIC_ID = 0x01
UTF8 = 106  # the IANA MIBenum of UTF-8, the only charset SyncML DM uses
MAX_DEPTH = 32

_SWITCH_PAGE, _END, _ENTITY, _STR_I, _LITERAL = 0x00, 0x01, 0x02, 0x03, 0x04
_STR_T, _OPAQUE = 0x83, 0xC3
_CONTENT, _ATTRIBUTES = 0x40, 0x80
_TOKENS = {
    **{(0, name): code for code, name in enumerate(SYNCML_PAGE, start=5)},
    **{(1, name): code for code, name in enumerate(METINF_PAGE, start=5)},
}
_NAMES = {(page, code): name for (page, name), code in _TOKENS.items()}
_PAGE_OF = {name: page for page, name in _TOKENS}


class WbxmlError(MostateError, ValueError):
    """A byte string that is not a SyncML DM WBXML document."""


def is_wbxml(data: bytes) -> bool:
    """WBXML starts with its version byte (1.0 to 1.3); XML starts with ``<``, a BOM or space.

    >>> is_wbxml(bytes([0x02, 0x00, 0x00, 0x6A])), is_wbxml(b"<SyncML/>")
    (True, False)
    """
    return data[:1] in (b"\x00", b"\x01", b"\x02", b"\x03")


def decode(data: bytes) -> tuple[Element, str]:
    """The element tree of a WBXML document, and its public identifier.

    >>> root, public_id = decode(bytes.fromhex("02 a4 01 6a 00 6d 6c 71 03 31 2e 32 00 01 01 01"))
    >>> public_id, root.tag, root[0][0].text
    ('-//SYNCML//DTD SyncML 1.2//EN', '{SYNCML:SYNCML1.2}SyncML', '1.2')
    """
    return _Decoder(data).document()


def encode(root: Element, public_id: int = 0x1201) -> bytes:
    """The WBXML bytes of an element tree of SyncML DM elements (UTF-8, no string table).

    Text is written inline, or as opaque data where it holds a NUL, which an inline string
    cannot carry. Elements of either code page may appear anywhere; whitespace between
    elements is dropped, as XML-to-WBXML converters do.

    >>> from xml.etree.ElementTree import fromstring
    >>> encode(fromstring("<SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr></SyncML>")).hex(" ")
    '02 a4 01 6a 00 6d 6c 71 03 31 2e 32 00 01 01 01'
    """
    out = bytearray([0x02])
    out += _mb_u_int32(public_id)
    out += _mb_u_int32(UTF8)
    out += _mb_u_int32(0)  # no string table
    page = [0]
    _encode_element(out, root, page)
    return bytes(out)


def _encode_element(out: bytearray, el: Element, page: list[int]) -> None:
    name = el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""
    if name not in _PAGE_OF:
        raise WbxmlError(f"<{name}> has no WBXML token in SyncML DM")
    if _PAGE_OF[name] != page[0]:
        page[0] = _PAGE_OF[name]
        out += bytes([_SWITCH_PAGE, page[0]])
    text = el.text if el.text and (len(el) == 0 or el.text.strip()) else None
    token = _TOKENS[page[0], name]
    if text is None and len(el) == 0:
        out.append(token)
        return
    out.append(token | _CONTENT)
    if text is not None:
        _encode_text(out, text)
    for child in el:
        _encode_element(out, child, page)
        if child.tail and child.tail.strip():
            _encode_text(out, child.tail)
    out.append(_END)


def _encode_text(out: bytearray, text: str) -> None:
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        out.append(_OPAQUE)
        out += _mb_u_int32(len(raw))
        out += raw
    else:
        out.append(_STR_I)
        out += raw + b"\x00"


def _mb_u_int32(value: int) -> bytes:
    """WBXML's variable-length unsigned integer: 7 bits a byte, high bit set on all but the
    last. ``_mb_u_int32(0x1201)`` is ``a4 01``."""
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


class _Decoder:
    """One pass over the bytes; ``pos`` only moves forward, so decoding is linear."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0
        self.strings = b""

    def document(self) -> tuple[Element, str]:
        version = self._byte("the version")
        if version > 0x03:
            raise WbxmlError(f"WBXML version byte 0x{version:02x} is not 1.0 to 1.3")
        public = self._int("the public identifier")
        index = self._int("the public identifier's index") if public == 0 else None
        charset = self._int("the charset")
        if charset not in (0, UTF8):
            raise WbxmlError(f"charset {charset} is not UTF-8 (106)")
        size = self._int("the string table's length")
        self.strings = self._take(size, "the string table")
        public_id = self._string_at(index) if index is not None else PUBLIC_IDS.get(public)
        if public_id is None and public != UNKNOWN_PUBLIC_ID:
            raise WbxmlError(f"public identifier 0x{public:x} is not a SyncML DTD")
        if public_id is not None and not public_id.startswith("-//SYNCML//DTD SyncML "):
            raise WbxmlError(f"public identifier {public_id!r} is not a SyncML DTD")
        version_tag = (public_id or "SyncML 1.2").rpartition("SyncML ")[2][:3]
        root = self._tree(f"SYNCML:SYNCML{version_tag}")
        if self.pos != len(self.data):
            raise WbxmlError(f"{len(self.data) - self.pos} bytes after the root element")
        return root, public_id or PUBLIC_IDS[0x1201]

    def _tree(self, namespace: str) -> Element:
        page = 0
        stack: list[Element] = []
        root: Element | None = None
        for token, where in self._tokens():
            if token == _SWITCH_PAGE:
                page = self._byte("a code page")
                if page not in (0, 1):
                    raise WbxmlError(f"byte {where}: code page {page} is not SyncML or MetInf")
            elif token == _END:
                if not stack:
                    raise WbxmlError(f"byte {where}: END outside any element")
                done = stack.pop()
                if not stack:
                    return done
            elif token in (_STR_I, _STR_T, _OPAQUE, _ENTITY):
                if not stack:
                    raise WbxmlError(f"byte {where}: text outside the root element")
                _append_text(stack[-1], self._text(token))
            elif token & 0x3F >= 5 and not token & _ATTRIBUTES:
                name = _NAMES.get((page, token & 0x3F))
                if name is None:
                    raise WbxmlError(f"byte {where}: unknown tag 0x{token:02x} on page {page}")
                tag = f"{{{METINF if page == 1 else namespace}}}{name}"
                if stack:
                    el = SubElement(stack[-1], tag)
                elif root is None:
                    el = root = Element(tag)
                else:
                    raise WbxmlError(f"byte {where}: a second root element")
                if token & _CONTENT:
                    if len(stack) >= MAX_DEPTH:
                        raise WbxmlError(f"byte {where}: elements nested deeper than {MAX_DEPTH}")
                    stack.append(el)
                elif not stack:
                    return el
            else:
                raise WbxmlError(f"byte {where}: token 0x{token:02x} is not used in SyncML DM")
        raise WbxmlError(
            "the document ends " + ("inside an element" if root else "before its root")
        )

    def _tokens(self) -> Iterator[tuple[int, int]]:
        while self.pos < len(self.data):
            where = self.pos
            yield self._byte("a token"), where

    def _text(self, token: int) -> str:
        if token == _STR_I:
            end = self.data.find(b"\x00", self.pos)
            if end < 0:
                raise WbxmlError(f"byte {self.pos}: an inline string without its NUL")
            raw, self.pos = self.data[self.pos : end], end + 1
        elif token == _STR_T:
            return self._string_at(self._int("a string table reference"))
        elif token == _ENTITY:
            code = self._int("a character entity")
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise WbxmlError(f"character entity {code} is not a character")
            return chr(code)
        else:
            raw = self._take(self._int("an opaque length"), "opaque data")
        return _utf8(raw, self.pos)

    def _string_at(self, offset: int) -> str:
        if offset >= len(self.strings):
            raise WbxmlError(f"string table reference {offset} is outside the table")
        end = self.strings.find(b"\x00", offset)
        if end < 0:  # the last string may lack its NUL (AOSP's public identifiers do)
            end = len(self.strings)
        return _utf8(self.strings[offset:end], self.pos)

    def _byte(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise WbxmlError(f"the document ends before {what}")
        self.pos += 1
        return self.data[self.pos - 1]

    def _int(self, what: str) -> int:
        value = 0
        for _ in range(5):  # 5 x 7 bits hold any 32-bit value
            byte = self._byte(what)
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                return value
        raise WbxmlError(f"byte {self.pos}: {what} is longer than 32 bits")

    def _take(self, size: int, what: str) -> bytes:
        if size > len(self.data) - self.pos:
            raise WbxmlError(f"byte {self.pos}: {what} of {size} bytes runs past the end")
        self.pos += size
        return self.data[self.pos - size : self.pos]


def _utf8(raw: bytes, where: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WbxmlError(f"byte {where}: text that is not UTF-8 (binary data)") from None


def _append_text(el: Element, text: str) -> None:
    if len(el):
        el[-1].tail = (el[-1].tail or "") + text
    else:
        el.text = (el.text or "") + text
