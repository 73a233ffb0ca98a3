"""A campaign run as an operator runs it, end to end: a fleet of simulated devices with their
own accounts and states, ``campaign create`` (pre-flight, waves), ``dm serve``'s endpoint on a
real socket, rounds of sessions, and the operator's commands between them.

One device in ten misbehaves: its user declines (the campaign asks for consent), it fails its
commands once (retried at its next session) or three times (its retries spent: failed, then
sent again in bulk), or it acknowledges flags it never sets (found by the read-back). The
canary wave holds more failing devices than the budget allows, so the campaign pauses itself
there; resumed, it goes on wave after wave, and every device ends as the engine predicts: the
plan applied to its inventory state (verified), its state untouched (declined), or the flags
it kept (mismatch, with both records)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from mostate import DeviceState, Engine, Request
from mostate.campaign import synthetic_fleet
from mostate.cli import main
from mostate.omadm import Device
from mostate.omadm.dispatch import DECLINED, DONE, FAILED, MISMATCH, PAUSED, RUNNING, VERIFIED
from mostate.omadm.fleet import Behaviour, SimDevice, connector, run_fleet
from mostate.omadm.runs import run_status
from mostate.omadm.store import Store
from tests.omadm.serving import ServerThread, add_accounts, line, view

GOAL = "exists(target) and active(target)"
DEFINITION = """
id = "mms-2027"
goal = "{goal}"
target = "mms-2027"
params = {{ MMSC = "http://mmsc.operator/2027" }}
consent = true

[[waves]]
name = "canary"
percent = 10
threshold = 0.8

[[waves]]
name = "early"
percent = 30
threshold = 0.8

[[waves]]
name = "everyone"
percent = 60
threshold = 0.8

[budget]
percent = 10

