"""The attacks that worked on ``dm serve`` before every message was authenticated, each as a
regression test: a peer that does not prove itself changes nothing, is told 401/407, and makes
the server store and hold nothing.

Each test plays the real device up to the point of the attack with mostate's own device
(:class:`DeviceSession`), then sends what an attacker on the network would: a message without
credentials, a wrong MAC, a captured message replayed or re-addressed to another device id."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

pytest.importorskip("aiohttp", reason="the wire extra is not installed")

from aiohttp import ClientSession

from mostate import DeviceState, Engine
from mostate.omadm import Device, Package, parse_package, write_package
from mostate.omadm.auth import AuthType, Secret, hmac_header
from mostate.omadm.client import DeviceSession
from mostate.omadm.endpoint import DmEndpoint
from mostate.omadm.http import XML_TYPES, run_device
from mostate.omadm.messages import Status
from mostate.omadm.session import Account
from mostate.omadm.store import Store
from tests.omadm.serving import line, list_campaign, serve, session
from tests.omadm.test_session import CAMPAIGN

XML = {"Content-Type": XML_TYPES[0]}


async def post(http: ClientSession, url: str, package: Package, **headers: str) -> Package:
    async with http.post(
        url, data=write_package(package).encode(), headers={**XML, **headers}
    ) as r:
        assert r.status == 200, await r.read()
        return parse_package(await r.read())


def head(reply: Package) -> int:
    return reply.statuses()[0].code


async def until_commands(http: ClientSession, url: str, device: DeviceSession) -> Package:
    """Play the device until the server has sent it the campaign's commands; the server's
    package that carries them (the device has processed it; its answer is not sent)."""
    package: Package | None = device.first()
    while package is not None:
        reply = await post(http, url, package)
        if reply.commands():
            return reply
        package = device.receive(reply)
    raise AssertionError("the server sent no commands")


def rows(where: str) -> tuple[list[dict[str, Any]], int]:
    store = Store(where)
    try:
        return store.devices(), len(store.db.read("SELECT device FROM devices"))
    finally:
        store.close()


def forged_answers(reply: Package, device_id: str, msg_id: str, code: int = 418) -> Package:
    """The device's package 3 as an attacker writes it: a status for each command."""
    header = attrs.evolve(device_answer_header(reply, device_id), msg_id=msg_id)
    statuses = [Status("1", reply.header.msg_id, "0", "SyncHdr", 212)]
    for k, command in enumerate(reply.commands(), 2):
        statuses.append(Status(str(k), reply.header.msg_id, command.cmd_id, command.NAME, code))
    return Package(header, tuple(statuses))


def device_answer_header(reply: Package, device_id: str) -> Any:
    from mostate.omadm import SyncHdr

    return SyncHdr(reply.header.session_id, "3", target=reply.header.source, source=device_id)


@pytest.mark.parametrize("to", ["base URL", "token URL"])
def test_a_message_without_credentials_is_refused_and_stores_nothing(
    engine: Engine, tmp_path: Any, to: str
) -> None:
    """Before: with MD5, a message 2 with no Cred was accepted and its 418s stored as the
    device's results. Now a message that is neither credentialed nor sent back to the
    session's single-use RespURI gets 407, and nothing it carries is stored."""
    where = str(tmp_path / "dm.sqlite")
    account = line("victim")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> int:
        device = session(engine, account)
        reply = await until_commands(http, url, device)
        forged = forged_answers(reply, "victim", "9")
        target = url if to == "base URL" else f"{url}?s=guessed-token"
        return head(await post(http, target, forged))

    code = serve(engine, where, [campaign], body, accounts=[account])
    assert code in (401, 407)
    devices, _ = rows(where)
    assert [d["steps"] for d in devices] == [[]]


