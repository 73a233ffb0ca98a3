"""A DM session as values: our device and our server, package by package, with each kind of
authentication; challenges, wrong secrets and nonces that rotate."""

from __future__ import annotations

import pytest

from mostate import DeviceState, Engine, Request
from mostate.omadm import Device
from mostate.omadm.auth import (
    AuthType,
    Secret,
    basic,
    hmac_header,
    md5,
    verify,
    verify_hmac,
)
from mostate.omadm.client import DeviceSession
from mostate.omadm.server import NOT_CCS
from mostate.omadm.session import Account, Nonces, ServerSession

CAMPAIGN = [
    Request.from_json({"actor": "server", "op": op, "service": "MMS", "instance": "op", **extra})
    for op, extra in [
        ("add", {"params": {"MMSC": "http://mmsc.op"}}),
        ("set_active", {"value": True}),
        ("set_default", {"value": True}),
        ("set_locked", {"value": True}),
    ]
]
KINDS = [AuthType.BASIC, AuthType.MD5]


def converse(
    server: ServerSession, device: DeviceSession, *, hmac: bool = False
) -> list[tuple[str, int]]:
    """Run the session in memory; returns (sender, header status code) per message."""
    from mostate.omadm.writer import write_package

    log: list[tuple[str, int]] = []
    package = device.first()
    for _ in range(20):
        if package is None:
            return log
        body = write_package(package).encode()
        mac = hmac_header(device.account.client, device.nonces.for_client, body) if hmac else None
        reply = server.receive(package, mac=mac, body=body)
        log.append(("server", reply.statuses()[0].code))
        package = device.receive(reply)
        if package is not None and package.statuses():
            log.append(("device", package.statuses()[0].code))
    raise AssertionError("the session did not end")


@pytest.mark.parametrize("client_auth", KINDS)
@pytest.mark.parametrize("server_auth", KINDS)
def test_a_campaign_session_completes(
    engine: Engine, client_auth: AuthType, server_auth: AuthType
) -> None:
    account = Account(client_auth=client_auth, server_auth=server_auth)
    server = ServerSession(engine, CAMPAIGN, account)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    log = converse(server, device)
    assert server.done and device.done and device.refused is None
    assert [r.status for r in server.outcome.reports] == [200, 200, 200, 200]
    assert device.state.to_json() == {
        "MMS": {
            "op": {
                "active": True,
                "default": True,
                "locked": True,
                "params": {"MMSC": "http://mmsc.op"},
            }
        }
    }
    assert server.outcome.devinfo["DevId"] == "dev1"
    # The device authenticates every message; an MD5 device with no nonce yet is first asked
    # for one (never the empty nonce).
    challenged = [("server", 401)] if client_auth is AuthType.MD5 else []
    assert log == [*challenged, ("server", 212), ("device", 212), ("server", 212)]


def test_an_md5_device_without_a_nonce_is_challenged_then_accepted(engine: Engine) -> None:
    account = Account(client_auth=AuthType.MD5)
    server = ServerSession(engine, CAMPAIGN, account, nonces=Nonces(for_client=b"srv-nonce"))
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    log = converse(server, device)
    assert log[0] == ("server", 401)  # its digest used the empty nonce, not the server's
    assert log[1] == ("server", 212)
    assert [r.status for r in server.outcome.reports] == [200] * 4


@pytest.mark.parametrize("wrong", ["client", "server"])
def test_a_wrong_secret_gets_nothing_done(engine: Engine, wrong: str) -> None:
    good = Account(client_auth=AuthType.MD5, server_auth=AuthType.MD5)
    bad_secret = Secret("mostate", "guess")
    device_view = (
        Account(client=bad_secret, client_auth=AuthType.MD5)
        if wrong == "client"
        else Account(server=bad_secret, client_auth=AuthType.MD5)
    )
    server = ServerSession(engine, CAMPAIGN, good)
    device = DeviceSession(Device(engine), DeviceState(), device_view, "dev1")
    converse(server, device)
    assert device.state == DeviceState()  # nothing ran on the device
    if wrong == "client":
        assert device.refused is not None and "401" in device.refused
        assert not server.outcome.authenticated and server.outcome.reports == ()
    else:
        # The device refuses the server (401): it ran nothing, so no request has a result
        # (each is sent again next session), and each report says why.
        assert [r.status for r in server.outcome.reports] == [None] * 4
        assert server.outcome.results() == ()
        assert all(
            "refused the server's credentials" in (r.note or "") for r in server.outcome.reports
        )


