"""A DM server in the test's own process, as ``dm serve`` runs it: a store (SQLite or a real
PostgreSQL), per-device accounts, the store worker, the endpoint on a real socket (HTTP, or HTTPS
with a certificate the test makes), and simulated devices with the matching secrets."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import ClientSession

from mostate import DeviceState, Engine, Request
from mostate.omadm import Device
from mostate.omadm.accounts import AccountLine, SharedAccount
from mostate.omadm.auth import AuthType, Secret
from mostate.omadm.campaigns import LIST, ServedCampaign, register
from mostate.omadm.client import DeviceSession
from mostate.omadm.endpoint import DmEndpoint, Limits, start_site
from mostate.omadm.session import Account
from mostate.omadm.store import Store
from mostate.omadm.worker import StoreWorker

T = TypeVar("T")
SERVER_ID = "mostate"


def line(
    device: str, client_auth: AuthType = AuthType.MD5, server_auth: AuthType = AuthType.MD5
) -> AccountLine:
    """A device's account with secrets of its own."""
    return AccountLine(
        device,
        Secret(device, f"pw-{device}"),
        Secret(SERVER_ID, f"srv-{device}"),
        client_auth,
        server_auth,
    )


def view(account: AccountLine) -> Account:
    """What the device holds of its account."""
    return Account(
        SERVER_ID, account.client, account.server, account.client_auth, account.server_auth
    )


def session(
    engine: Engine, account: AccountLine, state: DeviceState | None = None
) -> DeviceSession:
    return DeviceSession(Device(engine), state or DeviceState(), view(account), account.device)


def list_campaign(where: str, requests: Sequence[Request], name: str = "c1") -> ServedCampaign:
    """Campaign ``name``: ``requests`` for every device, registered in the store."""
    store = Store(where)
    try:
        store.db.write(lambda cursor: register(cursor, name, LIST, requests))
    finally:
        store.close()
    return ServedCampaign(name, LIST, tuple(requests))


def add_accounts(where: str, accounts: Sequence[AccountLine]) -> bytes:
    """The accounts saved in the store; the store's challenge key."""
    store = Store(where)
    try:
        store.add_accounts(a.for_server(SERVER_ID) for a in accounts)
        return store.key
    finally:
        store.close()


def serve(
    engine: Engine,
    where: str,
    campaigns: Sequence[ServedCampaign],
    body: Callable[[str, ClientSession, DmEndpoint], Awaitable[T]],
    *,
    accounts: Sequence[AccountLine] = (),
    shared: SharedAccount | None = None,
    tls: tuple[ssl.SSLContext, ssl.SSLContext] | None = None,
    limits: Limits | None = None,
    path: str = "/dm",
) -> T:
    """Run ``body(url, http, endpoint)`` against a server on ``where`` serving ``campaigns``;
    ``tls``: the server's and the client's contexts."""
    key = add_accounts(where, accounts)

    async def main() -> T:
        with StoreWorker(where) as worker:
            endpoint = DmEndpoint(
                engine, campaigns, worker, key, shared=shared, limits=limits or Limits()
            )
            runner, url = await start_site(endpoint, path=path, tls=tls[0] if tls else None)
            try:
                async with ClientSession() as http:
                    return await body(url, http, endpoint)
            finally:
                await runner.cleanup()

    return asyncio.run(main())


def shared_demo(client_auth: AuthType = AuthType.MD5) -> SharedAccount:
    return Account(client_auth=client_auth).shared()


def run_all(*coroutines: Awaitable[Any]) -> Awaitable[list[Any]]:
    return asyncio.gather(*coroutines)
