"""OMA-DM over HTTP (OMA-TS-DM_HTTP-Binding): what both roles share, and a device's side.

aiohttp is the asyncio HTTP library with both a server and a client, long maintained by the
aio-libs group; one event loop holds thousands of device sessions at once. It is imported only
by this module and :mod:`.endpoint` (``pip install 'mostate[wire]'``): a device client that
processes packages offline needs none of it.

TLS comes from the standard library's :mod:`ssl`: :func:`server_tls` for ``dm serve
--tls-cert/--tls-key``, :func:`client_tls` for a device that trusts a CA file (``--ca-file``),
certificates and host names checked, TLS 1.2 at least.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import ClientSession

from ..errors import MostateError
from ..model import DeviceState
from .auth import HMAC_HEADER, AuthType, hmac_header, verify_hmac
from .client import DeviceSession
from .codec import PackageError, parse_package
from .messages import Package
from .session import MAX_MESSAGES
from .writer import write_package, write_wbxml

XML_TYPES = ("application/vnd.syncml.dm+xml", "application/vnd.syncml+xml")
WBXML_TYPES = ("application/vnd.syncml.dm+wbxml", "application/vnd.syncml+wbxml")


class SessionError(MostateError):
    """A session that could not be run: the server unreachable, or answering nonsense."""


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """The TLS context of a server with this certificate chain and private key (PEM files);
    OSError or ssl.SSLError when they cannot be read or do not match."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def client_tls(ca_file: str | None = None) -> ssl.SSLContext:
    """The TLS context of a device: the system's CAs, or only those of ``ca_file``."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def run_device(
    http: ClientSession,
    url: str,
    session: DeviceSession,
    *,
    wbxml: bool = False,
    save: Callable[[DeviceState], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> DeviceSession:
    """Run one device session against the server at ``url``; ``save`` is called with each new
    state before the answer that reports it is sent. Each message goes to the RespURI the last
    answer named (on the same origin only: never to another host, never from https to http).
    Raises :class:`SessionError` when the server cannot be talked to."""
    kind = WBXML_TYPES[0] if wbxml else XML_TYPES[0]
    package: Package | None = session.first()
    target = url
    for _ in range(MAX_MESSAGES):
        if package is None:
            return session
        body = write_wbxml(package) if wbxml else write_package(package).encode()
        headers = {"Content-Type": kind}
        if session.client_auth is AuthType.HMAC:
            nonce = session.nonces.for_client
            headers[HMAC_HEADER] = hmac_header(session.account.client, nonce, body)
        async with http.post(target, data=body, headers=headers, ssl=tls or True) as response:
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
        target = next_target(url, reply.header.resp_uri) if package is not None else target
    raise SessionError(f"{url}: the session did not end after {MAX_MESSAGES} messages")


def next_target(url: str, resp_uri: str | None) -> str:
    """Where the next message goes: the server's RespURI when it is on ``url``'s origin.

    >>> next_target("https://dm.example/dm", "https://dm.example/dm?s=abc")
    'https://dm.example/dm?s=abc'
    >>> try:
    ...     next_target("https://dm.example/dm", "http://dm.example/dm?s=abc")
    ... except SessionError as err:
    ...     print(err)
    https://dm.example/dm: the server sent a RespURI on another origin: 'http://dm.example/dm?s=abc'
    """
    if not resp_uri:
        return url
    here, there = urlsplit(url), urlsplit(resp_uri)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise SessionError(f"{url}: the server sent a RespURI on another origin: {resp_uri!r}")
    return resp_uri