def test_a_missing_credential_is_407_with_a_challenge(engine: Engine) -> None:
    import attrs

    account = Account(client_auth=AuthType.MD5)
    server = ServerSession(engine, CAMPAIGN, account)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    first = device.first()
    reply = server.receive(attrs.evolve(first, header=attrs.evolve(first.header, cred=None)))
    head = reply.statuses()[0]
    assert head.code == 407 and head.chal is not None and head.chal.type == "syncml:auth-md5"
    assert reply.commands() == ()  # nothing is sent to a device that has not authenticated


def test_hmac_in_the_transport(engine: Engine) -> None:
    account = Account(client_auth=AuthType.HMAC, server_auth=AuthType.MD5)
    server = ServerSession(engine, CAMPAIGN, account)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    converse(server, device, hmac=True)
    assert [r.status for r in server.outcome.reports] == [200] * 4
    assert device.first().header.cred is None  # HMAC replaces the header credentials


def test_nonces_rotate_with_every_message(engine: Engine) -> None:
    account = Account(client_auth=AuthType.MD5, server_auth=AuthType.MD5)
    server = ServerSession(engine, CAMPAIGN, account)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1")
    seen = []
    package = device.first()
    while package is not None:
        reply = server.receive(package)
        seen.append((server.nonces, device.nonces))
        package = device.receive(reply)
    for_client = [s.for_client for s, _ in seen]
    assert len(set(for_client)) == len(for_client)  # a new nonce for the device each time
    # What each side believes the other's nonce is agrees at the end.
    assert server.nonces.for_client == device.nonces.for_client
    assert server.nonces.for_server == device.nonces.for_server


def test_a_generic_device_is_reported_as_not_supporting_ccs(engine: Engine) -> None:
    """A Get of ?prop=Active answered 406 (libdmclient does so) is not 'ask again'."""
    from mostate.omadm import Item, Package, Results, Server, Status, SyncHdr

    server = Server(engine)
    server.known["MMS"] = {"a"}
    get = Request.from_json({"actor": "server", "op": "get", "service": "MMS", "instance": "a"})
    query = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    package, sent = server.build([get, query])
    get_cmd, query_cmd = package.commands()
    root, *flags = (i.target or "" for i in query_cmd.items)  # type: ignore[union-attr]
    answer = Package(
        SyncHdr("1", "1", "srv", "dev"),
        (
            Status("1", "1", "0", "SyncHdr", 212),
            Status("2", "1", get_cmd.cmd_id, "Get", 406, ("./MMS/a?prop=Active",)),
            Status("3", "1", query_cmd.cmd_id, "Get", 200, (root,)),
            Results("4", "1", query_cmd.cmd_id, (Item(source=root, data="a"),)),
            Status("5", "1", query_cmd.cmd_id, "Get", 406, tuple(flags)),
        ),
    )
    reports = server.read(sent, answer)
    assert [(r.status, r.note) for r in reports] == [(406, NOT_CCS), (200, NOT_CCS)]


def test_credentials_check_name_secret_type_and_nonce() -> None:
    alice = Secret("alice", "pw")
    assert verify(basic(alice), AuthType.BASIC, alice, b"")
    assert not verify(basic(Secret("alice", "px")), AuthType.BASIC, alice, b"")
    assert not verify(basic(alice), AuthType.MD5, alice, b"")  # the wrong type
    assert verify(md5(alice, b"n"), AuthType.MD5, alice, b"n")
    assert not verify(md5(alice, b"n"), AuthType.MD5, alice, b"m")
    assert not verify(md5(Secret("bob", "pw"), b"n"), AuthType.MD5, alice, b"n")
    header = hmac_header(alice, b"n", b"body")
    assert verify_hmac(header, alice, b"n", b"body")
    assert not verify_hmac(header.replace("alice", "bob"), alice, b"n", b"body")
    assert not verify_hmac(header, alice, b"m", b"body")
    assert not verify_hmac(None, alice, b"n", b"body")
    assert not verify_hmac("x" * 5000, alice, b"n", b"body")


