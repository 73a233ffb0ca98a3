"""Server side: build the package for a list of requests, and read what the device answered.

:meth:`Server.build` turns each server :class:`~mostate.model.Request` into one SyncML command:

===============================  ============================================================
request                          command
===============================  ============================================================
``add(params?)``                 Add of the instance node (Format ``node``, Type the MO URN)
                                 and of one leaf per parameter, in one command
``delete``                       Delete of the instance node
``replace(param, value)``        Replace of the parameter leaf
``set_active/default/locked``    Replace of the flag (``?prop=Active`` or ``Ext/CCS/Active``)
``get``                          Get of the three flags and of ``<instance>?list=StructData``
``get_active``, ``in_use``       Get of the service root (its children) and of the flags of
                                 every instance the server knows of
===============================  ============================================================

A request carrying ``confirm`` is wrapped in a Sequence after an Alert 1101 that asks the user.

A device that refuses ``?list=StructData`` with 406 (a DM 1.2 client such as libdmclient, whose
core refuses every ``?list=``) still answers ``get``: the server asks again leaf by leaf, in
further packages of the same session (:meth:`Server.next_round`): the instance node (its
children), then each child leaf, and the report is made of those answers. A query whose listing
names instances the server did not ask about (added by someone else, or before this session)
has their flags read the same way, in the next package, before the engine answers it.

:meth:`Server.read` reports, per request, the status and result. The answer to ``get_active`` and
``in_use`` is not computed here: the flags read from the device are put in a mirror state and the
engine answers the query on it (the rule is written once, in the spec). Instances the children
list shows but the server did not ask about make the answer incomplete; the report says so, and
the next package asks about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Seq
from typing import Any

import attrs

from ..engine import Engine
from ..errors import RequestError
from ..frozenmap import FrozenMap
from ..model import Actor, DeviceState, Instance, Request, Result, Role, Service, instance
from .codec import parse_package
from .messages import (
    Add,
    Alert,
    Command,
    Delete,
    Get,
    Item,
    Meta,
    Package,
    Replace,
    Sequence,
    Status,
    SyncHdr,
)
from .tree import FLAGS, FlagBinding, TreeConfig

_CHR = Meta("chr", "text/plain")
_BOOL = Meta("bool", "text/plain")
_QUERIES = ("get_active", "in_use")
_ACCEPTED = (200, 212)  # 212: authentication accepted (DM 1.2 RepPro, 10.2)


@attrs.frozen
class Sent:
    """What was sent for one request: the command answering it, and the URIs it reads."""

    request: Request
    cmd_id: str
    uris: tuple[str, ...] = ()


@attrs.frozen
class Report:
    """What the device did with one request, read from its response.

    >>> Report(Request(Actor.server(), "get_active", "MMS"), 200, "b").to_json()["result"]
    'b'
    """

    request: Request
    status: int | None
    result: Result = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        result = self.result.to_json() if isinstance(self.result, Instance) else self.result
        return {
            "request": self.request.to_json(),
            "status": self.status,
            "result": result,
            "note": self.note,
        }


class Server:
    """A DM server's side of a session with one device.

    >>> from mostate import Engine, load_spec
    >>> server = Server(Engine(load_spec()), server_id="srv1")
    >>> package, sent = server.build([Request(Actor.server("srv1"), "add", "MMS", "a")])
    >>> package.header.source, package.commands()[0].items[0].target
    ('srv1', './MMS/a')
    """

    def __init__(
        self,
        engine: Engine,
        tree: TreeConfig | None = None,
        *,
        server_id: str = "mostate",
        client: str = "device",
        session_id: str = "1",
        rounds: bool = False,
    ) -> None:
        """``rounds``: the caller sends :meth:`next_round`'s commands in later packages of the
        session (a :class:`~mostate.omadm.session.ServerSession` does), so a refused listing
        or a query's unknown instances are read then rather than reported at once."""
        self.engine = engine
        self.tree = tree if tree is not None else TreeConfig()
        self.server_id, self.client, self.session_id = server_id, client, session_id
        self.known: dict[str, set[str]] = {}
        self._msg_id = 0
        self.rounds = rounds
        self._leafwise: dict[str, _Leafwise] = {}
        self._requery: dict[str, _Requery] = {}
        self._round: tuple[tuple[str, Sent], ...] = ()
        self._next_id = 100_000  # CmdIDs of later rounds: apart from the campaign's

    def build(
        self, requests: Iterable[Request], *, first_id: int = 1
    ) -> tuple[Package, tuple[Sent, ...]]:
        """The package for these server requests, CmdIDs from ``first_id``; raises RequestError
        for a user request or one that has no SyncML form."""
        self._msg_id += 1
        ids = iter(range(first_id, first_id + 1_000_000))
        body: list[Command] = []
        sent: list[Sent] = []
        for request in requests:
            command, uris = self._command(request, str(next(ids)))
            sent.append(Sent(request, command.cmd_id, uris))
            if request.confirm is not None:
                alert = Alert(str(next(ids)), "1101", (Item(data="MAXDT=30"), _ask(request)))
                command = Sequence(str(next(ids)), (alert, command))
            body.append(command)
        header = SyncHdr(self.session_id, str(self._msg_id), self.client, self.server_id)
        return Package(header, tuple(body)), tuple(sent)

    def _command(self, r: Request, cid: str) -> tuple[Command, tuple[str, ...]]:
        if r.actor.role is not Role.SERVER:
            raise RequestError(f"{r.op}: a user request is not sent over SyncML")
        if r.service is None or (r.instance is None and r.op not in _QUERIES):
            raise RequestError(f"{r.op}: 'service' and 'instance' are needed")
        tree, service, name = self.tree, r.service, r.instance or ""
        inst_uri = tree.instance_uri(service, name)
        match r.op:
            case "add":
                self.known.setdefault(service, set()).add(name)
                # An empty Data, as AOSP's servers send: libdmclient dereferences a missing one.
                node = Item(inst_uri, meta=Meta("node", tree.root(service).mo_type), data="")
                params = _params(r)
                leaves = [Item(f"{inst_uri}/{k}", meta=_CHR, data=v) for k, v in params.items()]
                return Add(cid, (node, *leaves)), ()
            case "delete":
                return Delete(cid, (Item(inst_uri),)), ()
            case "replace":
                param, value = _str_arg(r, "param"), _str_arg(r, "value")
                return Replace(cid, (Item(f"{inst_uri}/{param}", meta=_CHR, data=value),)), ()
            case "set_active" | "set_default" | "set_locked":
                flag = r.op.removeprefix("set_").capitalize()
                data = "true" if _bool_arg(r) else "false"
                uri = tree.flag_uri(service, name, flag)
                return Replace(cid, (Item(uri, meta=_BOOL, data=data),)), ()
            case "get":
                uris = (*(tree.flag_uri(service, name, f) for f in FLAGS), inst_uri)
                items = (*(Item(u) for u in uris[:3]), Item(f"{inst_uri}?list=StructData"))
                return Get(cid, items), uris
            case "get_active" | "in_use":
                root = tree.root(service).path
                names = sorted(self.known.get(service, ()))
                uris = (root, *(tree.flag_uri(service, n, f) for n in names for f in FLAGS))
                return Get(cid, tuple(Item(u) for u in uris)), uris
            case _:
                raise RequestError(f"{r.op}: no SyncML DM form for this operation")

    def read(self, sent: Iterable[Sent], response: Package | str | bytes) -> tuple[Report, ...]:
        """What happened to each request; raises PackageError when the response is unreadable."""
        package = response if isinstance(response, Package) else parse_package(response)
        header = [s for s in package.statuses() if s.cmd_ref == "0"]
        if header and header[0].code not in _ACCEPTED:
            why = header[0].items[0].data if header[0].items else None
            return tuple(Report(s.request, header[0].code, note=why) for s in sent)
        statuses: dict[str, list[Status]] = {}
        for status in package.statuses():
            statuses.setdefault(status.cmd_ref, []).append(status)
        found: dict[str, dict[str, Item]] = {}
        for results in package.results():
            by_uri = found.setdefault(results.cmd_ref, {})
            by_uri.update((i.source or "", i) for i in results.items)
        return tuple(
            self._report(s, statuses.get(s.cmd_id, []), found.get(s.cmd_id, {})) for s in sent
        )

    def _report(self, sent: Sent, statuses: list[Status], items: dict[str, Item]) -> Report:
        request = sent.request
        statuses = [s for s in statuses if s.code != 213]  # a chunk accepted, the rest to come
        if not statuses:
            return Report(request, None, note=f"no Status for command {sent.cmd_id}")
        if request.op in _QUERIES:
            return self._query(sent, statuses, items)
        code = next((s.code for s in statuses if s.code != 200), 200)
        if request.op == "get" and self.rounds and self._refused_listing(sent, statuses, items):
            return Report(request, None, note=LEAFWISE)
        if request.op != "get" or code != 200:
            return Report(request, code, note=_unsupported(request, statuses))
        flags = [_flag(items.get(uri)) for uri in sent.uris[: len(FLAGS)]]
        prefix = sent.uris[len(FLAGS)] + "/"
        params = {
            uri.removeprefix(prefix): item.data or ""
            for uri, item in items.items()
            if uri.startswith(prefix) and "/" not in uri.removeprefix(prefix) and not _node(item)
        }
        return Report(request, 200, instance((f is True for f in flags), FrozenMap(params)))

    def _refused_listing(self, sent: Sent, statuses: list[Status], items: dict[str, Item]) -> bool:
        """Whether the device refused ``?list=StructData`` (406) and answered the flags: the
        instance is then read leaf by leaf (kept for :meth:`next_round`)."""
        listing = f"{sent.uris[len(FLAGS)]}?list=StructData"
        refused = any(s.code == 406 and listing in s.target_refs for s in statuses)
        others = [s for s in statuses if listing not in s.target_refs]
        if not refused or any(s.code != 200 for s in others):
            return False
        flags = tuple(_flag(items.get(uri)) for uri in sent.uris[: len(FLAGS)])
        self._leafwise[sent.cmd_id] = _Leafwise(sent, flags)
        return True

    def next_round(self) -> tuple[Command, ...]:
        """The commands of the next round of a leaf-by-leaf read (none when no read is
        left): the instance nodes not listed yet, or the leaves of those that were."""
        commands: list[Command] = []
        round_: list[tuple[str, Sent]] = []
        for key, read in self._leafwise.items():
            if read.done:
                continue
            inst = read.sent.uris[len(FLAGS)]
            uris = (inst,) if read.children is None else tuple(f"{inst}/{c}" for c in read.children)
            self._next_id += 1
            cid = str(self._next_id)
            commands.append(Get(cid, tuple(Item(u) for u in uris)))
            round_.append((key, Sent(read.sent.request, cid, uris)))
        for key, again in self._requery.items():
            if again.done:
                continue
            service = again.sent.request.service
            assert service is not None
            uris = tuple(self.tree.flag_uri(service, n, f) for n in again.missing for f in FLAGS)
            self._next_id += 1
            cid = str(self._next_id)
            commands.append(Get(cid, tuple(Item(u) for u in uris)))
            round_.append((key, Sent(again.sent.request, cid, uris)))
        self._round = tuple(round_)
        return tuple(commands)

    def read_round(self, response: Package) -> None:
        """Take in the device's answer to the round :meth:`next_round` made."""
        found: dict[str, Item] = {}
        for results in response.results():
            found.update((i.source or "", i) for i in results.items)
        codes = {s.cmd_ref: s.code for s in response.statuses() if s.code != 200}
        for key, sent in self._round:
            if key in self._requery:
                self._requery[key] = self._requeried(self._requery[key], found)
                continue
            read = self._leafwise[key]
            if sent.cmd_id in codes or (read.children is None and sent.uris[0] not in found):
                self._leafwise[key] = attrs.evolve(read, done=True, failed=codes.get(sent.cmd_id))
            elif read.children is None:
                listed = found[sent.uris[0]].data or ""
                leaves = self.tree.flags is FlagBinding.LEAVES
                names = tuple(n for n in listed.split("/") if n and not (leaves and n == "Ext"))
                self._leafwise[key] = attrs.evolve(read, children=names, done=not names)
            else:
                values = {
                    u.rpartition("/")[2]: (found[u].data or "") for u in sent.uris if u in found
                }
                self._leafwise[key] = attrs.evolve(read, params=FrozenMap(values), done=True)
        self._round = ()

    def _requeried(self, again: _Requery, found: dict[str, Item]) -> _Requery:
        """A query's mirror with the flags a later round read."""
        service = again.sent.request.service
        assert service is not None
        mirror = dict(again.mirror.items())
        for name in again.missing:
            flags = [_flag(found.get(self.tree.flag_uri(service, name, f))) for f in FLAGS]
            if None not in flags:
                mirror[name] = Instance(flags[0] is True, flags[1] is True, flags[2] is True)
        missing = tuple(n for n in again.missing if n not in mirror)
        return attrs.evolve(again, mirror=FrozenMap(mirror), missing=missing, done=True)

    def leafwise(self, reports: tuple[Report, ...]) -> tuple[Report, ...]:
        """``reports`` with each later-round read's own report in its place: a ``get`` read
        leaf by leaf, a query whose flags were read in a later round."""
        by_request = {read.sent.request: read for read in self._leafwise.values()}
        queries = {again.sent.request: again for again in self._requery.values()}
        out = []
        for report in reports:
            again = queries.get(report.request) if report.note == REQUERY else None
            if again is not None:
                out.append(self._answer_query(again.sent.request, 200, again.mirror, again.missing))
                continue
            read = by_request.get(report.request) if report.note == LEAFWISE else None
            if read is None:
                out.append(report)
            elif read.failed is not None or not read.done:
                out.append(Report(report.request, read.failed, note="leaf-by-leaf read failed"))
            else:
                inst = instance((f is True for f in read.flags), read.params)
                out.append(Report(report.request, 200, inst))
        return tuple(out)

    def _query(self, sent: Sent, statuses: list[Status], items: dict[str, Item]) -> Report:
        request, root = sent.request, sent.uris[0]
        assert request.service is not None
        code = next((s.code for s in statuses if root in s.target_refs), statuses[0].code)
        listing = items.get(root)
        if code != 200 or listing is None:
            return Report(request, code)
        names = [n for n in (listing.data or "").split("/") if n]
        self.known[request.service] = set(names)
        mirror: dict[str, Instance] = {}
        for name in names:
            uris = [self.tree.flag_uri(request.service, name, f) for f in FLAGS]
            flags = [_flag(items.get(uri)) for uri in uris]
            if None not in flags:
                mirror[name] = Instance(flags[0] is True, flags[1] is True, flags[2] is True)
        unsupported = _unsupported(request, statuses)
        if unsupported:
            return Report(request, code, note=unsupported)
        missing = tuple(sorted(set(names) - set(mirror)))
        if missing and self.rounds and sent.cmd_id not in self._requery:
            self._requery[sent.cmd_id] = _Requery(sent, FrozenMap(mirror), missing)
            return Report(request, None, note=REQUERY)
        return self._answer_query(request, code, mirror, missing)

    def _answer_query(
        self, request: Request, code: int, mirror: Mapping[str, Instance], missing: Seq[str]
    ) -> Report:
        """The engine's answer to a query on the flags read (the rule is the spec's)."""
        assert request.service is not None
        state = DeviceState().with_service(request.service, Service(FrozenMap(mirror)))
        query = Request(Actor.server(self.server_id), request.op, request.service)
        outcome = self.engine.apply(state, query)
        note = f"incomplete: flags of {list(missing)} not read; ask again" if missing else None
        return Report(request, code, outcome.result, note)


