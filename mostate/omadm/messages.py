"""SyncML DM 1.2 messages as small frozen values: what the codec reads and writes.

These are protocol types and stay in :mod:`mostate.omadm`; the engine never sees them. Every
value is an ``@attrs.frozen`` class with tuple fields, so packages compare, hash and round-trip
(``parse_package(write_package(p)) == p``). Only the parts of SyncML DM that a Configuration
Context Status client needs are modelled: the header, the commands a server sends (Add, Replace,
Delete, Get, Exec, Copy, Alert, Atomic, Sequence) and the Status and Results a client answers with.
"""

from __future__ import annotations

import enum
from typing import ClassVar, TypeAlias

import attrs


class Code(enum.IntEnum):
    """The SyncML DM status codes this binding answers with (engine codes included)."""

    OK = 200
    CHUNK_ACCEPTED = 213
    CANCELLED = 214
    NOT_EXECUTED = 215
    ROLLED_BACK = 216
    NOT_MODIFIED = 304
    BAD_REQUEST = 400
    NOT_FOUND = 404
    NOT_ALLOWED = 405
    NOT_SUPPORTED = 406
    TIMEOUT = 408
    ALREADY_EXISTS = 418
    TOO_LARGE = 413
    SIZE_MISMATCH = 424
    PERMISSION_DENIED = 425
    COMMAND_FAILED = 500
    ATOMIC_FAILED = 507


class AlertCode(enum.IntEnum):
    """The server-to-client alerts of DM 1.2 user interaction."""

    DISPLAY = 1100
    CONFIRM = 1101


@attrs.frozen
class Meta:
    """The Meta of a command or item: Format (``node``, ``chr``, ``bool``...) and MIME Type.

    >>> Meta("chr", "text/plain").format
    'chr'
    """

    format: str | None = None
    type: str | None = None
    size: str | None = None  # of a large object, in bytes, on its first chunk


@attrs.frozen
class Item:
    """One Item: the node it targets (or comes from), its Meta and its Data.

    >>> Item(target="./MMS/a/MMSC", data="http://mmsc").data
    'http://mmsc'
    """

    target: str | None = None
    source: str | None = None
    meta: Meta | None = None
    data: str | None = None
    more_data: bool = False  # a chunk of a large object; the rest comes in the next messages


@attrs.frozen
class Cred:
    """Credentials in a header: ``type`` ``syncml:auth-basic`` or ``syncml:auth-md5``, and the
    Base64 ``data`` (see :mod:`mostate.omadm.auth`)."""

    type: str
    data: str
    format: str | None = "b64"


@attrs.frozen
class Chal:
    """A challenge in the Status of a header: authenticate with ``type``, using ``next_nonce``
    (Base64) as the nonce of the next MD5 digest."""

    type: str
    next_nonce: str | None = None
    format: str | None = "b64"


@attrs.frozen
class SyncHdr:
    """The header of a package: session, message number, and who sends it to whom.

    ``source`` is the sender's LocURI; for a server package it is the server id that ACLs name.

    >>> SyncHdr("1", "1", target="device", source="srv1").ver_proto
    'DM/1.2'
    """

    session_id: str
    msg_id: str
    target: str
    source: str
    ver_dtd: str = "1.2"
    ver_proto: str = "DM/1.2"
    resp_uri: str | None = None
    max_msg_size: str | None = None
    cred: Cred | None = None


@attrs.frozen
class ItemCommand:
    """A command made of items: the shared shape of Add, Replace, Delete, Get, Exec and Copy.

    ``no_resp``: the server asks for no Status (RepPro 1.2, NoResp).
    """

    NAME: ClassVar[str] = ""

    cmd_id: str
    items: tuple[Item, ...]
    meta: Meta | None = None
    no_resp: bool = False


@attrs.frozen
class Add(ItemCommand):
    """Add nodes (an interior node under a service root adds an MO instance).

    >>> Add("2", (Item(target="./MMS/new", meta=Meta("node")),)).NAME
    'Add'
    """

    NAME: ClassVar[str] = "Add"


@attrs.frozen
class Replace(ItemCommand):
    """Replace a leaf's value or a node property."""

    NAME: ClassVar[str] = "Replace"


@attrs.frozen
class Delete(ItemCommand):
    """Delete a leaf or an interior node."""

    NAME: ClassVar[str] = "Delete"


@attrs.frozen
class Get(ItemCommand):
    """Read a leaf, a node's children or a node property."""

    NAME: ClassVar[str] = "Get"


@attrs.frozen
class Exec(ItemCommand):
    """Execute a node (no CCS node is executable)."""

    NAME: ClassVar[str] = "Exec"


@attrs.frozen
class Copy(ItemCommand):
    """Copy a node to another URI: optional in DM 1.2, and not supported here (406)."""

    NAME: ClassVar[str] = "Copy"


@attrs.frozen
class Alert:
    """A server alert: ``code`` is its Data (1100 display, 1101 confirm); items carry options
    (``MINDT=10&MAXDT=30``) and the text to show.

    >>> Alert("3", "1101", (Item(data="MAXDT=30"), Item(data="Switch MMS?"))).code
    '1101'
    """

    NAME: ClassVar[str] = "Alert"

    cmd_id: str
    code: str
    items: tuple[Item, ...] = ()


@attrs.frozen
class Atomic:
    """Commands executed all or nothing."""

    NAME: ClassVar[str] = "Atomic"

    cmd_id: str
    commands: tuple[Command, ...]
    meta: Meta | None = None


@attrs.frozen
class Sequence:
    """Commands executed in the order given."""

    NAME: ClassVar[str] = "Sequence"

    cmd_id: str
    commands: tuple[Command, ...]
    meta: Meta | None = None


@attrs.frozen
class Status:
    """The answer to one command (or to the header: ``cmd_ref`` "0", ``cmd`` "SyncHdr").

    >>> Status("2", "1", "4", "Replace", 425, target_refs=("./MMS/a?prop=Locked",)).code
    425
    """

    NAME: ClassVar[str] = "Status"

    cmd_id: str
    msg_ref: str
    cmd_ref: str
    cmd: str
    code: int = attrs.field(converter=int)  # a plain int, even when given a Code
    target_refs: tuple[str, ...] = ()
    source_refs: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    chal: Chal | None = None


@attrs.frozen
class Results:
    """What a Get read: one item per node, with its Source URI, Meta and Data."""

    NAME: ClassVar[str] = "Results"

    cmd_id: str
    msg_ref: str
    cmd_ref: str
    items: tuple[Item, ...] = ()


Command: TypeAlias = "Add | Replace | Delete | Get | Exec | Copy | Alert | Atomic | Sequence"
BodyElement: TypeAlias = "Command | Status | Results"


@attrs.frozen
class Package:
    """A SyncML DM message: a header and a body of commands, statuses and results.

    >>> p = Package(SyncHdr("1", "1", "device", "srv1"), (Get("2", (Item("./MMS"),)),))
    >>> p.commands()[0].NAME, p.final
    ('Get', True)
    """

    header: SyncHdr
    body: tuple[BodyElement, ...] = ()
    final: bool = True

    def commands(self) -> tuple[Command, ...]:
        """The body's commands, leaving out any Status and Results."""
        return tuple(e for e in self.body if not isinstance(e, Status | Results))

    def statuses(self) -> tuple[Status, ...]:
        return tuple(e for e in self.body if isinstance(e, Status))

    def results(self) -> tuple[Results, ...]:
        return tuple(e for e in self.body if isinstance(e, Results))