def test_an_hmac_message_with_a_wrong_mac_is_refused_even_on_its_token(
    engine: Engine, tmp_path: Any
) -> None:
    """Before: with HMAC, only message 1's MAC was checked. Now every message's is: a wrong
    MAC on the session's own RespURI is 401 and ends the session, nothing stored."""
    where = str(tmp_path / "dm.sqlite")
    account = line("victim", AuthType.HMAC)
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> tuple[int, int]:
        device = session(engine, account)
        first = device.first()
        data = write_package(first).encode()
        mac = hmac_header(device.account.client, device.nonces.for_client, data)
        reply = await post(http, url, first, **{"x-syncml-hmac": mac})
        device.receive(reply)  # the challenge: the server's nonce
        first = device.first()
        data = write_package(first).encode()
        mac = hmac_header(device.account.client, device.nonces.for_client, data)
        reply = await post(http, url, first, **{"x-syncml-hmac": mac})
        assert reply.commands() and reply.header.resp_uri
        forged = forged_answers(reply, "victim", "5", code=200)
        wrong = hmac_header(Secret("victim", "guess"), device.nonces.for_client, b"x")
        refused = await post(http, reply.header.resp_uri, forged, **{"x-syncml-hmac": wrong})
        again = await post(http, reply.header.resp_uri, forged)  # the token is spent
        return head(refused), head(again)

    refused, again = serve(engine, where, [campaign], body, accounts=[account])
    assert refused == 401 and again in (401, 407)
    devices, _ = rows(where)
    assert [d["steps"] for d in devices] == [[]]


def test_a_captured_first_message_opens_no_other_device_and_no_second_session(
    engine: Engine, tmp_path: Any
) -> None:
    """Before: every new device's first nonce was empty and the fleet shared one secret, so
    one device's first digest opened any device id. Now (even with a shared fleet secret)
    a challenge nonce is derived per device and per session: the captured message, sent
    for another id or sent again, is refused and costs no row."""
    where = str(tmp_path / "dm.sqlite")
    fleet = Account(server_id="mostate").shared()
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[int]:
        device = DeviceSession(Device(engine), DeviceState(), Account(), "dev-a")
        reply = await post(http, url, device.first())
        assert head(reply) == 401  # no nonce yet: challenged, never the empty nonce
        device.receive(reply)
        captured = device.first()  # what a sniffer sees: a digest over dev-a's nonce
        assert head(await post(http, url, captured)) == 212
        other = attrs.evolve(captured, header=attrs.evolve(captured.header, source="dev-b"))
        as_other = head(await post(http, url, other))
        replayed = head(await post(http, url, captured))
        return [as_other, replayed]

    assert serve(engine, where, [campaign], body, shared=fleet) == [401, 401]
    _, count = rows(where)
    assert count == 1  # dev-a's session start; nothing for dev-b


def test_a_device_never_answers_a_challenge_with_a_weaker_auth(engine: Engine) -> None:
    """Before: an MD5 device asked (by a server or by someone in between) for Basic sent its
    name and secret in Base64. Now it refuses and sends nothing more."""
    from mostate.omadm.auth import challenge

    account = Account(client_auth=AuthType.MD5)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    first = device.first()
    status = Status("1", "1", "0", "SyncHdr", 401, chal=challenge(AuthType.BASIC, b""))
    ask = Package(attrs.evolve(first.header, source="srv", target="dev1"), (status,))
    assert device.receive(ask) is None
    assert device.refused is not None and "weaker" in device.refused


def test_a_replayed_message_is_refused(engine: Engine, tmp_path: Any) -> None:
    """A message captured on its way to the session's RespURI and sent again: the token is
    spent, so it is refused, and the store keeps what the real message brought."""
    where = str(tmp_path / "dm.sqlite")
    account = line("dev")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> int:
        device = session(engine, account)
        reply = await until_commands(http, url, device)
        answer = device.receive(reply)
        assert answer is not None and reply.header.resp_uri
        done = await post(http, reply.header.resp_uri, answer)
        assert head(done) == 212
        forged = attrs.evolve(answer, body=forged_answers(reply, "dev", "4").body)
        return head(await post(http, reply.header.resp_uri, forged))

    assert serve(engine, where, [campaign], body, accounts=[account]) in (401, 407)
    devices, _ = rows(where)
    assert [s["status"] for s in devices[0]["steps"]] == [200] * 4