NOT_CCS = "the device does not support Configuration Context Status"
LEAFWISE = "?list=StructData refused (406): read leaf by leaf"
REQUERY = "instances the server did not know of: their flags read in a later round"


@attrs.frozen
class _Requery:
    """A query whose listing named instances whose flags were not asked: asked next round."""

    sent: Sent
    mirror: FrozenMap[str, Instance]
    missing: tuple[str, ...]
    done: bool = False


@attrs.frozen
class _Leafwise:
    """A ``get`` read leaf by leaf: its flags, then its children, then its parameters."""

    sent: Sent
    flags: tuple[bool | None, ...]
    children: tuple[str, ...] | None = None
    params: FrozenMap[str, str] = FrozenMap()
    done: bool = False
    failed: int | None = None


def _unsupported(request: Request, statuses: list[Status]) -> str | None:
    """The note for a device that refuses the CCS flags themselves: 405 or 406 on a
    ``?prop=`` or ``Ext/CCS`` URI (a generic DM 1.2 device), which asking again will not mend."""
    if request.op in ("add", "delete", "replace"):
        return None
    flagged = any(
        s.code in (405, 406) and any("?prop=" in t or "/Ext/CCS/" in t for t in s.target_refs)
        for s in statuses
    )
    return NOT_CCS if flagged else None


def _flag(item: Item | None) -> bool | None:
    if item is None or item.data not in ("true", "false"):
        return None
    return item.data == "true"


def _node(item: Item) -> bool:
    return item.meta is not None and item.meta.format == "node"


def _ask(request: Request) -> Item:
    target = "/".join(p for p in (request.service, request.instance) if p)
    return Item(data=f"Allow {request.op} on {target}?")


def _params(r: Request) -> FrozenMap[str, str]:
    value = r.args.get("params")
    if value is None:
        return FrozenMap()
    if not isinstance(value, FrozenMap):
        raise RequestError(f"{r.op}: 'params' must be an object of strings")
    return value


def _str_arg(r: Request, key: str) -> str:
    value = r.args.get(key)
    if not isinstance(value, str):
        raise RequestError(f"{r.op}: {key!r} must be a string")
    return value


def _bool_arg(r: Request) -> bool:
    value = r.args.get("value")
    if not isinstance(value, bool):
        raise RequestError(f"{r.op}: 'value' must be true or false")
    return value
