"""What a peer can make the server hold at the connection level: a body that never arrives, a
connection that never speaks, a client that hangs up. Each is bounded, and logged in one line
without a traceback. (Before: a request announcing 1,000 bytes and sending 10 was held forever,
1,000 idle connections were never closed, and each dropped connection logged a traceback.)"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("aiohttp", reason="the wire extra is not installed")

from aiohttp import ClientSession

from mostate import Engine
from mostate.omadm.endpoint import DmEndpoint, Limits
from tests.omadm.serving import line, list_campaign, serve
from tests.omadm.test_session import CAMPAIGN

FAST = Limits(body_timeout_s=0.3, keepalive_s=0.3)


async def raw(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return await asyncio.open_connection(parts.hostname, parts.port)


def request_head(url: str, length: int) -> bytes:
    path = urlsplit(url).path
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.syncml.dm+xml\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_that_never_arrives_is_cut_off(engine: Engine, tmp_path: Any) -> None:
    where = str(tmp_path / "dm.sqlite")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, _: ClientSession, __: DmEndpoint) -> bytes:
        reader, writer = await raw(url)
        writer.write(request_head(url, 1000) + b"<SyncML>..")  # 10 of the 1,000 bytes
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # until the server closes
        writer.close()
        return answer

    answer = serve(engine, where, [campaign], body, accounts=[line("d")], limits=FAST)
    assert answer.startswith(b"HTTP/1.1 408")


def test_an_idle_connection_is_closed(engine: Engine, tmp_path: Any) -> None:
    where = str(tmp_path / "dm.sqlite")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, _: ClientSession, __: DmEndpoint) -> list[bytes]:
        pairs = [await raw(url) for _ in range(20)]  # connect, say nothing
        answers = await asyncio.wait_for(
            asyncio.gather(*(reader.read() for reader, _ in pairs)), timeout=10
        )
        for _, writer in pairs:
            writer.close()
        return list(answers)

    answers = serve(engine, where, [campaign], body, accounts=[line("d")], limits=FAST)
    assert answers == [b""] * 20  # each closed by the server, nothing sent


def test_a_client_that_hangs_up_is_one_log_line(
    engine: Engine, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    where = str(tmp_path / "dm.sqlite")
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, __: DmEndpoint) -> int:
        for _ in range(5):
            _, writer = await raw(url)
            writer.write(request_head(url, 1000) + b"<SyncML>")
            await writer.drain()
            writer.close()  # gone mid-body
        await asyncio.sleep(0.5)
        async with http.post(url, data=b"x", headers={"Content-Type": "text/plain"}) as r:
            return r.status  # the server goes on

    with caplog.at_level(logging.DEBUG):
        status = serve(engine, where, [campaign], body, accounts=[line("d")], limits=FAST)
    assert status == 415
    assert [r for r in caplog.records if r.exc_info] == []
    assert not any("Traceback" in r.getMessage() for r in caplog.records)
    assert sum("Error handling request" in r.getMessage() for r in caplog.records) == 0


def test_open_sessions_are_bounded_and_the_least_recent_goes_first(
    engine: Engine, tmp_path: Any
) -> None:
    """Authenticated sessions left open (devices that never finish) are held up to a limit;
    past it, the one idle longest is dropped, and a dropped session's token is refused."""
    from mostate.omadm import write_package
    from mostate.omadm.http import XML_TYPES
    from tests.omadm.serving import session
    from tests.omadm.test_attacks import until_commands

    where = str(tmp_path / "dm.sqlite")
    accounts = [line(f"d{n}") for n in range(6)]
    campaign = list_campaign(where, CAMPAIGN)

    async def body(url: str, http: ClientSession, endpoint: DmEndpoint) -> tuple[int, int, bool]:
        replies = []
        for account in accounts:  # each stops after the server sent its commands
            device = session(engine, account)
            replies.append((device, await until_commands(http, url, device)))
        held = len(endpoint.by_token)
        first_device, first_reply = replies[0]
        answer = first_device.receive(first_reply)
        assert answer is not None and first_reply.header.resp_uri
        data = write_package(answer).encode()
        async with http.post(first_reply.header.resp_uri, data=data,
                             headers={"Content-Type": XML_TYPES[0]}) as r:  # fmt: skip
            from mostate.omadm import parse_package

            code = parse_package(await r.read()).statuses()[0].code
        return held, code, "d5" in endpoint.by_device

    limits = Limits(max_sessions=4)
    held, code, last_kept = serve(engine, where, [campaign], body, accounts=accounts, limits=limits)
    assert held == 4 and last_kept  # six opened, the four most recent kept
    assert code in (401, 407)  # the first device's session was dropped: its token is refused
