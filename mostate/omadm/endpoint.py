"""A DM server over HTTP (OMA-TS-DM_HTTP-Binding) on aiohttp: campaigns for every device that
connects and authenticates, with nothing learnt from a message that does not.

Each POST carries one SyncML message, XML or WBXML, named by its Content-Type; the answer goes
back in the same encoding. How a message is let in:

* **A session starts** with a message that carries the device's credentials (or its HMAC),
  over a nonce the server gave it: the one kept from its last session, or a challenge nonce
  derived for this device and session (:func:`~.auth.challenge_nonce`). A device the server has
  no account for, or whose credentials fail, gets 401/407 with a Chal and costs the server no
  row and no memory. A start that succeeds moves the device's epoch on in the store before it is
  answered (compare and set), so the same message replayed, at once or later, is refused.
* **Every later message** is bound to its session by the URL it is sent to: each answer names
  an unguessable, single-use token in its RespURI (``?s=TOKEN``), which libdmclient and mostate's
  device follow. A message with credentials and no token must prove them over the latest nonce.
  An HMAC account's messages each carry a MAC of their own bytes. A replayed message, with a
  spent token or an old MsgID, is refused, and nothing it carries is stored.

What a session learned is written before the answer that ends it leaves; store calls run off the
event loop (:mod:`.worker`), and a store that does not answer in time gets the device a 503, never
a reported success. Connections are bounded: a body must arrive within ``body_timeout_s``, an
idle connection is closed after ``keepalive_s``, and a dropped one is one log line.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import Callable, Sequence

import attrs
from aiohttp import web

from ..engine import Engine
from .accounts import AccountError, DeviceAccount, SharedAccount, check_device_id
from .auth import HMAC_HEADER, AuthType, Key, challenge_nonce, hmac_header, new_nonce
from .campaigns import PlanCache, ServedCampaign, Work, work_for
from .codec import MAX_PACKAGE_BYTES, PackageError, parse_package, salvage_header
from .dashboard import Dashboard
from .database import Database, StoreError
from .device import refusal
from .http import WBXML_TYPES, XML_TYPES
from .messages import Package, Replace
from .session import SESSION_ALERTS, Outcome, ServerSession
from .store import AuthState, SessionRecord, begin_session, read_account, read_auth, record_session
from .tree import TreeConfig
from .worker import StoreAccess
from .writer import write_package, write_wbxml

log = logging.getLogger(__name__)

WINDOW_S = 300
"""How long a challenge nonce stays good (it is good in its window and the next)."""


@attrs.frozen
class Limits:
    """What one peer can make the server hold, and for how long."""

    max_sessions: int = 50_000
    """Authenticated sessions open at once; past this, the oldest idle one is dropped."""
    idle_s: float = 300.0
    """A session with no message for this long is dropped (its device starts again)."""
    body_timeout_s: float = 10.0
    """The longest a request body may take to arrive."""
    keepalive_s: float = 15.0
    """An idle connection (no request under way) is closed after this long."""


@attrs.define
class _Open:
    session: ServerSession
    seen: float
    work: Work = Work()


@attrs.frozen
class _Start:
    """What the store says of a device whose session starts."""

    account: DeviceAccount | None
    auth: AuthState
    work: Work


class DmEndpoint:
    """The server: the ``campaigns`` for every device that connects and authenticates, its
    account looked up in the store (or ``shared`` by every device, when given).

    ``on_done`` is called with each finished session's outcome, after it is stored;
    ``clock`` tells the time run campaigns' windows and backoffs are read at.
    """

    def __init__(
        self,
        engine: Engine,
        campaigns: Sequence[ServedCampaign],
        worker: StoreAccess,
        key: bytes,
        *,
        shared: SharedAccount | None = None,
        stored_accounts: bool = True,
        server_id: str = "mostate",
        tree: TreeConfig | None = None,
        on_done: Callable[[Outcome], None] | None = None,
        limits: Limits = Limits(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.campaigns, self.worker, self.key = engine, tuple(campaigns), worker, key
        self.shared, self.stored_accounts = shared, stored_accounts
        self.server_id = shared.server_id if shared is not None else server_id
        self.tree, self.on_done, self.limits, self.clock = tree, on_done, limits, clock
        self.by_token: dict[str, _Open] = {}
        self.by_device: dict[str, str] = {}
        self.finished = 0
        self._plans = PlanCache()

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.content_type
        if kind not in XML_TYPES + WBXML_TYPES:
            return web.Response(status=415, text=f"expected one of {XML_TYPES + WBXML_TYPES}")
        body = await self._body(request)
        if body is None:
            late = web.Response(status=408, text="the request body did not arrive in time")
            late.force_close()
            return late
        try:
            package = parse_package(body)
            check_device_id(package.header.source)
        except (PackageError, AccountError) as err:
            log.info("refused a message: %s", err)
            return self._send(
                refusal(salvage_header(body), str(err)), kind, account=None, status=400
            )
        try:
            return await self._receive(request, package, body, kind)
        except StoreError as err:
            log.warning("answered 503: %s", err)
            return web.Response(status=503, headers={"Retry-After": "30"}, text="store busy")

    async def _body(self, request: web.Request) -> bytes | None:
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):
                return await request.read()
        except TimeoutError:
            log.info("%s: a request body did not arrive in time", request.remote)
            return None

    async def _receive(
        self, request: web.Request, package: Package, body: bytes, kind: str
    ) -> web.Response:
        mac = request.headers.get(HMAC_HEADER)
        token = request.query.get("s")
        entry = self._session_for(package, token)
        if entry is None and token is not None:
            reply = self._refuse(package, mac, body)  # a spent or unknown token
            return self._send(reply, kind, account=None)
        if entry is None:
            entry, reply, found = await self._start(package, mac, body)
            if entry is None:  # signed for a device the server knows (an HMAC server signs all)
                known = found.account if found is not None else None
                nonce = found.auth.nonces.for_server if found is not None else b""
                return self._send(reply, kind, account=known, nonce=nonce)
        else:
            reply = entry.session.receive(package, mac=mac, body=body, bound=token is not None)
            if reply.statuses()[0].code in (401, 407):
                if token is not None:
                    self._drop(entry)  # its token was spent on a message that proved nothing
                nonce = entry.session.nonces.for_server
                return self._send(reply, kind, account=entry.session.account, nonce=nonce)
            self._drop(entry)  # accepted: the next message gets a new token
        entry.seen = time.monotonic()
        session = entry.session
        if session.done:
            # Durable before the answer leaves: what the device answered is a result once stored.
            self._drop(entry)
            record = SessionRecord.of(
                session.outcome, session.nonces, dispatches=entry.work.dispatches
            )
            await self.worker.write(lambda cursor: record_session(cursor, record))
            self.finished += 1
            if self.on_done is not None:
                self.on_done(session.outcome)
        else:
            reply = attrs.evolve(
                reply, header=attrs.evolve(reply.header, resp_uri=self._next(request, entry))
            )
        return self._send(reply, kind, account=session.account, nonce=session.nonces.for_server)

    def _session_for(self, package: Package, token: str | None) -> _Open | None:
        """The open session a message belongs to: by its token, else (a device that sends
        credentials with every message) by its device and SessionID, unless it starts anew."""
        if token is not None:
            entry = self.by_token.pop(token, None)
            if entry is not None and self.by_device.get(entry.session.device) == token:
                del self.by_device[entry.session.device]
            return entry
        header = package.header
        known = self.by_device.get(header.source)
        entry = self.by_token.get(known) if known else None
        restart = any(getattr(c, "code", None) in SESSION_ALERTS for c in package.commands())
        if entry is None or restart or entry.session.session_id != header.session_id:
            return None
        return entry

    async def _start(
        self, package: Package, mac: str | None, body: bytes
    ) -> tuple[_Open | None, Package, _Start | None]:
        """A session started by ``package``, or None and the refusal (with what the store said
        of the device, when it has an account)."""
        device = package.header.source
        zone = _zone(package)
        now = self.clock()
        found = await self.worker.read(lambda db: self._start_info(db, device, now, zone))
        if found.account is None:
            return None, self._refuse(package, mac, body), None
        window = int(time.time() // WINDOW_S)
        epoch = found.auth.epoch
        derived = [challenge_nonce(self.key, device, epoch, w) for w in (window, window - 1)]
        session = ServerSession(
            self.engine,
            found.work.tasks,
            found.account,
            tree=self.tree,
            nonces=found.auth.nonces,
            accept=[found.auth.nonces.for_client, *derived],
            challenge=derived[0],
        )
        reply = session.receive(package, mac=mac, body=body)
        if not session.authenticated:
            return None, reply, found
        fresh = session.nonces.for_client
        won = await self.worker.write(lambda c: begin_session(c, device, found.auth, fresh))
        if not won:
            log.info("device %s: its credentials were used by another session first", device)
            return None, self._refuse(package, mac, body), found
        old = self.by_device.get(device)
        if old is not None:
            self.by_token.pop(old, None)  # a device that starts again ends its open session
        return _Open(session, time.monotonic(), found.work), reply, found

    def _start_info(self, db: Database, device: str, now: float, zone: str | None) -> _Start:
        account = read_account(db, device) if self.stored_accounts else None
        if account is None and self.shared is not None:
            account = self.shared.account(device)
        if account is None:
            return _Start(None, AuthState(), Work())
        work = work_for(
            db, device, self.campaigns, self._plans, engine=self.engine, now=now, zone=zone
        )
        return _Start(account, read_auth(db, device), work)

    def _refuse(self, package: Package, mac: str | None, body: bytes) -> Package:
        """The answer to a message that proves nothing: 401 (or 407) with a Chal over a nonce
        no one keeps, from a session that is thrown away; nothing of the message is kept."""
        decoy = _decoy(self.shared, self.server_id)
        session = ServerSession(self.engine, (), decoy, challenge=new_nonce(), accept=[new_nonce()])
        return session.receive(package, mac=mac, body=body)

    def _next(self, request: web.Request, entry: _Open) -> str:
        """A new single-use token for the session's next message, as the RespURI to send it to."""
        self._expire()
        token = secrets.token_urlsafe(24)
        self.by_token[token] = entry
        self.by_device[entry.session.device] = token
        return str(request.url.with_query({"s": token}))

    def _drop(self, entry: _Open) -> None:
        device = entry.session.device
        token = self.by_device.pop(device, None)
        if token is not None:
            self.by_token.pop(token, None)

    def _expire(self) -> None:
        """Drop sessions idle too long, and the least recently active past the limit. Each
        answer files its session under a new token at the end of ``by_token``, so the oldest
        are at the front: the check stops at the first session still active (amortised
        constant time, whatever the number of sessions)."""
        now, limits = time.monotonic(), self.limits
        while self.by_token:
            token, entry = next(iter(self.by_token.items()))
            if now - entry.seen <= limits.idle_s and len(self.by_token) < limits.max_sessions:
                return
            del self.by_token[token]
            if self.by_device.get(entry.session.device) == token:
                del self.by_device[entry.session.device]

    def _send(
        self,
        package: Package,
        kind: str,
        *,
        account: DeviceAccount | None,
        nonce: bytes = b"",
        status: int = 200,
    ) -> web.Response:
        body = write_wbxml(package) if kind in WBXML_TYPES else write_package(package).encode()
        headers = {}
        if account is not None and account.server_auth is AuthType.HMAC:
            headers[HMAC_HEADER] = hmac_header(account.server, nonce, body)
        return web.Response(status=status, body=body, content_type=kind, headers=headers)