def test_a_device_cut_off_mid_session_gets_its_commands_again(
    engine: Engine, tmp_path: Any
) -> None:
    """Before: a device that lost its link after the server sent its commands, and came back
    within 300 s with the same SessionID, was told it was done with nothing run, and the store
    kept NULL statuses. Now a new session start ends the old one, the unanswered steps are
    sent again, and no step without a status is ever stored."""
    where = str(tmp_path / "dm.sqlite")
    account = line("dev")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> DeviceSession:
        cut = session(engine, account)
        await until_commands(http, url, cut)  # ... and the link drops: no answer is sent
        again = DeviceSession(
            Device(engine), DeviceState(), cut.account, "dev", session_id=cut.session_id
        )
        again.nonces = cut.nonces
        return await run_device(http, url, again)

    device = serve(engine, where, [campaign], body, accounts=[account])
    assert device.state.service("MMS").instances["op"].locked
    devices, _ = rows(where)
    assert [s["status"] for s in devices[0]["steps"]] == [200] * 4
    store = Store(where)
    assert store.db.read("SELECT count(*) FROM steps WHERE status IS NULL") == [(0,)]
    store.close()


def test_strangers_make_the_server_store_and_hold_nothing(engine: Engine, tmp_path: Any) -> None:
    """Before: each unauthenticated request added a row (20,000 bad passwords: 20,000 rows; 40
    requests with 450 KB device ids: +34 MB). Now a failed start writes nothing and holds no
    session, and a device id longer than 256 characters is 400."""
    where = str(tmp_path / "dm.sqlite")
    account = line("known")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, endpoint: DmEndpoint) -> list[int]:
        codes = []
        for n in range(60):
            who = "known" if n % 2 else f"stranger-{n}"
            wrong = Account(client=Secret(who, "guess"))
            device = DeviceSession(Device(engine), DeviceState(), wrong, who)
            codes.append(head(await post(http, url, device.first())))
        huge = DeviceSession(Device(engine), DeviceState(), Account(), "x" * 100_000)
        async with http.post(url, data=write_package(huge.first()).encode(), headers=XML) as r:
            codes.append(r.status)
        assert endpoint.by_token == {} and endpoint.by_device == {}
        return codes

    codes = serve(engine, where, [campaign], body, accounts=[account])
    assert set(codes[:-1]) == {401} and codes[-1] == 400
    devices, count = rows(where)
    assert devices == [] and count == 0
    store = Store(where)
    assert store.db.read("SELECT count(*) FROM steps") == [(0,)]
    store.close()


def test_a_request_that_needs_no_store_is_answered_while_the_store_is_locked(
    engine: Engine, tmp_path: Any
) -> None:
    """Before: store calls ran on the event loop, so while another process held SQLite's
    write lock for 5 s every request waited, even a 415. Now the store is on threads of its
    own: these are answered while the lock is still held."""
    import sqlite3
    import threading

    where = str(tmp_path / "dm.sqlite")
    campaign = list_campaign(where, CAMPAIGN)
    held, released = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        db = sqlite3.connect(where, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        held.set()
        released.wait(10)
        db.execute("ROLLBACK")
        db.close()

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[tuple[int, bool]]:
        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        held.wait(5)
        out = []
        for kind, data, query in [
            ("text/plain", b"x", ""),
            (XML_TYPES[0], b"<SyncML>", ""),
            (
                XML_TYPES[0],
                write_package(
                    DeviceSession(Device(engine), DeviceState(), Account(), "d").first()
                ).encode(),
                "?s=nope",
            ),
        ]:
            async with http.post(url + query, data=data, headers={"Content-Type": kind}) as r:
                await r.read()
                out.append((r.status, released.is_set()))
        released.set()
        await asyncio.to_thread(holder.join)
        return out

    answers = serve(engine, where, [campaign], body, accounts=[line("d")])
    assert answers == [(415, False), (400, False), (200, False)]
