"""Device-side processing: a server package in, the next state and the response package out.

:meth:`Device.process` runs the commands in order with the protocol's own rules:

* **Atomic** is all or nothing: when a member fails, the following members are not executed
  (215), those already executed answer 216 (rolled back), their Results are dropped, the Atomic
  answers 507 and the state is the one before the Atomic.
* **Sequence** runs its members in order and answers 200.
* **Alert 1100** shows its text (200). **Alert 1101** asks the ``ui``: yes 200, no 304, cancel
  214, timeout 408. The answer covers the commands after the alert in the same container
  (the package body, a Sequence or an Atomic) and in containers nested after it: they reach the
  engine with ``confirm=accept`` or ``confirm=decline``, and the engine's confirmation point
  answers 215 for a declined request, *after* its own checks (so a missing instance is still
  404, as the spec and scenario ``alternative-2`` say). Inside an Atomic, a No fails the Atomic
  at once, so its other members are not executed (215), as the AOSP client answers.
* ACLs are checked per item, with the server id, before the engine runs (425).

A package that does not parse, or that uses a CmdID twice (RepPro 1.2: unique within the
message), gets a SyncHdr Status 400 (the reason in an Item) and nothing is executed. Bad input
never raises and never changes the state.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from typing import Protocol, assert_never

import attrs

from ..engine import Engine
from ..frozenmap import FrozenMap
from ..model import Actor, Confirm, DeviceState
from .codec import PackageError, parse_package, salvage_header, unique_ids
from .mapping import Ask, Plan, Reply, add_with_params, after, plan, render
from .messages import (
    Add,
    Alert,
    AlertCode,
    Atomic,
    Code,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    ItemCommand,
    Meta,
    Package,
    Replace,
    Results,
    Sequence,
    Status,
    SyncHdr,
)
from .tree import InstanceNode, ParamNode, Target, TreeConfig, UriError

log = logging.getLogger(__name__)


class Answer(enum.Enum):
    """The user's answer to a confirmation alert (1101), in the words traces use for a request's
    ``confirm`` (accept, decline), plus what only the protocol has: cancel and no answer at all.

    >>> Answer.parse("no"), Answer.parse("accept"), Answer.of(Confirm.DECLINE)
    (<Answer.DECLINE: 'decline'>, <Answer.ACCEPT: 'accept'>, <Answer.DECLINE: 'decline'>)
    """

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    TIMEOUT = "timeout"

    @classmethod
    def parse(cls, text: str) -> Answer:
        """An answer by its word; ``yes`` and ``no`` are read as accept and decline."""
        return cls(_ALIASES.get(text, text))

    @classmethod
    def of(cls, confirm: Confirm) -> Answer:
        """The answer a trace's ``confirm`` stands for."""
        return cls.ACCEPT if confirm is Confirm.ACCEPT else cls.DECLINE


_ALIASES = {"yes": "accept", "no": "decline"}


_ANSWERS = {
    Answer.ACCEPT: (Code.OK, Confirm.ACCEPT),
    Answer.DECLINE: (Code.NOT_MODIFIED, Confirm.DECLINE),
    Answer.CANCEL: (Code.CANCELLED, Confirm.DECLINE),
    Answer.TIMEOUT: (Code.TIMEOUT, Confirm.DECLINE),
}


@attrs.frozen
class Prompt:
    """What the device shows its user for an alert: the text and the alert's options."""

    alert: AlertCode
    text: str
    options: str = ""


class Ui(Protocol):
    """The device's user interface: shows a prompt and returns the user's answer (ignored
    for a display alert). Any callable of that shape will do, e.g. :func:`answering`."""

    def __call__(self, prompt: Prompt, /) -> Answer: ...


def answering(*answers: Answer, then: Answer = Answer.TIMEOUT) -> Ui:
    """A scripted user: gives ``answers`` in turn, then ``then`` for ever.

    >>> ui = answering(Answer.DECLINE)
    >>> ui(Prompt(AlertCode.CONFIRM, "?")), ui(Prompt(AlertCode.CONFIRM, "?"))
    (<Answer.DECLINE: 'decline'>, <Answer.TIMEOUT: 'timeout'>)
    """
    queue = list(answers)

    def ui(prompt: Prompt) -> Answer:
        del prompt
        return queue.pop(0) if queue else then

    return ui


