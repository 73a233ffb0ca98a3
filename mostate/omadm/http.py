"""OMA-DM over HTTP (OMA-TS-DM_HTTP-Binding): a DM server endpoint and a device on aiohttp.

aiohttp is the asyncio HTTP library with both a server and a client, long maintained by the
aio-libs group; one event loop holds thousands of device sessions at once. It is imported only
here (``pip install 'mostate[wire]'``): a device client that processes packages offline needs
none of it.

Each POST carries one SyncML message, XML or WBXML, named by its Content-Type; the answer goes
back in the same encoding. Messages of one session are told apart by the device id and the
SessionID of their header. What a finished session learned is written to the :class:`Store`
before its last answer leaves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import attrs
from aiohttp import ClientSession, web

from ..engine import Engine
from ..errors import MostateError
from ..model import DeviceState, Request
from .auth import HMAC_HEADER, AuthType, hmac_header, verify_hmac
from .client import DeviceSession
from .codec import MAX_PACKAGE_BYTES, PackageError, parse_package, salvage_header
from .device import refusal
from .messages import Package
from .session import MAX_MESSAGES, Account, Outcome, ServerSession
from .store import Store
from .tree import TreeConfig
from .writer import write_package, write_wbxml

log = logging.getLogger(__name__)

XML_TYPES = ("application/vnd.syncml.dm+xml", "application/vnd.syncml+xml")
WBXML_TYPES = ("application/vnd.syncml.dm+wbxml", "application/vnd.syncml+wbxml")
MAX_SESSIONS = 50_000
"""Sessions open at once; past this, the oldest idle ones are dropped."""
IDLE_S = 300.0
"""A session with no message for this long is dropped (its device starts again)."""


@attrs.define
class _Open:
    session: ServerSession
    seen: float


Plans = Callable[[str], Sequence[Request]]
"""The requests to send a device, by its device id (its SyncHdr Source)."""


class DmEndpoint:
    """The server: a campaign for every device that connects: one list of requests for all,
    or each device's own plan (``campaign plan``'s, see :mod:`.plans`).

    ``on_done`` is called with each finished session's outcome, after it is stored.
    """

    def __init__(
        self,
        engine: Engine,
        requests: Sequence[Request] | Plans,
        account: Account,
        store: Store,
        *,
        tree: TreeConfig | None = None,
        on_done: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.engine, self.account = engine, account
        self.plans: Plans = requests if callable(requests) else _same_for_all(tuple(requests))
        self.store, self.tree, self.on_done = store, tree, on_done
        self.open: dict[tuple[str, str], _Open] = {}
        self.finished = 0

    async def handle(self, request: web.Request) -> web.Response:
        kind = request.content_type
        if kind not in XML_TYPES + WBXML_TYPES:
            return web.Response(status=415, text=f"expected one of {XML_TYPES + WBXML_TYPES}")
        body = await request.read()
        try:
            package = parse_package(body)
        except PackageError as err:
            log.info("refused a message: %s", err)
            return self._send(refusal(salvage_header(body), str(err)), kind, status=400)
        key = (package.header.source, package.header.session_id)
        entry = self.open.get(key) or self._start(package)
        entry.seen = time.monotonic()
        session = entry.session
        hmac_ok = None
        if self.account.client_auth is AuthType.HMAC:
            who = self.account.client
            hmac_ok = verify_hmac(
                request.headers.get(HMAC_HEADER), who, session.nonces.for_client, body
            )
        reply = session.receive(package, hmac_ok)
        # Durable before the answer leaves: the nonces after every message, the results at the end.
        if session.done:
            self.store.record(session.outcome, session.nonces)
            self.open.pop(key, None)
            self.finished += 1
            if self.on_done is not None:
                self.on_done(session.outcome)
        else:
            self.store.save_nonces(session.device, session.nonces)
            self.open[key] = entry
        return self._send(reply, kind, nonce=session.nonces.for_server)

    def _start(self, package: Package) -> _Open:
        self._expire()
        device = package.header.source
        planned = tuple(self.plans(device))
        requests = () if self.store.finished(device, len(planned)) else planned
        session = ServerSession(
            self.engine, requests, self.account, tree=self.tree, nonces=self.store.nonces(device)
        )
        return _Open(session, time.monotonic())

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, e in self.open.items() if now - e.seen > IDLE_S]:
            del self.open[key]
        while len(self.open) >= MAX_SESSIONS:
            oldest = min(self.open, key=lambda k: self.open[k].seen)
            del self.open[oldest]

    def _send(
        self, package: Package, kind: str, *, status: int = 200, nonce: bytes = b""
    ) -> web.Response:
        body = write_wbxml(package) if kind in WBXML_TYPES else write_package(package).encode()
        headers = {}
        if self.account.server_auth is AuthType.HMAC:
            headers[HMAC_HEADER] = hmac_header(self.account.server, nonce, body)
        return web.Response(status=status, body=body, content_type=kind, headers=headers)


def _same_for_all(requests: tuple[Request, ...]) -> Plans:
    def plan(device: str) -> tuple[Request, ...]:
        return requests

    return plan


async def run_device(
    http: ClientSession,
    url: str,
    session: DeviceSession,
    *,
    wbxml: bool = False,
    save: Callable[[DeviceState], None] | None = None,
) -> DeviceSession:
    """Run one device session against the server at ``url``; ``save`` is called with each new
    state before the answer that reports it is sent. Raises :class:`SessionError` when the
    server cannot be talked to."""
    kind = WBXML_TYPES[0] if wbxml else XML_TYPES[0]
    package: Package | None = session.first()
    for _ in range(MAX_MESSAGES):
        if package is None:
            return session
        body = write_wbxml(package) if wbxml else write_package(package).encode()
        headers = {"Content-Type": kind}
        if session.client_auth is AuthType.HMAC:
            nonce = session.nonces.for_client
            headers[HMAC_HEADER] = hmac_header(session.account.client, nonce, body)
        async with http.post(url, data=body, headers=headers) as response:
            answer = await response.read()
            if response.status != 200:
                raise SessionError(f"{url}: HTTP {response.status}: {answer[:200]!r}")
            mac = response.headers.get(HMAC_HEADER)
        try:
            reply = parse_package(answer)
        except PackageError as err:
            raise SessionError(f"{url}: {err}") from None
        if session.account.server_auth is AuthType.HMAC and not verify_hmac(
            mac, session.account.server, session.nonces.for_server, answer
        ):
            raise SessionError(f"{url}: the server's HMAC is wrong or missing")
        before = session.state
        package = session.receive(reply)
        if save is not None and session.state != before:
            save(session.state)
    raise SessionError(f"{url}: the session did not end after {MAX_MESSAGES} messages")


class SessionError(MostateError):
    """A session that could not be run: the server unreachable, or answering nonsense."""


def application(endpoint: DmEndpoint, path: str = "/") -> web.Application:
    """The aiohttp application serving ``endpoint`` at ``path``."""
    app = web.Application(client_max_size=MAX_PACKAGE_BYTES)
    app.router.add_post(path, endpoint.handle)
    return app
