"""A DM server's side of one OMA-DM session with one device, as values in and packages out.

A session is the exchange a device opens (OMA-TS-DM_Protocol-V1_2, section 8):

1. the device's package 1: an Alert 1201 (client-initiated) or 1200 (server-initiated), its
   DevInfo in a Replace, and its credentials in the header;
2. the server's package 2: a Status for the device's header (212 authentication accepted, or
   401/407 with a Chal, after which the device sends package 1 again) and for each of its
   commands, the server's own credentials, and the management commands;
3. the device's package 3: a Status (and Results) for each of them;
4. the server's package 4: Status for that header and, with no more commands, the end.

:class:`ServerSession` takes each device package and gives the server's answer; what it learned
(the device's DevInfo, a :class:`~.server.Report` per campaign step) is in :attr:`outcome` once
:attr:`done`. The CCS meaning of the commands and answers is :class:`~.server.Server`'s; this
module adds the protocol around them. Nonces rotate with every message and are handed to the
caller (:attr:`nonces`) to keep between sessions.

**Every message is authenticated** (OMA-TS-DM_Security-V1_2, section 5: authentication and
integrity; its body could not be read here, so the rule follows libdmclient, which sends its
credentials until the server answers 212 and none after: ``dmcore/src/omadmclient.c``,
``prvGetHeader``). Nothing a message carries is learnt unless the message:

* starts the session with credentials over a nonce the server gave (never the empty nonce: a
  device without one is challenged, 401 or 407 with a Chal), or
* carries credentials over the nonce of the server's last answer (MD5 rotates it every message),
  or
* is *bound* to the session by the transport (``bound=True``: it came back to the unguessable
  RespURI the server handed out, see :mod:`.http`), and
* with HMAC, carries a MAC of its own bytes over that nonce, whatever else it carries;
* and numbers itself after the last message accepted (a replayed message is refused).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar, cast

import attrs

from ..engine import Engine
from ..model import Request
from .accounts import DeviceAccount, SharedAccount
from .auth import (
    AuthType,
    Secret,
    challenge,
    credentials,
    new_nonce,
    unb64,
    verify,
    verify_hmac,
)
from .messages import (
    Alert,
    BodyElement,
    Code,
    Command,
    Item,
    ItemCommand,
    Meta,
    Package,
    Replace,
    Results,
    Status,
    SyncHdr,
)
from .server import Report, Sent, Server
from .tree import TreeConfig
from .writer import write_package

log = logging.getLogger(__name__)

AUTH_ACCEPTED = 212
INVALID_CREDENTIALS = 401
MISSING_CREDENTIALS = 407
SESSION_ALERTS = {"1200", "1201"}  # server-initiated, client-initiated (DM Protocol 1.2, 8.3)
NEXT_MESSAGE = "1222"  # Alert: send the next message of this package (DM Protocol 1.2)
MAX_MSG_SIZE = 65_536
"""The largest message this side accepts, sent as MaxMsgSize in every header."""
MAX_MESSAGES = 50
MAX_ROUNDS = 2
"""Packages after the campaign's, to read a ``get`` leaf by leaf (its children, then them)."""
"""A session longer than this is cut off: a device that never stops answering gets 'done'."""


@attrs.frozen
class Account:
    """What a server and its devices prove to each other (the two halves of a DMAcc AppAuth),
    secrets in clear: a device's view, and a shared account's (demos, tests, a fleet secret).

    ``client`` is what a device must present (CLCRED), with ``client_auth``; ``server`` is what
    the server presents to the device (SRVCRED), with ``server_auth``. ``server_id`` names the
    server in the header's Source and in the devices' ACLs.
    """

    server_id: str = "mostate"
    client: Secret = Secret("mostate", "mostate")
    server: Secret = Secret("mostate", "mostate")
    client_auth: AuthType = AuthType.MD5
    server_auth: AuthType = AuthType.MD5

    def shared(self) -> SharedAccount:
        """This account for every device id."""
        return SharedAccount(
            self.server_id, self.client_auth, self.client, self.server_auth, self.server
        )


@attrs.frozen
class Nonces:
    """The nonces of one device, kept between sessions: ``for_client`` is the one the server
    gave the device for its next MD5 credentials, ``for_server`` the one the device gave the
    server (an empty nonce until the device sends one, as a new DMAcc's AAuthData is empty)."""

    for_client: bytes = b""
    for_server: bytes = b""


NO_NONCES = Nonces()


