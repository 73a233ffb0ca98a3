"""A DM server in the test's own process, as ``dm serve`` runs it: a store (SQLite or a real
PostgreSQL), per-device accounts, the store worker, the endpoint on a real socket (HTTP, or HTTPS
with a certificate the test makes), and simulated devices with the matching secrets."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import ClientSession

from mostate import DeviceState, Engine, Request
from mostate.omadm import Device
from mostate.omadm.accounts import AccountLine, SharedAccount
from mostate.omadm.auth import AuthType, Secret
from mostate.omadm.campaigns import LIST, PLANNED, ServedCampaign, register
from mostate.omadm.client import DeviceSession
from mostate.omadm.dashboard import Dashboard, DashboardConfig
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


class ServerThread:
    """``dm serve --planned`` on a store, in a thread of its own (for tests whose rounds of
    devices run their own event loops), with the campaigns' pages when ``dashboard``."""

    def __init__(
        self,
        engine: Engine,
        store: str,
        campaigns: Sequence[str],
        *,
        dashboard: DashboardConfig | None = None,
    ) -> None:
        self.ready = threading.Event()
        self.url = ""
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        key = add_accounts(store, [])
        served = [ServedCampaign(c, PLANNED) for c in campaigns]

        async def main() -> None:
            with StoreWorker(store) as worker:
                endpoint = DmEndpoint(engine, served, worker, key)
                pages = Dashboard(worker, dashboard) if dashboard is not None else None
                runner, self.url = await start_site(endpoint, path="/dm", dashboard=pages)
                self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
                self.ready.set()
                await self._stop.wait()
                await runner.cleanup()

        self.thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the server did not start in 10 s")

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/dm")

    def close(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)
