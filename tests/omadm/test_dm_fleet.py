"""``dm fleet`` as a campaign's rehearsal: each device from its inventory state, misbehaving as
--behaviour says, for several rounds, against a run that verifies what each device holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import Engine
from mostate.campaign import synthetic_fleet
from mostate.cli import main
from mostate.omadm.dispatch import FAILED, VERIFIED
from mostate.omadm.store import Store
from tests.omadm.serving import ServerThread, add_accounts, line

DEFINITION = """
id = "mms-2027"
goal = "exists(target) and active(target)"
target = "mms-2027"
[[waves]]
percent = 100
[budget]
percent = 100
[retry]
retries = 1
backoff_s = 0
"""


@pytest.mark.slow  # about 2 s: a server, three rounds of 30 devices
def test_a_fleet_from_its_inventory_with_behaviours_over_rounds_ends_as_the_run_predicts(
    tmp_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = list(synthetic_fleet(engine, 30, seed=4))
    assert sum(1 for _, s in fleet if s.to_json()) > 20  # most devices hold instances
    inventory, behaviour = tmp_path / "fleet.jsonl", tmp_path / "behaviour.jsonl"
    accounts = tmp_path / "accounts.jsonl"
    inventory.write_text("".join(json.dumps({"device": d, "state": s.to_json()}) + "\n"
                                 for d, s in fleet))  # fmt: skip
    failing = {d for d, _ in fleet[::5]}
    behaviour.write_text("".join(json.dumps({"device": d, "fails": -1}) + "\n" for d in failing))
    lines = [line(d) for d, _ in fleet]
    accounts.write_text("".join(json.dumps({"device": a.device, "client_secret": a.client.secret,
                                            "server_secret": a.server.secret}) + "\n"
                                for a in lines))  # fmt: skip
    store = str(tmp_path / "dm.sqlite")
    (tmp_path / "c.toml").write_text(DEFINITION)
    argv = ["campaign", "create", str(inventory), "--definition", str(tmp_path / "c.toml")]
    assert main([*argv, "--store", store, "--start"]) == 0
    add_accounts(store, lines)
    server = ServerThread(engine, store, ["mms-2027"])
    try:
        capsys.readouterr()
        code = main(["dm", "fleet", "--server", server.url, "--accounts", str(accounts),
                     "--inventory", str(inventory), "--behaviour", str(behaviour),
                     "--rounds", "3", "--format", "json"])  # fmt: skip
    finally:
        server.close()
    said = json.loads(capsys.readouterr().out)
    assert code == 0 and [r["done"] for r in said["rounds"]] == [30, 30, 30]
    s = Store(store)
    try:
        outcomes = dict(s.db.read("SELECT device, outcome FROM campaign_devices"))
    finally:
        s.close()
    # Verified: each device's read-back equals its plan applied to its inventory state, so each
    # started from that state; those told to fail spent their retry in the second round.
    assert {d for d, o in outcomes.items() if o == FAILED} == failing
    assert {d for d, o in outcomes.items() if o == VERIFIED} == {d for d, _ in fleet} - failing


def test_a_bad_behaviour_or_inventory_line_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "b.jsonl"
    for text, says in (('{"device": "d", "fails": "often"}', "b.jsonl:1: fails"),
                       ('{"fails": 1}', 'b.jsonl:1: each line needs a "device"'),
                       ('{"device": "d", "colour": 1}', "colour: not a behaviour")):  # fmt: skip
        bad.write_text(text + "\n")
        argv = ["dm", "fleet", "--server", "http://127.0.0.1:9/", "--behaviour", str(bad)]
        assert main([*argv, "--insecure-demo"]) == 2
        assert says in capsys.readouterr().err
    bad.write_text('{"device": "d", "state": {"MMS": {"a": {"active": 3}}}}\n')
    assert main(["dm", "fleet", "--server", "http://127.0.0.1:9/", "--inventory", str(bad),
                 "--insecure-demo"]) == 2  # fmt: skip
    assert "b.jsonl" in capsys.readouterr().err