@attrs.frozen
class Task:
    """One step of a campaign to send a device: step ``step`` (from 0) of campaign
    ``campaign``'s plan for it."""

    campaign: str
    step: int
    request: Request


@attrs.frozen
class Outcome:
    """What one session learned: who the device is, whether it authenticated, and a report per
    task (in task order; a task the device never answered has status None)."""

    device: str
    authenticated: bool
    devinfo: dict[str, str]
    reports: tuple[Report, ...]
    messages: int
    tasks: tuple[Task, ...] = ()

    def results(self) -> tuple[tuple[Task, Report], ...]:
        """The tasks the device answered, with their reports: only these are results."""
        return tuple(
            (t, r) for t, r in zip(self.tasks, self.reports, strict=False) if r.status is not None
        )


Served = Account | DeviceAccount


class ServerSession:
    """The server's side of one session with one device, running one batch of tasks.

    ``accept``: the nonces a first message may use (the caller's stored and challenge
    nonces); empty, the session's own ``nonces.for_client``. ``challenge``: the nonce a 401
    asks for (default: a fresh random one).

    >>> from mostate import Engine, load_spec
    >>> session = ServerSession(Engine(load_spec()), [], Account(client_auth=AuthType.BASIC))
    >>> session.done
    False
    """

    def __init__(
        self,
        engine: Engine,
        tasks: Sequence[Task | Request],
        account: Served,
        *,
        tree: TreeConfig | None = None,
        nonces: Nonces = NO_NONCES,
        accept: Sequence[bytes] = (),
        challenge: bytes | None = None,
        max_msg_size: int = MAX_MSG_SIZE,
    ) -> None:
        self.account = account.shared().account("") if isinstance(account, Account) else account
        self.tasks = tuple(
            t if isinstance(t, Task) else Task("", k, t) for k, t in enumerate(tasks)
        )
        self.max_msg_size = max_msg_size
        self.nonces, self.accept, self.challenge_nonce = nonces, tuple(accept), challenge
        self.server = Server(engine, tree, server_id=self.account.server_id, rounds=True)
        self.done = False
        self.authenticated = False
        self.device = ""
        self.session_id: str | None = None
        self.devinfo: dict[str, str] = {}
        self._sent: tuple[Sent, ...] | None = None
        self._pending: tuple[Command, ...] = ()
        self._answers: list[Status | Results] = []
        self._peer_max: int | None = None
        self._reports: tuple[Report, ...] = ()
        self._first: tuple[Report, ...] = ()
        self._rounds = 0
        self._messages = 0
        self._last_msg = 0

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            self.device,
            self.authenticated,
            dict(self.devinfo),
            self._reports,
            self._messages,
            self.tasks,
        )

    def receive(
        self,
        package: Package,
        *,
        mac: str | None = None,
        body: bytes | None = None,
        bound: bool = False,
    ) -> Package:
        """The server's answer to one device package. ``mac`` and ``body``: the message's HMAC
        transport header and its bytes (an HMAC account checks them on every message);
        ``bound``: the transport vouches that the message came back to this session's RespURI.
        """
        header = package.header
        code = self._check(package, mac, body, bound)
        if code != AUTH_ACCEPTED:
            return self._answer(header, code, self._statuses(package, Code.NOT_EXECUTED))
        self._messages += 1
        if self._messages > MAX_MESSAGES:
            self.done = True
            return self._answer(header, Code.COMMAND_FAILED, (), final_note="session too long")
        statuses = self._statuses(package, Code.OK)
        self._learn(package)
        if not package.final:  # the device has more of this package: ask for it (1222)
            more = Alert(str(len(statuses) + 2), NEXT_MESSAGE)
            return self._answer(header, AUTH_ACCEPTED, statuses, (more,))
        if self._sent is None:
            self._pending = self._campaign(len(statuses) + 2)
        if self._pending:
            head = self._answer(header, AUTH_ACCEPTED, statuses)
            sent, self._pending = fit(head, self._pending, self._peer_max)
            return attrs.evolve(head, body=head.body + sent, final=not self._pending)
        if self._sent is not None and self._rounds:
            self.server.read_round(Package(package.header, tuple(self._answers)))
        elif self._sent and not self._reports:
            self._first = self._read(package)
        later = self.server.next_round() if self._rounds < MAX_ROUNDS else ()
        if later:  # a device that refused ?list=StructData: its leaves, round by round
            self._rounds += 1
            self._answers = []
            head = self._answer(header, AUTH_ACCEPTED, statuses)
            sent, self._pending = fit(head, later, self._peer_max)
            return attrs.evolve(head, body=head.body + sent, final=not self._pending)
        if self._sent and not self._reports:
            self._reports = self.server.leafwise(self._first)
        self.done = True
        return self._answer(header, AUTH_ACCEPTED, statuses)

    def _check(self, package: Package, mac: str | None, body: bytes | None, bound: bool) -> int:
        """AUTH_ACCEPTED when the message is authenticated (see the module docstring), else
        the header code to refuse it with; nothing is learnt from a refused message."""
        header, account = package.header, self.account
        if self.authenticated and not self._same_session(header):
            log.info("device %s: a message outside its session refused", header.source)
            return INVALID_CREDENTIALS
        nonces = (self.nonces.for_client,) if self.authenticated else self._first_nonces()
        if account.client_auth is AuthType.HMAC:
            ok = body is not None and any(
                verify_hmac(mac, account.client, n, body) for n in nonces if n
            )
            missing = mac is None
        elif header.cred is not None:
            ok = any(
                verify(header.cred, account.client_auth, account.client, n)
                for n in nonces
                if n or account.client_auth is AuthType.BASIC
            )
            missing = False
        else:
            ok, missing = self.authenticated and bound, True
        if not ok:
            log.info("device %s: message %s not authenticated", header.source, header.msg_id)
            return MISSING_CREDENTIALS if missing else INVALID_CREDENTIALS
        if not self.authenticated:
            self.authenticated, self.device = True, header.source
            self.session_id = header.session_id
        self._last_msg = _number(header.msg_id) or 0
        return AUTH_ACCEPTED

    def _first_nonces(self) -> tuple[bytes, ...]:
        return self.accept or (self.nonces.for_client,)

    def _same_session(self, header: SyncHdr) -> bool:
        number = _number(header.msg_id)
        return (
            header.source == self.device
            and header.session_id == self.session_id
            and number is not None
            and number > self._last_msg
        )

    def _read(self, package: Package) -> tuple[Report, ...]:
        """The report of every task; a device that refused the server's credentials ran
        nothing, so none of its tasks has a result (each is sent again next session)."""
        assert self._sent is not None
        head = package.statuses()[:1]
        if head and head[0].code in (INVALID_CREDENTIALS, MISSING_CREDENTIALS):
            why = f"the device refused the server's credentials ({head[0].code})"
            return tuple(Report(s.request, None, note=why) for s in self._sent)
        answer = Package(package.header, (*head, *self._answers))
        return self.server.read(self._sent, answer)

    def _statuses(self, package: Package, code: int) -> tuple[Status, ...]:
        """A Status for each command the device sent (Alerts and its DevInfo Replace)."""
        msg = package.header.msg_id
        out: list[Status] = []
        for command in package.commands():
            if isinstance(command, Alert | Replace):
                sources = tuple(i.source for i in command.items if i.source)
                number = str(len(out) + 2)  # CmdID 1 is the header's Status
                out.append(Status(number, msg, command.cmd_id, command.NAME, code, (), sources))
        return tuple(out)

    def _learn(self, package: Package) -> None:
        for command in package.commands():
            if isinstance(command, Replace):
                for item in command.items:
                    if item.source and item.source.startswith("./DevInfo/"):
                        self.devinfo[item.source.removeprefix("./DevInfo/")] = item.data or ""
        for status in package.statuses():
            if status.cmd_ref == "0" and status.chal is not None:
                self.nonces = attrs.evolve(self.nonces, for_server=unb64(status.chal.next_nonce))
        self._answers += [
            e
            for e in package.body
            if isinstance(e, Results) or (isinstance(e, Status) and e.cmd_ref != "0")
        ]
        self._peer_max = max_msg_size(package.header) or self._peer_max

    def _campaign(self, first_id: int) -> tuple[Command, ...]:
        built, self._sent = self.server.build([t.request for t in self.tasks], first_id=first_id)
        return built.commands()

    def _answer(
        self,
        header: SyncHdr,
        code: int,
        statuses: tuple[Status, ...],
        commands: tuple[Command, ...] = (),
        *,
        final_note: str | None = None,
    ) -> Package:
        account = self.account
        chal = None
        refused = code in (INVALID_CREDENTIALS, MISSING_CREDENTIALS)
        if refused or (code == AUTH_ACCEPTED and account.client_auth is not AuthType.BASIC):
            fresh = self.challenge_nonce if refused and self.challenge_nonce else new_nonce()
            if refused and not self.authenticated:
                self.nonces = attrs.evolve(self.nonces, for_client=fresh)
                self.accept = ()
            elif not refused:
                self.nonces = attrs.evolve(self.nonces, for_client=fresh)
            chal = challenge(account.client_auth, fresh)
        items = (Item(data=final_note),) if final_note else ()
        head_status = Status(
            "1",
            header.msg_id,
            "0",
            "SyncHdr",
            code,
            (header.target,),
            (header.source,),
            items,
            chal,
        )
        cred = credentials(account.server_auth, account.server, self.nonces.for_server)
        reply = SyncHdr(
            header.session_id,
            str(self._messages or 1),
            target=header.source,
            source=account.server_id,
            max_msg_size=str(self.max_msg_size),
            cred=cred,
        )
        return Package(reply, (head_status, *statuses, *commands))


