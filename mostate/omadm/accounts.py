"""What a DM server knows of each device it may talk to: its account.

A DMAcc (OMA-TS-DM_StdObj-V1_2, DMAcc) holds two credentials: what the device presents to the
server (CLCRED) and what the server presents to the device (SRVCRED). The server keeps its
half of each as a :class:`DeviceAccount`: the auth types and the names, and each secret as a
:class:`~.auth.Key` (its digest material), never in clear.

Accounts come from the store (``mostate dm accounts add|import``), one per device, so a secret
learnt from one device opens no other. A fleet that shares one secret is possible, but only by
an explicit option (:class:`SharedAccount`); a server with neither refuses to start.

Import lines are JSON objects, one per device::

    {"device": "imei:3569...", "client_name": "dev1", "client_secret": "...",
     "server_secret": "...", "client_auth": "md5", "server_auth": "md5"}

``server_name`` defaults to the server id, the auth types to ``md5``. ``client_nonce`` (Base64,
optional) is the nonce the device was provisioned with (its CLCRED AAuthData, set at bootstrap):
its first session then needs no challenge. It is kept only for a device that never started a
session, so importing a file again never brings back a nonce already used. The same file drives
``mostate dm fleet --accounts`` (a simulator holds its devices' secrets).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import attrs

from .auth import AuthType, Key, Proof, Secret, key_of, unb64

MAX_DEVICE_ID = 256
"""The longest device id (a SyncHdr Source LocURI) the server accepts, in characters."""
MAX_SECRET = 1_024
"""The longest name or secret an account line may hold, in characters."""


class AccountError(ValueError):
    """An account line that cannot be used, saying why."""


@attrs.frozen
class DeviceAccount:
    """The server's half of one device's DMAcc.

    >>> account = DeviceAccount.of("dev1", "srv", Secret("dev1", "pw"), Secret("srv", "sp"))
    >>> account.client.name, account.client_auth.name, "pw" in repr(account)
    ('dev1', 'MD5', False)
    """

    device: str
    server_id: str
    client_auth: AuthType
    client: Key
    server_auth: AuthType
    server: Proof
    """A :class:`Key` from the store; a :class:`Secret` where the server must send Basic."""

    @classmethod
    def of(
        cls,
        device: str,
        server_id: str,
        client: Secret,
        server: Secret,
        client_auth: AuthType = AuthType.MD5,
        server_auth: AuthType = AuthType.MD5,
    ) -> DeviceAccount:
        """An account from secrets in clear, keeping only what the server needs of them."""
        kept: Proof = server if server_auth is AuthType.BASIC else key_of(server)
        return cls(device, server_id, client_auth, Key.of(client), server_auth, kept)


class AccountBook(Protocol):
    """Where the server looks a device's account up (from a thread, never the event loop)."""

    def account(self, device: str) -> DeviceAccount | None: ...


@attrs.frozen
class SharedAccount:
    """One account for every device id: a fleet that shares a secret, chosen explicitly
    (``--fleet-secret-file``), or the demo account of ``--insecure-demo``."""

    server_id: str
    client_auth: AuthType
    client: Secret
    server_auth: AuthType
    server: Secret

    def account(self, device: str) -> DeviceAccount:
        return DeviceAccount.of(
            device, self.server_id, self.client, self.server, self.client_auth, self.server_auth
        )


@attrs.frozen
class Chained:
    """The first book that knows the device: per-device accounts before a shared one."""

    books: tuple[AccountBook, ...]

    def account(self, device: str) -> DeviceAccount | None:
        for book in self.books:
            found = book.account(device)
            if found is not None:
                return found
        return None


@attrs.frozen
class AccountLine:
    """One line of an accounts file, secrets in clear (what a device is provisioned with)."""

    device: str
    client: Secret
    server: Secret
    client_auth: AuthType = AuthType.MD5
    server_auth: AuthType = AuthType.MD5
    nonce: bytes = b""
    """The nonce the device was provisioned with for its first credentials (empty: none)."""

    def for_server(self, server_id: str) -> DeviceAccount:
        if self.server_auth is AuthType.BASIC:
            raise AccountError(
                f"{self.device}: a stored account cannot make the server's Basic credentials "
                "(the store keeps no secret in clear): use md5 or hmac for server_auth"
            )
        return DeviceAccount.of(
            self.device, server_id, self.client, self.server, self.client_auth, self.server_auth
        )


def read_account_lines(lines: Iterable[str], server_id: str) -> Iterator[AccountLine]:
    """The accounts of a JSON-lines file; AccountError naming the first bad line.

    >>> line = '{"device": "d1", "client_secret": "a", "server_secret": "b"}'
    >>> [(a.device, a.client.name, a.server.name) for a in read_account_lines([line], "srv")]
    [('d1', 'd1', 'srv')]
    """
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            yield _account_line(json.loads(text), server_id)
        except (ValueError, TypeError) as err:
            raise AccountError(f"line {number}: {err}") from None


def _account_line(obj: Any, server_id: str) -> AccountLine:
    if not isinstance(obj, dict):
        raise AccountError("not a JSON object")
    device = _text(obj, "device", None)
    check_device_id(device)
    client = Secret(_text(obj, "client_name", device), _text(obj, "client_secret", None))
    server = Secret(_text(obj, "server_name", server_id), _text(obj, "server_secret", None))
    kinds = [AuthType.parse(_text(obj, k, "md5")) for k in ("client_auth", "server_auth")]
    nonce = b""
    if "client_nonce" in obj:
        nonce = unb64(_text(obj, "client_nonce", None))
        if len(nonce) < 8:
            raise AccountError("'client_nonce' must be Base64 of 8 bytes or more")
    return AccountLine(device, client, server, kinds[0], kinds[1], nonce)


def _text(obj: dict[str, Any], key: str, default: str | None) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or not value:
        raise AccountError(f"{key!r} must be a non-empty string")
    if len(value) > MAX_SECRET:
        raise AccountError(f"{key!r} is longer than {MAX_SECRET} characters")
    return value


def check_device_id(device: str) -> None:
    """AccountError unless ``device`` is a device id the server keeps: printable, at most
    :data:`MAX_DEVICE_ID` characters.

    >>> check_device_id("imei:356938035643809")
    >>> check_device_id("x" * 300)
    Traceback (most recent call last):
    ...
    mostate.omadm.accounts.AccountError: a device id is 1 to 256 printable characters
    """
    if not 0 < len(device) <= MAX_DEVICE_ID or not device.isprintable():
        raise AccountError(f"a device id is 1 to {MAX_DEVICE_ID} printable characters")