ZONE_NODE = "./DevInfo/Ext/TimeZone"
"""Where a device says its time zone (an IANA name), in the DevInfo of its first package: a
run campaign's windows are then read in the device's local time."""


def _zone(package: Package) -> str | None:
    """The time zone the device says in this package's DevInfo, if any."""
    for command in package.commands():
        if isinstance(command, Replace):
            for item in command.items:
                if item.source == ZONE_NODE and item.data:
                    return item.data[:64]
    return None


def _decoy(shared: SharedAccount | None, server_id: str) -> DeviceAccount:
    """An account no message can prove: a random key, the auth types a real one would ask for."""
    kind = shared.client_auth if shared is not None else AuthType.MD5
    key = Key("", secrets.token_urlsafe(18))
    return DeviceAccount("", server_id, kind, key, AuthType.MD5, key)


def application(
    endpoint: DmEndpoint, path: str = "/", dashboard: Dashboard | None = None
) -> web.Application:
    """The aiohttp application serving ``endpoint`` at ``path`` (and the campaigns' pages,
    when given a ``dashboard``)."""
    app = web.Application(client_max_size=MAX_PACKAGE_BYTES)
    app.router.add_post(path, endpoint.handle)
    if dashboard is not None:
        dashboard.routes(app)
    return app


async def start_site(
    endpoint: DmEndpoint,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = "/",
    tls: ssl.SSLContext | None = None,
    dashboard: Dashboard | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve ``endpoint``; the runner (``await runner.cleanup()`` to stop) and the URL it
    serves at (its port when 0 was asked for)."""
    runner = web.AppRunner(
        application(endpoint, path, dashboard),
        access_log=None,
        keepalive_timeout=endpoint.limits.keepalive_s,
        # The rest of a body answered early is read for no longer than a body may take.
        lingering_time=endpoint.limits.body_timeout_s,
        handler_cancellation=True,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    scheme = "https" if tls is not None else "http"
    return runner, f"{scheme}://{host}:{bound}{path}"
