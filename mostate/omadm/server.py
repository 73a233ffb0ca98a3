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

:meth:`Server.read` reports, per request, the status and result. The answer to ``get_active`` and
``in_use`` is not computed here: the flags read from the device are put in a mirror state and the
engine answers the query on it (the rule is written once, in the spec). Instances the children
list shows but the server did not ask about make the answer incomplete; the report says so, and
the next package asks about them.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from .tree import FLAGS, TreeConfig

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
    ) -> None:
        self.engine = engine
        self.tree = tree if tree is not None else TreeConfig()
        self.server_id, self.client, self.session_id = server_id, client, session_id
        self.known: dict[str, set[str]] = {}
        self._msg_id = 0

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
        missing = sorted(set(names) - set(mirror))
        state = DeviceState().with_service(request.service, Service(FrozenMap(mirror)))
        query = Request(Actor.server(self.server_id), request.op, request.service)
        outcome = self.engine.apply(state, query)
        note = f"incomplete: flags of {missing} not read; ask again" if missing else None
        return Report(request, code, outcome.result, note)


NOT_CCS = "the device does not support Configuration Context Status"


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