NO_USER: Ui = answering()
"""No one answers: every confirmation times out (408)."""


class Device:
    """A DM client for one spec and one tree configuration.

    >>> from mostate import Engine, load_spec, DeviceState
    >>> from mostate.omadm.messages import Package, SyncHdr, Add, Item, Meta
    >>> device = Device(Engine(load_spec()))
    >>> add = Add("2", (Item("./MMS/a", meta=Meta("node")),))
    >>> package = Package(SyncHdr("1", "1", "d", "s"), (add,))
    >>> state, response = device.process(DeviceState(), package)
    >>> [(s.cmd, s.code) for s in response.statuses()], list(state.service("MMS").instances)
    ([('SyncHdr', 200), ('Add', 200)], ['a'])
    """

    def __init__(
        self,
        engine: Engine,
        tree: TreeConfig | None = None,
        *,
        fixed: Mapping[str, str] | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> None:
        """``fixed``: read-only leaves outside the CCS services, by URI (``./DevInfo/DevId``),
        answered to Get (their parents list them) and 405 to anything else. ``accounts``: the
        DMAcc ServerID of each server, by the Source LocURI its packages carry (often its URL),
        which is the name ACLs give it."""
        self.engine = engine
        self.tree = tree if tree is not None else TreeConfig()
        self.fixed = dict(fixed or {})
        self.accounts = dict(accounts or {})
        self._interior = _interior_nodes(self.fixed)

    def process(
        self,
        state: DeviceState,
        package: Package | str | bytes,
        server_id: str | None = None,
        ui: Ui = NO_USER,
        chunks: dict[str, Held] | None = None,
    ) -> tuple[DeviceState, Package]:
        """Run a server package; the server id defaults to the DMAcc ServerID of the header's
        Source LocURI (``accounts``), else to that LocURI itself.

        ``chunks`` holds the large objects that arrive over several messages of a session
        (items with MoreData): pass the same dict for every message of one session."""
        if not isinstance(package, Package):
            raw = package
            try:
                package = parse_package(raw)
            except PackageError as err:
                log.info("refused a package: %s", err)
                return state, refusal(salvage_header(raw), str(err))
        else:
            try:
                unique_ids(package)  # parse_package checks the packages it reads
            except PackageError as err:
                log.info("refused a package: %s", err)
                return state, refusal(package.header, str(err))
        source = package.header.source
        run = _Run(self, state, package.header, server_id or self.accounts.get(source, source), ui)
        run.chunks = chunks if chunks is not None else {}
        covered: Confirm | None = None
        for command in package.commands():
            _, covered = run.command(command, covered)
        return run.state, run.response()


MAX_OBJECT = 1_000_000
"""The largest object, in bytes, reassembled from chunks (413 beyond)."""


@attrs.frozen
class Held:
    """The chunks of a large object received so far, and the size its first chunk announced."""

    size: int | None
    data: str


def refusal(header: SyncHdr, reason: str) -> Package:
    """The answer to a package that cannot be read: a SyncHdr Status 400 saying why."""
    status = _header_status(header, Code.BAD_REQUEST, (Item(data=reason),))
    return Package(_reply_header(header), (status,))


def unsaved(answered: Package, reason: str) -> Package:
    """What a device answers when it could not save the state a package produced: a SyncHdr
    Status 500 saying why, and no command reported done (nothing was kept)."""
    header = attrs.evolve(
        answered.statuses()[0], code=Code.COMMAND_FAILED, items=(Item(data=reason),)
    )
    return Package(answered.header, (header,))


def _reply_header(header: SyncHdr) -> SyncHdr:
    return SyncHdr(header.session_id, header.msg_id, target=header.source, source=header.target)


def _header_status(header: SyncHdr, code: int, items: tuple[Item, ...] = ()) -> Status:
    return Status(
        "1", header.msg_id, "0", "SyncHdr", code, (header.target,), (header.source,), items
    )


class _Run:
    """One package being processed: the state so far and the answers written so far."""

    def __init__(
        self, device: Device, state: DeviceState, header: SyncHdr, server_id: str, ui: Ui
    ) -> None:
        self.engine, self.tree, self.ui = device.engine, device.tree, ui
        self.device = device
        self.state, self.header = state, header
        self.actor = Actor.server(server_id)
        self.out: list[Status | Results] = [_header_status(header, Code.OK)]
        self.chunks: dict[str, Held] = {}
        # The CmdID of the last element written: counted, not len(out), since a failed Atomic
        # drops its members' Results and the next element must not reuse one of the kept IDs.
        self._last_id = 1

    def response(self) -> Package:
        return Package(_reply_header(self.header), tuple(self.out))

    def _next_id(self) -> str:
        self._last_id += 1
        return str(self._last_id)

    def _status(self, cmd: Command | ItemCommand, code: int, targets: tuple[str, ...] = ()) -> int:
        ref = self._next_id()
        self.out.append(Status(ref, self.header.msg_id, cmd.cmd_id, cmd.NAME, int(code), targets))
        return len(self.out) - 1

    def _set_code(self, index: int, code: int) -> None:
        old = self.out[index]
        assert isinstance(old, Status)
        self.out[index] = attrs.evolve(old, code=int(code))

    def command(self, cmd: Command, covered: Confirm | None) -> tuple[int, Confirm | None]:
        """Run one command; its code (for Atomic) and the confirmation covering what follows."""
        match cmd:
            case Alert():
                return self._alert(cmd, covered)
            case Atomic():
                return self._atomic(cmd, covered), covered
            case Sequence():
                self._status(cmd, Code.OK)
                inner = covered
                for member in cmd.commands:
                    _, inner = self.command(member, inner)
                return int(Code.OK), covered
            case Copy():
                # Copy is optional for a DM 1.2 client: one Status, 406 "optional feature not
                # supported" (RepPro 1.2 status codes), and the package goes on. libdmclient
                # answers 501 "command not implemented"; never a refused package.
                return self._answer(cmd, Code.NOT_SUPPORTED), covered
            case Add() | Replace() | Delete() | Get() | Exec():
                return self._items(cmd, covered), covered
            case _:
                assert_never(cmd)

    def _alert(self, cmd: Alert, covered: Confirm | None) -> tuple[int, Confirm | None]:
        # ASCII digits, and few: isdigit() admits "¹¹⁰¹", which int() then refuses.
        code = int(cmd.code) if re.fullmatch(r"[0-9]{1,6}", cmd.code) else None
        if code not in (AlertCode.DISPLAY, AlertCode.CONFIRM):
            status = Code.NOT_SUPPORTED if code is not None else Code.BAD_REQUEST
            self._status(cmd, status)
            return int(status), covered
        alert = AlertCode(code)
        texts = [item.data or "" for item in cmd.items]
        prompt = Prompt(alert, texts[-1] if texts else "", texts[0] if len(texts) > 1 else "")
        answer = self._ask(prompt)
        if alert is AlertCode.DISPLAY:
            self._status(cmd, Code.OK)
            return int(Code.OK), covered
        status, confirm = _ANSWERS[answer]
        self._status(cmd, status)
        return int(status), confirm

    def _ask(self, prompt: Prompt) -> Answer:
        try:
            answer = self.ui(prompt)
        except Exception:  # the UI is the caller's code: its failure must not abort the package
            log.exception("the ui failed on %s; treated as a timeout", prompt)
            return Answer.TIMEOUT
        return answer if isinstance(answer, Answer) else Answer.TIMEOUT

    def _atomic(self, cmd: Atomic, covered: Confirm | None) -> int:
        before, index = self.state, self._status(cmd, Code.OK)
        failed = False
        for member in cmd.commands:
            if failed:
                self._status(member, Code.NOT_EXECUTED)
                continue
            code, covered = self.command(member, covered)
            failed = code not in (Code.OK, Code.CHUNK_ACCEPTED)
        if not failed:
            return int(Code.OK)
        self.state = before
        kept: list[Status | Results] = self.out[: index + 1]
        for element in self.out[index + 1 :]:
            if isinstance(element, Status):
                rolled = element.code == Code.OK
                kept.append(attrs.evolve(element, code=216) if rolled else element)
        self.out = kept
        self._set_code(index, Code.ATOMIC_FAILED)
        return int(Code.ATOMIC_FAILED)

    def _answer(self, cmd: ItemCommand, code: int) -> int:
        if not cmd.no_resp:
            self._status(cmd, code, tuple(i.target or "" for i in cmd.items))
        return int(code)

    def _items(self, cmd: ItemCommand, covered: Confirm | None) -> int:
        whole = self._reassemble(cmd)
        if isinstance(whole, int):
            return whole
        cmd = whole
        worst, results = int(Code.OK), list[Item]()
        groups = _groups(cmd, self.tree)
        for items, target in groups:
            code, found = self._group(cmd, items, target, covered)
            results.extend(found)
            if not cmd.no_resp:  # RepPro 1.2, NoResp: no Status for this command
                self._status(cmd, code, tuple(i.target or "" for i in items))
            worst = code if worst == Code.OK else worst
        if results:
            ref = self._next_id()
            self.out.append(Results(ref, self.header.msg_id, cmd.cmd_id, tuple(results)))
        return worst

    def _fixed(self, cmd: ItemCommand, item: Item) -> tuple[int, tuple[Item, ...]] | None:
        """The answer for a read-only node (DevInfo, DevDetail, DMAcc), or None for others."""
        uri = (item.target or "").rstrip("/")
        value = self.device.fixed.get(uri)
        children = self.device._interior.get(uri)
        if value is None and children is None:
            return None
        if not isinstance(cmd, Get):
            return int(Code.NOT_ALLOWED), ()
        if value is not None:
            return int(Code.OK), (Item(source=uri, meta=Meta("chr", "text/plain"), data=value),)
        return int(Code.OK), (Item(source=uri, meta=Meta("node"), data="/".join(children or ())),)

    def _reassemble(self, cmd: ItemCommand) -> ItemCommand | int:
        """The command with its large object whole, or the code answering a chunk: 213 while
        more is to come, 424 when the whole is not the size announced, 413 when too large.
        (DM Protocol 1.2, large object handling; RepPro 1.2 MoreData and Meta Size.)"""
        if len(cmd.items) != 1 or (not cmd.items[0].more_data and not self.chunks):
            return cmd
        item = cmd.items[0]
        key = item.target or ""
        held = self.chunks.pop(key, None)
        if held is None and not item.more_data:
            return cmd
        size = held.size if held is not None else _size(item)
        data = (held.data if held is not None else "") + (item.data or "")
        if len(data.encode()) > MAX_OBJECT:
            return self._answer(cmd, Code.TOO_LARGE)
        if item.more_data:
            self.chunks[key] = Held(size, data)
            return self._answer(cmd, Code.CHUNK_ACCEPTED)
        if size is not None and len(data.encode()) != size:
            return self._answer(cmd, Code.SIZE_MISMATCH)
        return attrs.evolve(cmd, items=(attrs.evolve(item, data=data, more_data=False),))

    def _group(
        self,
        cmd: ItemCommand,
        items: tuple[Item, ...],
        target: Target | UriError,
        covered: Confirm | None,
    ) -> tuple[int, tuple[Item, ...]]:
        fixed = self._fixed(cmd, items[0])
        if fixed is not None:
            return fixed
        if isinstance(target, UriError):
            return target.code, ()
        path = target.node.path
        if not self.tree.acls.allows(cmd.NAME, path, self.actor.server_id):
            log.info("ACL denies %s on %s to %s", cmd.NAME, path, self.actor.server_id)
            return int(Code.PERMISSION_DENIED), ()
        item = _with_meta(items[0], cmd)
        action = plan(cmd.NAME, target, item, self.tree, self.state, self.actor)
        if len(items) > 1 and isinstance(action, Ask):
            params = {_leaf_name(i): i.data or "" for i in items[1:]}
            action = add_with_params(action, FrozenMap(params))
        return self._execute(action, covered)

    def _execute(self, action: Plan, covered: Confirm | None) -> tuple[int, tuple[Item, ...]]:
        if isinstance(action, Reply):
            if covered is Confirm.DECLINE and action.reads and action.code == Code.OK:
                return int(Code.NOT_EXECUTED), ()
            return action.code, action.results
        request = attrs.evolve(action.request, confirm=covered)
        outcome = self.engine.apply(self.state, request)
        if outcome.status != 200:
            log.info("engine: %s -> %d (%s)", request.op, outcome.status, outcome.reason)
            return int(outcome.status), ()
        code, results, reason = render(action, outcome, self.tree)
        if code == Code.OK:
            self.state = after(action, outcome)
        else:
            log.info("%s -> %d (%s)", action.uri, code, reason)
        return code, results


def _interior_nodes(fixed: Mapping[str, str]) -> dict[str, list[str]]:
    """Each interior node above the fixed leaves, with its children in order."""
    out: dict[str, list[str]] = {}
    for uri in fixed:
        parts = uri.split("/")
        for depth in range(1, len(parts)):
            parent, child = "/".join(parts[:depth]), parts[depth]
            if parent != "." and child not in out.setdefault(parent, []):
                out[parent].append(child)
    return out


def _size(item: Item) -> int | None:
    text = item.meta.size if item.meta is not None else None
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    return int(text)


def _with_meta(item: Item, cmd: ItemCommand) -> Item:
    """The item with the command's Meta where the item has none of its own."""
    return item if item.meta is not None or cmd.meta is None else attrs.evolve(item, meta=cmd.meta)


def _leaf_name(item: Item) -> str:
    return (item.target or "").rstrip("/").rpartition("/")[2]


def _groups(cmd: ItemCommand, tree: TreeConfig) -> list[tuple[tuple[Item, ...], Target | UriError]]:
    """The command's items, each resolved; in an Add, the leaves that follow an instance node
    and sit directly under it join it (one engine ``add`` with those parameters)."""
    out: list[tuple[tuple[Item, ...], Target | UriError]] = []
    for item in cmd.items:
        target = _resolve(item, tree)
        if isinstance(cmd, Add) and out and _joins(out[-1], target):
            out[-1] = ((*out[-1][0], item), out[-1][1])
            continue
        out.append(((item,), target))
    return out


def _joins(group: tuple[tuple[Item, ...], Target | UriError], target: Target | UriError) -> bool:
    head = group[1]
    if isinstance(head, UriError) or isinstance(target, UriError):
        return False
    if not isinstance(head.node, InstanceNode) or head.prop or head.list_query:
        return False
    node = target.node
    return (
        isinstance(node, ParamNode)
        and target.prop is None
        and (node.service, node.instance) == (head.node.service, head.node.instance)
    )


def _resolve(item: Item, tree: TreeConfig) -> Target | UriError:
    if item.target is None:
        return UriError(int(Code.BAD_REQUEST), "an item without a Target")
    try:
        return tree.resolve(item.target)
    except UriError as err:
        return err


def process(
    state: DeviceState,
    package: Package | str | bytes,
    server_id: str | None = None,
    ui: Ui = NO_USER,
    *,
    engine: Engine | None = None,
    tree: TreeConfig | None = None,
) -> tuple[DeviceState, Package]:
    """:meth:`Device.process` with the shipped spec (or ``engine``) and ``tree``.

    >>> state, response = process(DeviceState(), b"not xml")
    >>> response.statuses()[0].code, state == DeviceState()
    (400, True)
    """
    if engine is None:
        from ..spec import load_spec  # only when no engine is given: loading takes a moment

        engine = Engine(load_spec())
    return Device(engine, tree).process(state, package, server_id, ui)
