"""OMA-DM over HTTP in one process: mostate's server endpoint and simulated devices on aiohttp,
the store, SQLite and PostgreSQL (exactly one record per device and step, across restarts and
concurrent sessions), and what the endpoint answers to bad requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("aiohttp", reason="the wire extra is not installed")

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from mostate import DeviceState, Engine
from mostate.omadm import Device
from mostate.omadm.auth import AuthType
from mostate.omadm.client import DeviceSession
from mostate.omadm.http import DmEndpoint, application, run_device
from mostate.omadm.session import Account
from mostate.omadm.store import Store
from tests.omadm.test_session import CAMPAIGN

T = TypeVar("T")


def serve(endpoint: DmEndpoint, body: Callable[[str, ClientSession], Awaitable[T]]) -> T:
    async def main() -> T:
        server = TestServer(application(endpoint, "/dm"))
        await server.start_server()
        try:
            async with ClientSession() as http:
                return await body(str(server.make_url("/dm")), http)
        finally:
            await server.close()

    return asyncio.run(main())


def devices(engine: Engine, account: Account, n: int) -> list[DeviceSession]:
    return [DeviceSession(Device(engine), DeviceState(), account, f"dev{i:03d}") for i in range(n)]


@pytest.mark.parametrize("wbxml", [False, True], ids=["xml", "wbxml"])
@pytest.mark.parametrize("auth", [AuthType.BASIC, AuthType.MD5, AuthType.HMAC])
def test_concurrent_devices_each_recorded_once(
    engine: Engine, store_at: str, wbxml: bool, auth: AuthType
) -> None:
    account = Account(client_auth=auth, server_auth=AuthType.MD5)
    store = Store(store_at)
    endpoint = DmEndpoint(engine, CAMPAIGN, account, store)
    sessions = devices(engine, account, 20)

    async def body(url: str, http: ClientSession) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s, wbxml=wbxml) for s in sessions))

    serve(endpoint, body)
    records = store.devices()
    assert [d["device"] for d in records] == [f"dev{i:03d}" for i in range(20)]
    assert all([s["status"] for s in d["steps"]] == [200] * 4 for d in records)
    assert all(d["sessions"] == 1 and d["authenticated"] for d in records)
    assert all(s.state.service("MMS").instances["op"].locked for s in sessions)


def test_a_restarted_server_sends_a_finished_device_nothing_more(
    engine: Engine, store_at: str
) -> None:
    account = Account(client_auth=AuthType.MD5)
    path = store_at
    first = DmEndpoint(engine, CAMPAIGN, account, Store(path))
    (device,) = devices(engine, account, 1)
    serve(first, lambda url, http: run_device(http, url, device))
    first.store.close()
    # A new server on the same store: the device's nonces and records are there.
    second = DmEndpoint(engine, CAMPAIGN, account, Store(path))
    again = DeviceSession(Device(engine), device.state, account, "dev000", nonces=device.nonces)
    serve(second, lambda url, http: run_device(http, url, again))
    (record,) = second.store.devices()
    assert record["sessions"] == 2
    assert [s["status"] for s in record["steps"]] == [200] * 4  # not run, not recorded twice
    assert again.state == device.state


def test_bad_requests_get_a_clear_answer_and_change_nothing(engine: Engine, store_at: str) -> None:
    endpoint = DmEndpoint(engine, CAMPAIGN, Account(), Store(store_at))

    async def body(url: str, http: ClientSession) -> list[tuple[int, bytes]]:
        out = []
        for kind, data in [
            ("text/plain", b"hello"),
            ("application/vnd.syncml.dm+xml", b"<SyncML><SyncHdr>"),
            ("application/vnd.syncml.dm+wbxml", b"\x02\xa4\x01\x6a\x00\x6d"),
        ]:
            async with http.post(url, data=data, headers={"Content-Type": kind}) as r:
                out.append((r.status, await r.read()))
        return out

    answers = serve(endpoint, body)
    assert [status for status, _ in answers] == [415, 400, 400]
    assert b"not well-formed XML" in answers[1][1]
    assert answers[2][1][:1] == b"\x02"  # a WBXML request is refused in WBXML
    assert endpoint.store.devices() == []


@pytest.mark.slow  # three processes: about 4 s here
def test_the_command_line_roles_talk(tmp_path: Path) -> None:
    """dm serve, dm device (its state saved), dm fleet and dm report, as a user runs them."""
    import json
    import subprocess
    import sys

    mostate = [sys.executable, "-m", "mostate"]
    campaign = tmp_path / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in CAMPAIGN))
    store, state = tmp_path / "dm.sqlite", tmp_path / "phone.json"
    auth = ["--client-auth", "md5", "--client-secret", "s3", "--server-secret", "s4"]
    serve = subprocess.Popen(
        [*mostate, "dm", "serve", str(campaign), "--store", str(store), "--port", "0",
         "--sessions", "4", *auth],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        url = serve.stderr.readline().split("serving ", 1)[1].strip()
        device = subprocess.run(
            [*mostate, "dm", "device", "--server", url, "--state", str(state),
             "--device-id", "phone-1", *auth],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert device.returncode == 0, device.stderr
        fleet = subprocess.run(
            [*mostate, "dm", "fleet", "--server", url, "--devices", "3", "--format", "json",
             *auth],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert fleet.returncode == 0 and json.loads(fleet.stdout)["done"] == 3, fleet.stderr
        assert serve.wait(timeout=30) == 0
    finally:
        serve.kill()
    assert json.loads(state.read_text())["MMS"]["op"]["locked"] is True
    report = subprocess.run(
        [*mostate, "dm", "report", str(store), "--format", "json"], capture_output=True, text=True
    )
    devices = json.loads(report.stdout)
    assert [d["device"] for d in devices] == ["phone-1", "sim-000000", "sim-000001", "sim-000002"]
    assert devices[0]["devinfo"]["DevId"] == "phone-1"
    wrong = subprocess.run(
        [*mostate, "dm", "device", "--server", "http://127.0.0.1:9/", "--state", str(state)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr


@pytest.mark.slow  # five processes and a PostgreSQL server: 9 to 13 s here
def test_two_servers_on_one_postgresql_store_survive_a_crash(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    """Two dm serve processes share one PostgreSQL store; a dm fleet of the same 20 devices runs
    against each at once; both servers are then killed (SIGKILL, no clean close). dm report
    still shows every device once, every step once with its status, and both sessions."""
    import json
    import subprocess
    import sys

    url = new_database()
    mostate = [sys.executable, "-m", "mostate"]
    campaign = tmp_path / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in CAMPAIGN))
    auth = ["--client-auth", "md5", "--server-auth", "md5"]
    serve = [*mostate, "dm", "serve", str(campaign), "--store", url, "--port", "0", *auth]
    servers = [subprocess.Popen(serve, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        urls = [s.stderr.readline().split("serving ", 1)[1].strip() for s in servers if s.stderr]
        fleet = [*mostate, "dm", "fleet", "--devices", "20", "--format", "json", *auth]
        fleets = [
            subprocess.Popen([*fleet, "--server", u], stdout=subprocess.PIPE, text=True)
            for u in urls
        ]
        for run in fleets:
            out, _ = run.communicate(timeout=120)
            assert run.returncode == 0 and json.loads(out)["done"] == 20, out
    finally:
        for server in servers:
            server.kill()  # a crash: acknowledged results must already be in the store
            server.wait(timeout=30)
    report = subprocess.run(
        [*mostate, "dm", "report", url, "--format", "json"], capture_output=True, text=True
    )
    assert report.returncode == 0, report.stderr
    devices = json.loads(report.stdout)
    assert [d["device"] for d in devices] == [f"sim-{i:06d}" for i in range(20)]
    assert all([s["status"] for s in d["steps"]] == [200] * len(CAMPAIGN) for d in devices)
    assert all([s["step"] for s in d["steps"]] == list(range(len(CAMPAIGN))) for d in devices)
    assert all(d["sessions"] == 2 and d["authenticated"] for d in devices)


def test_each_device_gets_its_own_plan_and_the_campaign_report_reads_the_store(
    engine: Engine, store_at: str
) -> None:
    """The campaign's loop: ``campaign plan`` for a fleet, ``dm serve --plans`` sends each
    device the plan made for its id (a device the plans do not name gets nothing), and the
    report read from the store finds every planned device at the goal."""
    pytest.importorskip("networkx", reason="the explore extra is not installed")
    from mostate.campaign import Campaign, plan_inventory, report, results_from_store
    from mostate.campaign.fleet import synthetic_fleet
    from mostate.omadm.plans import read_plans

    campaign = Campaign("exists(target) and active(target) and locked(target)", "new")
    fleet = dict(synthetic_fleet(engine, 12, seed=3))
    fleet["has-new"] = DeviceState.from_json({"MMS": {"new": {}, "old": {"active": True}}})
    fleet["done"] = DeviceState.from_json({"MMS": {"new": {"active": True, "locked": True}}})
    inventory = [json.dumps({"device": d, "state": s.to_json()}) for d, s in fleet.items()]
    out: list[str] = []
    plan_inventory(campaign, inventory, out.append)
    plan_text = "".join(out).splitlines()
    plans = read_plans(plan_text)
    assert [len(plans[d]) for d in ("dev-0000000", "has-new", "done")] == [3, 2, 0]
    account = Account()
    endpoint = DmEndpoint(engine, lambda d: plans.get(d, ()), account, Store(store_at))
    sessions = [DeviceSession(Device(engine), s, account, d) for d, s in fleet.items()]
    stranger = DeviceSession(Device(engine), DeviceState(), account, "not-in-the-plans")

    async def body(url: str, http: ClientSession) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s) for s in [*sessions, stranger]))

    serve(endpoint, body)
    stored = {d["device"]: d for d in endpoint.store.devices()}
    for session in sessions:
        steps = [s["status"] for s in stored[session.device_id]["steps"]]
        assert steps == [200] * len(plans[session.device_id])
        assert session.state.service("MMS").instances["new"].locked
    assert stored["not-in-the-plans"]["steps"] == []
    assert stranger.state == DeviceState()
    results = report(engine, inventory, plan_text, results_from_store(list(stored.values())))
    assert {r.outcome for r in results} == {"reached"}


def test_a_campaign_planned_into_the_store_is_served_from_it(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``campaign plan --store``, then ``dm serve --planned`` on that store, then ``campaign
    report --store``: one store holds the campaign from plan to report."""
    pytest.importorskip("networkx", reason="the explore extra is not installed")
    from mostate.campaign.fleet import synthetic_fleet
    from mostate.cli import main
    from mostate.cli.dm import _planned
    from mostate.omadm import TreeConfig

    fleet = dict(synthetic_fleet(engine, 8, seed=5))
    fleet["has-new"] = DeviceState.from_json({"MMS": {"new": {"locked": True}}})
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text(
        "".join(json.dumps({"device": d, "state": s.to_json()}) + "\n" for d, s in fleet.items())
    )
    where = str(tmp_path / "dm.sqlite")
    goal = ["--goal", "exists(target) and active(target)", "--target", "new"]
    assert main(["campaign", "plan", str(inventory), *goal, "--store", where]) == 0
    plan_for, campaign = _planned(where, engine, TreeConfig())
    assert [r.op for r in plan_for("has-new")] == ["set_active"]
    assert plan_for("nobody") == ()
    account = Account()
    endpoint = DmEndpoint(engine, plan_for, account, Store(where))
    sessions = [DeviceSession(Device(engine), s, account, d) for d, s in fleet.items()]

    async def body(url: str, http: ClientSession) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s) for s in sessions))

    serve(endpoint, body)
    endpoint.store.close()
    campaign.close()
    assert all(s.state.service("MMS").instances["new"].active for s in sessions)
    capsys.readouterr()
    assert main(["campaign", "report", "--store", where, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["devices"]["reached"] == len(fleet)


@pytest.mark.parametrize(
    ("store", "says"),
    [("missing.sqlite", "no such store"), ("empty.sqlite", "no campaign is planned")],
)
def test_serve_planned_needs_a_planned_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store: str, says: str
) -> None:
    from mostate.cli import main

    Store(str(tmp_path / "empty.sqlite")).close()
    argv = ["dm", "serve", "--planned", "--store", str(tmp_path / store), "--port", "0"]
    assert main(argv) == 2
    assert says in capsys.readouterr().err