def _number(msg_id: str) -> int | None:
    """A MsgID as a number (it is one in DM 1.2); None for anything else."""
    return int(msg_id) if msg_id.isascii() and msg_id.isdigit() and len(msg_id) < 10 else None


def max_msg_size(header: SyncHdr) -> int | None:
    """The MaxMsgSize a header announces, when it is a sensible number of bytes."""
    text = header.max_msg_size or ""
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        return None
    size = int(text)
    return size if size >= 256 else None


T = TypeVar("T", bound=BodyElement)


def fit(
    head: Package, elements: tuple[T, ...], limit: int | None
) -> tuple[tuple[T, ...], tuple[T, ...]]:
    """Split ``elements`` into those that go in ``head``'s message without passing ``limit``
    bytes (the peer's MaxMsgSize) and the rest, for the next messages. Sizes are measured in XML,
    which is never smaller than WBXML; at least one element goes, so a package always moves on
    (an element larger than the limit alone would need a large object, which is not split)."""
    if limit is None:
        return elements, ()
    whole = attrs.evolve(head, body=head.body + elements, final=False)
    if len(write_package(whole)) <= limit:  # the common case: it all fits, measured once
        return elements, ()
    used = len(write_package(attrs.evolve(head, final=False)))
    empty = len(write_package(Package(head.header, (), final=False)))
    taken = 0
    for element in elements:
        size = len(write_package(Package(head.header, (element,), final=False))) - empty
        if taken and used + size > limit:
            break
        if used + size > limit:
            pieces = cast(
                "list[T]", _large_object(element, head.header, limit - used - CHUNK_MARGIN)
            )
            if pieces:
                return tuple(pieces[:1]), (*pieces[1:], *elements[1:])
            log.warning("one command of %d bytes exceeds the peer's MaxMsgSize %d", size, limit)
        used += size
        taken += 1
    return elements[:taken], elements[taken:]


