"""OMA-DM over HTTP in one process: mostate's server endpoint and simulated devices on aiohttp,
the store, SQLite and PostgreSQL (exactly one record per device and step, across restarts and
concurrent sessions), and what the endpoint answers to bad requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("aiohttp", reason="the wire extra is not installed")

from aiohttp import ClientSession

from mostate import DeviceState, Engine
from mostate.omadm import Device
from mostate.omadm.auth import AuthType
from mostate.omadm.client import DeviceSession
from mostate.omadm.endpoint import DmEndpoint
from mostate.omadm.http import run_device
from mostate.omadm.store import Store
from tests.omadm.serving import line, list_campaign, serve, session
from tests.omadm.test_session import CAMPAIGN

T = TypeVar("T")


@pytest.mark.parametrize("wbxml", [False, True], ids=["xml", "wbxml"])
@pytest.mark.parametrize("auth", [AuthType.BASIC, AuthType.MD5, AuthType.HMAC])
def test_concurrent_devices_each_recorded_once(
    engine: Engine, store_at: str, wbxml: bool, auth: AuthType
) -> None:
    accounts = [line(f"dev{i:03d}", auth) for i in range(20)]
    sessions = [session(engine, a) for a in accounts]
    campaign = list_campaign(store_at, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s, wbxml=wbxml) for s in sessions))

    serve(engine, store_at, [campaign], body, accounts=accounts)
    store = Store(store_at)
    records = store.devices()
    store.close()
    assert [d["device"] for d in records] == [f"dev{i:03d}" for i in range(20)]
    assert all([s["status"] for s in d["steps"]] == [200] * 4 for d in records)
    assert all({s["campaign"] for s in d["steps"]} == {"c1"} for d in records)
    assert all(d["sessions"] == 1 and d["authenticated"] for d in records)
    assert all(s.state.service("MMS").instances["op"].locked for s in sessions)


def test_a_restarted_server_sends_a_finished_device_nothing_more(
    engine: Engine, store_at: str
) -> None:
    account = line("dev000")
    campaign = list_campaign(store_at, CAMPAIGN)
    device = session(engine, account)
    serve(engine, store_at, [campaign], lambda url, http, _: run_device(http, url, device),
          accounts=[account])  # fmt: skip
    # A new server on the same store: the device's nonces and records are there.
    again = DeviceSession(
        Device(engine), device.state, device.account, "dev000", nonces=device.nonces
    )
    serve(engine, store_at, [campaign], lambda url, http, _: run_device(http, url, again))
    store = Store(store_at)
    (record,) = store.devices()
    store.close()
    assert record["sessions"] == 2
    assert [s["status"] for s in record["steps"]] == [200] * 4  # not run, not recorded twice
    assert again.state == device.state


def test_bad_requests_get_a_clear_answer_and_change_nothing(engine: Engine, store_at: str) -> None:
    campaign = list_campaign(store_at, CAMPAIGN)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[tuple[int, bytes]]:
        out = []
        for kind, data in [
            ("text/plain", b"hello"),
            ("application/vnd.syncml.dm+xml", b"<SyncML><SyncHdr>"),
            ("application/vnd.syncml.dm+wbxml", b"\x02\xa4\x01\x6a\x00\x6d"),
        ]:
            async with http.post(url, data=data, headers={"Content-Type": kind}) as r:
                out.append((r.status, await r.read()))
        return out

    answers = serve(engine, store_at, [campaign], body, accounts=[line("d")])
    assert [status for status, _ in answers] == [415, 400, 400]
    assert b"not well-formed XML" in answers[1][1]
    assert answers[2][1][:1] == b"\x02"  # a WBXML request is refused in WBXML
    store = Store(store_at)
    assert store.devices() == []
    store.close()


def accounts_file(path: Path, devices: list[str]) -> Path:
    """A provisioning file: each device's id and secrets, as ``dm accounts import`` reads it."""
    lines = [
        {"device": d, "client_secret": f"pw-{d}", "server_secret": f"srv-{d}"} for d in devices
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    path.chmod(0o600)
    return path


@pytest.mark.slow  # three processes: about 4 s here
def test_the_command_line_roles_talk(tmp_path: Path) -> None:
    """dm accounts import, dm serve, dm device (its state saved, its secrets from the
    environment), dm fleet (per-device secrets) and dm report, as an operator runs them."""
    import os
    import subprocess
    import sys

    mostate = [sys.executable, "-m", "mostate"]
    campaign = tmp_path / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in CAMPAIGN))
    store, state = tmp_path / "dm.sqlite", tmp_path / "phone.json"
    fleet_ids = [f"sim-{n:06d}" for n in range(3)]
    for name, ids in (("phone.jsonl", ["phone-1"]), ("fleet.jsonl", fleet_ids)):
        imported = subprocess.run(
            [*mostate, "dm", "accounts", "import", str(accounts_file(tmp_path / name, ids)),
             "--store", str(store)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
    serve = subprocess.Popen(
        [*mostate, "dm", "serve", str(campaign), "--store", str(store), "--port", "0",
         "--sessions", "5"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    env = {
        **os.environ,
        "MOSTATE_CLIENT_SECRET": "pw-phone-1",
        "MOSTATE_SERVER_SECRET": "srv-phone-1",
    }
    try:
        assert serve.stderr is not None
        url = serve.stderr.readline().split("serving ", 1)[1].strip()
        device = subprocess.run(
            [*mostate, "dm", "device", "--server", url, "--state", str(state),
             "--device-id", "phone-1"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert device.returncode == 0, device.stderr
        fleet = subprocess.run(
            [*mostate, "dm", "fleet", "--server", url, "--accounts", str(tmp_path / "fleet.jsonl"),
             "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert fleet.returncode == 0 and json.loads(fleet.stdout)["done"] == 3, fleet.stderr
        # phone-1 again, its state file gone: nothing left to do, and the state file it
        # reports is on disk (before, "state in X.json" was said of a file never written)
        state.rename(tmp_path / "moved.json")
        again = subprocess.run(
            [*mostate, "dm", "device", "--server", url, "--state", str(state),
             "--device-id", "phone-1"],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert again.returncode == 0 and state.exists(), again.stderr
        assert serve.wait(timeout=30) == 0
    finally:
        serve.kill()
    assert json.loads((tmp_path / "moved.json").read_text())["MMS"]["op"]["locked"] is True
    assert json.loads(state.read_text()) == {}  # the second session: an empty device, untouched
    report = subprocess.run(
        [*mostate, "dm", "report", str(store), "--format", "json"], capture_output=True, text=True
    )
    devices = json.loads(report.stdout)
    assert [d["device"] for d in devices] == ["phone-1", *fleet_ids]
    assert devices[0]["sessions"] == 2 and len(devices[0]["steps"]) == 4
    assert devices[0]["devinfo"]["DevId"] == "phone-1"
    wrong = subprocess.run(
        [*mostate, "dm", "device", "--server", "http://127.0.0.1:9/", "--state", str(state)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr


@pytest.mark.slow  # five processes and a PostgreSQL server: 9 to 13 s here
def test_two_servers_on_one_postgresql_store_survive_a_crash(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    """Two dm serve processes share one PostgreSQL store; a dm fleet of the same 20 devices runs
    against each at once; both servers are then killed (SIGKILL, no clean close). dm report
    still shows every device once, every step once with its status, and both sessions."""
    import subprocess
    import sys

    url = new_database()
    mostate = [sys.executable, "-m", "mostate"]
    campaign = tmp_path / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in CAMPAIGN))
    ids = [f"sim-{i:06d}" for i in range(20)]
    accounts = accounts_file(tmp_path / "accounts.jsonl", ids)
    subprocess.run(
        [*mostate, "dm", "accounts", "import", str(accounts), "--store", url], check=True
    )
    serve = [*mostate, "dm", "serve", str(campaign), "--store", url, "--port", "0"]
    servers = [subprocess.Popen(serve, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        urls = [s.stderr.readline().split("serving ", 1)[1].strip() for s in servers if s.stderr]
        fleet = [*mostate, "dm", "fleet", "--accounts", str(accounts), "--format", "json"]
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
    assert [d["device"] for d in devices] == ids
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
    from mostate.omadm.campaigns import PLANS_FILE, ServedCampaign, register

    accounts = [line(d) for d in [*fleet, "not-in-the-plans"]]
    sessions = [session(engine, a, fleet.get(a.device)) for a in accounts]
    where = Store(store_at)
    where.db.write(lambda cursor: register(cursor, "p1", PLANS_FILE))
    where.close()
    served = ServedCampaign("p1", PLANS_FILE, plans=plans)

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s) for s in sessions))

    serve(engine, store_at, [served], body, accounts=accounts)
    store = Store(store_at)
    stored = {d["device"]: d for d in store.devices()}
    store.close()
    *planned_sessions, stranger = sessions
    for one in planned_sessions:
        steps = [s["status"] for s in stored[one.device_id]["steps"]]
        assert steps == [200] * len(plans[one.device_id])
        assert one.state.service("MMS").instances["new"].locked
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
    from mostate.omadm.campaigns import PLANNED, PlanCache, ServedCampaign, tasks_for

    fleet = dict(synthetic_fleet(engine, 8, seed=5))
    fleet["has-new"] = DeviceState.from_json({"MMS": {"new": {"locked": True}}})
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text(
        "".join(json.dumps({"device": d, "state": s.to_json()}) + "\n" for d, s in fleet.items())
    )
    where = str(tmp_path / "dm.sqlite")
    goal = ["--goal", "exists(target) and active(target)", "--target", "new"]
    assert main(["campaign", "plan", str(inventory), *goal, "--store", where]) == 0
    served = [ServedCampaign("new", PLANNED)]
    store = Store(where)
    assert [t.request.op for t in tasks_for(store.db, "has-new", served, PlanCache())] == [
        "set_active"
    ]
    assert tasks_for(store.db, "nobody", served, PlanCache()) == ()
    store.close()
    accounts = [line(d) for d in fleet]
    sessions = [session(engine, a, fleet[a.device]) for a in accounts]

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[Any]:
        return await asyncio.gather(*(run_device(http, url, s) for s in sessions))

    serve(engine, where, served, body, accounts=accounts)
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
    argv = ["dm", "serve", "--planned", "--store", str(tmp_path / store), "--port", "0",
            "--insecure-demo"]  # fmt: skip
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def test_campaign_b_after_campaign_a(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: planning campaign B into the store replaced A's plans and progress (A's report
    fell from reached to not seen), and dm serve --planned counted A's rows, decided the
    device was done and sent it nothing of B. Now each campaign keeps its own, and a device
    gets, in order, the steps of each campaign it has not answered."""
    pytest.importorskip("networkx", reason="the explore extra is not installed")
    from mostate.cli import main
    from mostate.omadm.campaigns import PLANNED, ServedCampaign, planned

    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text('{"device": "phone", "state": {"MMS": {"old": {"active": true}}}}\n')
    where = str(tmp_path / "dm.sqlite")
    plan = ["campaign", "plan", str(inventory), "--store", where]
    a = ["--goal", "exists(target) and active(target)", "--target", "mms-a", "--campaign-id", "A"]
    b = ["--goal", "exists(target) and locked(target)", "--target", "mms-b", "--campaign-id", "B"]
    account = line("phone")
    device = session(engine, account, DeviceState.from_json({"MMS": {"old": {"active": True}}}))

    def serve_planned() -> None:
        store = Store(where)
        served = [ServedCampaign(c, PLANNED) for c in planned(store.db)]
        store.close()
        device.done = False
        serve(engine, where, served, lambda url, http, _: run_device(http, url, device),
              accounts=[account])  # fmt: skip

    def report(campaign: str) -> dict[str, Any]:
        capsys.readouterr()
        argv = ["campaign", "report", "--store", where, "--campaign-id", campaign]
        assert main([*argv, "--format", "json"]) == 0
        return dict(json.loads(capsys.readouterr().out)["devices"])

    assert main([*plan, *a]) == 0
    serve_planned()
    assert report("A")["reached"] == 1
    assert main([*plan, *b]) == 0
    assert report("A")["reached"] == 1  # A untouched by B
    serve_planned()
    assert report("B")["reached"] == 1
    instances = device.state.service("MMS").instances
    assert instances["mms-a"].active and instances["mms-b"].locked
    store = Store(where)
    (record,) = store.devices()
    store.close()
    assert [(s["campaign"], s["request"]["op"]) for s in record["steps"]] == [
        ("A", "add"), ("A", "set_active"), ("B", "add"), ("B", "set_locked")
    ]  # fmt: skip


@pytest.mark.parametrize("client", [AuthType.MD5, AuthType.HMAC])
def test_hmac_both_ways_with_a_challenge_first(
    engine: Engine, tmp_path: Path, client: AuthType
) -> None:
    """A server that authenticates with HMAC signs its answers, the first challenge (before the
    device has proved anything) included, so the device can trust it and answer."""
    where = str(tmp_path / "dm.sqlite")
    account = line("dev", client, AuthType.HMAC)
    campaign = list_campaign(where, CAMPAIGN)
    device = session(engine, account)
    serve(engine, where, [campaign], lambda url, http, _: run_device(http, url, device),
          accounts=[account])  # fmt: skip
    assert device.done and device.refused is None
    assert device.state.service("MMS").instances["op"].locked