[retry]
retries = 2
backoff_s = 0.2
"""


def _behaviours(waves: dict[str, int], n: int) -> dict[str, Behaviour]:
    """A tenth of the fleet misbehaving: in the canary, some fail three times (past its
    retries and the budget), a fifth; elsewhere, some decline, fail once or lie."""
    canary = sorted(d for d, w in waves.items() if w == 1)
    rest = sorted(d for d, w in waves.items() if w != 1)
    bad = {d: Behaviour(fails=3) for d in canary[: len(canary) // 5]}
    others = n // 10 - len(bad)
    kinds = [Behaviour(declines=True), Behaviour(fails=1), Behaviour(lies=True)]
    for k, device in enumerate(rest[:: max(1, len(rest) // others)][:others]):
        bad[device] = kinds[k % 3]
    return bad


def _round(url: str, engine: Engine, sims: list[SimDevice]) -> None:
    async def go() -> None:
        async with ClientSession(connector=connector(100)) as http:
            run = await run_fleet(http, url, Device(engine), sims, concurrency=100)
            assert run.failed == 0 and run.refused == 0, run.errors

    asyncio.run(go())


def _outcomes(store: str, campaign: str) -> dict[str, tuple[str, Any, Any]]:
    s = Store(store)
    try:
        rows = s.db.read(
            "SELECT device, outcome, expected, observed FROM campaign_devices WHERE campaign = ?",
            (campaign,),
        )
    finally:
        s.close()
    return {d: (o, e and json.loads(e), ob and json.loads(ob)) for d, o, e, ob in rows}


def _status(store: str, campaign: str) -> Any:
    s = Store(store)
    try:
        return run_status(s.db, campaign)
    finally:
        s.close()


def _predicted(engine: Engine, state: DeviceState, plan: list[Request]) -> DeviceState:
    for request in plan:
        state = engine.apply(state, request).state
    return state


def rehearse(tmp_path: Path, engine: Engine, n: int) -> None:
    store = str(tmp_path / "dm.sqlite")
    fleet = list(synthetic_fleet(engine, n, seed=7))
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text(
        "".join(json.dumps({"device": d, "state": s.to_json()}) + "\n" for d, s in fleet)
    )
    definition = tmp_path / "campaign.toml"
    definition.write_text(DEFINITION.format(goal=GOAL))
    argv = ["campaign", "create", str(inventory), "--definition", str(definition)]
    assert main([*argv, "--store", store, "--start"]) == 0
    accounts = [line(d) for d, _ in fleet]
    add_accounts(store, accounts)
    s = Store(store)
    waves = dict(s.db.read("SELECT device, wave FROM campaign_devices"))
    plans = {d: [Request.from_json(r) for r in json.loads(p)]
             for d, p in s.db.read("SELECT device, plan FROM campaign_plans")}  # fmt: skip
    s.close()
    bad = _behaviours(waves, n)
    sims = [
        SimDevice(a.device, view(a), state, bad.get(a.device, Behaviour()))
        for a, (_, state) in zip(accounts, fleet, strict=True)
    ]
    server = ServerThread(engine, store, ["mms-2027"])
    try:
        _run(server.url, engine, store, sims, waves)
    finally:
        server.close()
    _judge(engine, store, fleet, sims, plans, bad)


def _run(
    url: str, engine: Engine, store: str, sims: list[SimDevice], waves: dict[str, int]
) -> None:
    canary = [s for s in sims if waves[s.device_id] == 1]
    _round(url, engine, sims)
    status = _status(store, "mms-2027")
    assert status.state == PAUSED and "failure budget" in (status.reason or ""), status
    assert status.open_waves == 1  # it paused in the canary, before any other wave opened
    failing = status.counts[1].get("retrying", 0)
    assert failing > status.rollout.budget.allowed(sum(status.counts[1].values()))
    before = _outcomes(store, "mms-2027")
    _round(url, engine, canary)  # paused: nobody gets anything
    assert _outcomes(store, "mms-2027") == before
    assert main(["campaign", "resume", "mms-2027", "--store", store]) == 0
    for _ in range(4):  # waves open as each reaches its threshold; the retries come due
        time.sleep(0.5)
        _round(url, engine, sims)
    status = _status(store, "mms-2027")
    # every wave open, every device settled: the canary's thrice-failing devices are failed
    assert (status.open_waves, status.state) == (3, DONE)
    thrice = [s for s in canary if s.behaviour.fails == 3]
    assert status.counts[1].get(FAILED, 0) == len(thrice) > 0
    assert main(["campaign", "retry", "mms-2027", "--failed", "--store", store]) == 0
    assert _status(store, "mms-2027").state == RUNNING
    _round(url, engine, thrice)  # their fourth try: it works


def _judge(
    engine: Engine,
    store: str,
    fleet: list[tuple[str, DeviceState]],
    sims: list[SimDevice],
    plans: dict[str, list[Request]],
    bad: dict[str, Behaviour],
) -> None:
    outcomes = _outcomes(store, "mms-2027")
    start = dict(fleet)
    for sim in sims:
        behaviour = bad.get(sim.device_id, Behaviour())
        predicted = _predicted(engine, start[sim.device_id], plans[sim.device_id])
        outcome, expected, observed = outcomes[sim.device_id]
        if behaviour.declines:
            assert (outcome, sim.state) == (DECLINED, start[sim.device_id]), sim.device_id
        elif behaviour.lies:
            target = predicted.instance("MMS", "mms-2027")
            assert outcome == MISMATCH and target is not None, sim.device_id
            assert expected == {"mms-2027": target.to_json()}
            actual = sim.state.instance("MMS", "mms-2027")
            assert actual is not None and observed == {"mms-2027": actual.to_json()}
        else:
            assert (outcome, sim.state) == (VERIFIED, predicted), sim.device_id
    assert _status(store, "mms-2027").state == DONE


@pytest.mark.slow
def test_a_2000_device_fleet_runs_through_three_waves_as_the_engine_predicts(
    tmp_path: Path, engine: Engine
) -> None:
    rehearse(tmp_path, engine, 2000)