@pytest.mark.parametrize(
    ("device_max", "server_max"), [(2500, 65_536), (65_536, 2500), (2500, 2500)]
)
def test_messages_split_to_the_peers_max_msg_size(
    engine: Engine, device_max: int, server_max: int
) -> None:
    """A package larger than the peer's MaxMsgSize goes in several messages, each within it;
    the receiver asks for the next with Alert 1222 until one comes with Final."""
    from mostate.omadm.writer import write_package

    names = [f"i{n:02d}" for n in range(12)]
    requests = [
        Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": n})
        for n in names
    ] + [
        Request.from_json({"actor": "server", "op": "get", "service": "MMS", "instance": n})
        for n in names
    ]
    account = Account()
    server = ServerSession(engine, requests, account, max_msg_size=server_max)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1", max_msg_size=device_max)
    sizes = {"server": [], "device": []}
    package = device.first()
    while package is not None:
        sizes["device"].append(len(write_package(package)))
        reply = server.receive(package)
        sizes["server"].append(len(write_package(reply)))
        package = device.receive(reply)
    assert server.done and device.done
    assert [r.status for r in server.outcome.reports] == [200] * 24
    assert sorted(device.state.service("MMS").instances) == names
    # Every message after the first (whose size is the device's own choice) respects the limit.
    assert max(sizes["server"]) <= device_max or device_max > 60_000
    assert max(sizes["device"][1:]) <= server_max or server_max > 60_000
    assert len(sizes["server"]) > 3  # it really was split


def test_a_large_object_goes_in_chunks_and_is_stored_whole(engine: Engine) -> None:
    from mostate.omadm.writer import write_package

    value = "".join(f"<{n}&é>" for n in range(900))  # escapes and multi-byte characters too
    base = {"actor": "server", "service": "MMS", "instance": "big"}
    requests = [
        Request.from_json({**base, "op": "add"}),
        Request.from_json({**base, "op": "replace", "param": "Script", "value": value}),
        Request.from_json({**base, "op": "set_active", "value": True}),
    ]
    account = Account()
    server = ServerSession(engine, requests, account)
    device = DeviceSession(Device(engine), DeviceState(), account, "dev1", max_msg_size=3000)
    package, sizes, chunks = device.first(), [], 0
    while package is not None:
        reply = server.receive(package)
        sizes.append(len(write_package(reply)))
        chunks += sum(1 for c in reply.commands() for i in getattr(c, "items", ()) if i.more_data)
        package = device.receive(reply)
    assert chunks > 3 and max(sizes) <= 3000
    assert [r.status for r in server.outcome.reports] == [200, 200, 200]
    stored = device.state.service("MMS").instances["big"]
    assert stored.params["Script"] == value and stored.active


def chunk(data: str, more: bool, size: int | None = None) -> str:
    meta = f"<Meta><Size xmlns='syncml:metinf'>{size}</Size></Meta>" if size is not None else ""
    flag = "<MoreData/>" if more else ""
    return (
        "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./MMS/a/Script</LocURI></Target>"
        f"{meta}<Data>{data}</Data>{flag}</Item></Replace>"
    )


def message(body: str) -> str:
    return (
        "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
        "<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>d</LocURI></Target>"
        f"<Source><LocURI>s</LocURI></Source></SyncHdr><SyncBody>{body}</SyncBody></SyncML>"
    )


@pytest.mark.parametrize(
    ("declared", "code"), [(6, 200), (7, 424)], ids=["size-right", "size-mismatch"]
)
def test_chunks_are_checked_against_the_size_announced(
    engine: Engine, declared: int, code: int
) -> None:
    from mostate.omadm.device import Held

    state = DeviceState.from_json({"MMS": {"a": {}}})
    held: dict[str, Held] = {}
    device = Device(engine)
    state, first = device.process(state, message(chunk("abc", True, declared)), chunks=held)
    assert first.statuses()[1].code == 213 and held  # buffered, not stored
    assert state.service("MMS").instances["a"].params == {}
    state, last = device.process(state, message(chunk("def", False)), chunks=held)
    assert last.statuses()[1].code == code and not held
    stored = state.service("MMS").instances["a"].params
    assert stored == ({"Script": "abcdef"} if code == 200 else {})


def test_an_object_past_the_limit_is_413(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from mostate.omadm import device as device_module

    monkeypatch.setattr(device_module, "MAX_OBJECT", 5)
    state = DeviceState.from_json({"MMS": {"a": {}}})
    held: dict[str, device_module.Held] = {}
    device = Device(engine)
    state, first = device.process(state, message(chunk("abc", True)), chunks=held)
    state, second = device.process(state, message(chunk("def", True)), chunks=held)
    assert (first.statuses()[1].code, second.statuses()[1].code) == (213, 413)
    assert not held and state.service("MMS").instances["a"].params == {}