CHUNK_MARGIN = 400
"""Bytes kept free in a message that carries a chunk, for the statuses of the next messages."""


def _large_object(element: BodyElement, header: SyncHdr, room: int) -> list[ItemCommand]:
    """A command with one item too large for a message, as that command once per chunk of its
    data: MoreData on all but the last, the whole size in bytes on the first (DM Protocol 1.2,
    large objects). Empty when the command cannot be cut so."""
    if not isinstance(element, ItemCommand) or len(element.items) != 1 or room < 64:
        return []
    item = element.items[0]
    data = item.data or ""
    meta = item.meta or Meta()
    empty = len(write_package(Package(header, (), final=False)))
    pieces: list[ItemCommand] = []
    while data:
        first = not pieces
        shape = attrs.evolve(
            item,
            meta=attrs.evolve(meta, size=str(len((item.data or "").encode())) if first else None),
        )

        def cost(n: int, shape: Item = shape, rest: str = data) -> int:
            chunk = attrs.evolve(shape, data=rest[:n], more_data=n < len(rest))
            message = Package(header, (attrs.evolve(element, items=(chunk,)),), final=False)
            return len(write_package(message)) - empty

        low, high = 0, len(data)  # the longest prefix that fits: cost grows with n
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if cost(middle) <= room else (low, middle - 1)
        if low == 0:
            return []
        chunk = attrs.evolve(shape, data=data[:low], more_data=low < len(data))
        pieces.append(attrs.evolve(element, items=(chunk,)))
        data = data[low:]
    return pieces
