"""The DM server's store on both of its databases, SQLite and a real PostgreSQL server (skipped
with the reason where none can be started): what it keeps, that concurrent writers lose nothing,
and the errors a user sees (no driver, a server that is down, a URL that is not a store)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mostate import Engine, Request
from mostate.cli import main
from mostate.omadm.server import Report
from mostate.omadm.session import Nonces, Outcome, Task
from mostate.omadm.store import AuthState, SessionRecord, Store, StoreError

ADD = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "op"})


def outcome(device: str, steps: int = 2, status: int | None = 200) -> Outcome:
    reports = tuple(Report(ADD, status) for _ in range(steps))
    tasks = tuple(Task("c1", k, ADD) for k in range(steps))
    return Outcome(device, True, {"DevId": device}, reports, messages=2, tasks=tasks)


def served_session(where: str, device: str, steps: int = 2) -> None:
    """One authenticated session of ``device`` recorded as a server records it."""
    store = Store(where)
    assert store.begin(device, store.auth(device), b"n")
    store.record(SessionRecord.of(outcome(device, steps), Nonces(b"c", b"s")))
    store.close()


def test_what_a_store_keeps(store_at: str) -> None:
    store = Store(store_at)
    assert store.devices() == [] and store.auth("a") == AuthState()
    assert store.begin("a", AuthState(), b"n1")
    assert store.auth("a") == AuthState(Nonces(b"n1", b""), 1, True)
    store.record(SessionRecord.of(outcome("a"), Nonces(b"c2", b"s2")))
    assert store.begin("a", store.auth("a"), b"n2")  # the device came back
    store.record(SessionRecord.of(outcome("a"), Nonces(b"c3", b"s3")))
    store.close()
    again = Store(store_at)  # a new server on the same store
    assert again.auth("a") == AuthState(Nonces(b"c3", b"s3"), 2, True)
    assert again.answered("a") == {"c1": {0, 1}} and again.answered("b") == {}
    (record,) = again.devices()
    assert record["sessions"] == 2 and record["devinfo"] == {"DevId": "a"}
    assert [s["step"] for s in record["steps"]] == [0, 1]  # once per step, not per session
    assert record["steps"][0]["request"] == ADD.to_json()
    again.close()


def test_a_session_start_is_single_use(store_at: str) -> None:
    """Two sessions that read the same credentials state: only the first starts (a replayed
    first message, or the same device twice at once)."""
    store = Store(store_at)
    seen = store.auth("dev")
    assert store.begin("dev", seen, b"n1") and not store.begin("dev", seen, b"n2")
    again = store.auth("dev")
    assert store.begin("dev", again, b"n3") and not store.begin("dev", again, b"n4")
    assert store.auth("dev").epoch == 2 and store.auth("dev").nonces.for_client == b"n3"
    store.close()


def test_an_unanswered_step_is_never_a_result(store_at: str) -> None:
    store = Store(store_at)
    store.begin("d", AuthState(), b"n")
    store.record(SessionRecord.of(outcome("d", steps=3, status=None), Nonces()))
    (record,) = store.devices()
    assert record["steps"] == [] and store.answered("d") == {}
    store.close()


def writers(store_at: str, threads: int, devices: int) -> None:
    """``threads`` writers, each with its own connection: its own devices, and one device all
    of them record at once (the hardest case: every write conflicts)."""
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            store = Store(store_at)
            for d in range(devices):
                store.begin(f"t{t}-d{d}", AuthState(), b"c")
                nonces = Nonces(b"c", bytes([t, d]))
                store.record(SessionRecord.of(outcome(f"t{t}-d{d}", steps=3), nonces))
                store.record(SessionRecord.of(outcome("shared", steps=3), Nonces(b"c", b"s")))
            store.close()
        except BaseException as err:  # reported below, in the test's own thread
            errors.append(err)

    pool = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []


def test_concurrent_writers_lose_nothing(store_at: str) -> None:
    seed = Store(store_at)
    seed.begin("shared", AuthState(), b"c")
    seed.close()
    writers(store_at, threads=4, devices=6)
    store = Store(store_at)
    records = {d["device"]: d for d in store.devices()}
    assert len(records) == 4 * 6 + 1
    assert records["shared"]["sessions"] == 4 * 6  # every increment, none lost to a race
    assert all(len(d["steps"]) == 3 for d in records.values())
    assert store.auth("t3-d5").nonces == Nonces(b"c", bytes([3, 5]))
    store.close()


def test_a_postgresql_url_without_the_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    url = "postgresql://dm:s3cret@127.0.0.1:9/dm"
    with pytest.raises(StoreError, match=r"pip install 'mostate\[store-pg\]'"):
        Store(url)
    assert main(["dm", "report", url]) == 2
    err = capsys.readouterr().err
    assert "mostate[store-pg]" in err and "s3cret" not in err and "Traceback" not in err


def test_a_server_that_is_down_is_a_store_error_without_the_password() -> None:
    pytest.importorskip("psycopg", reason="the store-pg extra is not installed")
    with pytest.raises(StoreError, match="cannot open the store") as caught:
        Store("postgresql://dm:s3cret@127.0.0.1:9/dm?connect_timeout=2")
    assert "s3cret" not in str(caught.value) and "dm:***@" in str(caught.value)


def test_a_store_is_a_file_or_a_postgresql_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="a SQLite file or a postgresql:// URL"):
        Store("mysql://dm@db/dm")
    (tmp_path / "junk.sqlite").write_text("not a database " * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(tmp_path / "junk.sqlite")


def test_dm_report_reads_a_postgresql_store(
    new_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_database()
    served_session(url, "phone-1")
    assert main(["dm", "report", url, "--format", "json"]) == 0
    (device,) = json.loads(capsys.readouterr().out)
    assert device["device"] == "phone-1" and [s["status"] for s in device["steps"]] == [200, 200]


def test_a_postgresql_store_commits_durably_whatever_the_servers_default(
    new_database: Callable[[], str],
) -> None:
    import psycopg

    url = new_database()
    with psycopg.connect(url, autocommit=True) as admin:  # an operator's setting for speed
        admin.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET synchronous_commit = off")
    store = Store(url)
    assert store.db.read("SHOW synchronous_commit") == [("on",)]
    store.close()


def test_a_server_goes_on_after_postgresql_restarts(
    engine: Engine, new_database: Callable[[], str], restart_postgres: Callable[[], None]
) -> None:
    """Before: after a PostgreSQL restart the server answered 500 forever (0/120 sessions).
    Now its connections are opened again: sessions before and after the restart complete."""
    pytest.importorskip("aiohttp", reason="the wire extra is not installed")
    import asyncio

    from aiohttp import ClientSession

    from mostate.omadm.endpoint import DmEndpoint
    from mostate.omadm.http import run_device
    from tests.omadm.serving import line, list_campaign, serve, session
    from tests.omadm.test_session import CAMPAIGN

    url = new_database()
    accounts = [line(f"dev{n}") for n in range(8)]
    campaign = list_campaign(url, CAMPAIGN)

    async def body(where: str, http: ClientSession, _: DmEndpoint) -> list[bool]:
        before = [session(engine, a) for a in accounts[:4]]
        await asyncio.gather(*(run_device(http, where, s) for s in before))
        await asyncio.to_thread(restart_postgres)
        after = [session(engine, a) for a in accounts[4:]]
        await asyncio.gather(*(run_device(http, where, s) for s in after))
        return [s.done and s.refused is None for s in before + after]

    assert serve(engine, url, [campaign], body, accounts=accounts) == [True] * 8
    store = Store(url)
    devices = store.devices()
    store.close()
    assert len(devices) == 8 and all(len(d["steps"]) == 4 for d in devices)
