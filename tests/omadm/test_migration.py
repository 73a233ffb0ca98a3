"""A store made before campaigns had ids (schema version 1: the tables as the server and
``campaign plan --store`` made them then) is moved to the current version the first time it is
opened, in one transaction, with nothing lost: each planned goal becomes a campaign, its plans,
progress and served steps go with it, steps no plan names are kept in an archive campaign,
and a step that was never answered (a NULL status, not a result) is left to be sent again.
A version 2 store (campaigns with ids, no runs) gains the tables of runs and keeps every row."""

from __future__ import annotations

import json

import pytest

from mostate.cli import main
from mostate.omadm.campaign_store import CampaignGoal, CampaignStore
from mostate.omadm.database import Cursor, connect
from mostate.omadm.schema import VERSION
from mostate.omadm.store import Store

V1 = """
CREATE TABLE devices (device TEXT PRIMARY KEY, devinfo TEXT NOT NULL DEFAULT '{{}}',
    for_client {blob} NOT NULL, for_server {blob} NOT NULL, sessions INTEGER NOT NULL DEFAULT 0,
    authenticated INTEGER NOT NULL DEFAULT 0, updated {real} NOT NULL DEFAULT 0);
CREATE TABLE steps (device TEXT NOT NULL, step INTEGER NOT NULL, request TEXT NOT NULL,
    status INTEGER, result TEXT, note TEXT, PRIMARY KEY (device, step));
CREATE TABLE campaign_inventory (device TEXT PRIMARY KEY, state TEXT NOT NULL,
    updated {real} NOT NULL);
CREATE TABLE campaign_plans (device TEXT PRIMARY KEY, state TEXT NOT NULL, goal TEXT NOT NULL,
    target TEXT NOT NULL, service TEXT NOT NULL, plan TEXT, unreachable TEXT,
    planned {real} NOT NULL);
CREATE TABLE campaign_progress (device TEXT NOT NULL, step INTEGER NOT NULL, status INTEGER,
    at {real} NOT NULL, PRIMARY KEY (device, step))
"""
ADD = json.dumps({"actor": "server", "op": "add", "service": "MMS", "instance": "new"})
PLAN = json.dumps([json.loads(ADD)])


def version_1(where: str) -> None:
    """A version 1 store: two devices served (one planned, one not), two goals planned."""
    db = connect(where)

    def fill(c: Cursor) -> None:
        for statement in V1.format(blob=db.blob, real=db.real).split(";"):
            if statement.strip():
                c.execute(statement)
        c.executemany(
            "INSERT INTO devices VALUES (?, ?, ?, ?, ?, 1, ?)",
            [("a", '{"DevId": "a"}', b"ca", b"sa", 3, 10.0), ("z", "{}", b"cz", b"sz", 1, 11.0)],
        )
        c.executemany(
            "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?)",
            [("a", 0, ADD, 200, None, None), ("a", 1, ADD, None, None, "no Status for command 4"),
             ("z", 0, ADD, 418, None, None)],
        )  # fmt: skip
        c.executemany(
            "INSERT INTO campaign_inventory VALUES (?, ?, 1.0)", [("a", "{}"), ("b", "{}")]
        )
        c.executemany(
            "INSERT INTO campaign_plans VALUES (?, '{}', ?, 'new', 'MMS', ?, ?, ?)",
            [
                ("a", "exists(target)", PLAN, None, 1.0),
                ("b", "active(target)", None, "locked", 2.0),
            ],
        )
        c.executemany(
            "INSERT INTO campaign_progress VALUES (?, ?, ?, 5.0)", [("a", 0, 200), ("b", 0, None)]
        )

    db.write(fill)
    db.close()


def test_a_version_1_store_is_migrated_with_nothing_lost(store_at: str) -> None:
    path = store_at
    version_1(path)
    store = Store(path)
    devices = {d["device"]: d for d in store.devices()}
    assert store.db.read("SELECT version FROM mostate_schema") == [(VERSION,)] == [(3,)]
    assert store.db.read("SELECT count(*) FROM campaign_runs") == [(0,)]
    assert devices["a"]["sessions"] == 3 and devices["a"]["devinfo"] == {"DevId": "a"}
    assert [(s["campaign"], s["step"], s["status"]) for s in devices["a"]["steps"]] == [
        ("migrated-1", 0, 200)  # step 1 was never answered: it is sent again
    ]
    assert [(s["campaign"], s["status"]) for s in devices["z"]["steps"]] == [
        ("migrated-dm-serve", 418)
    ]
    assert store.auth("a").nonces.for_client == b"ca" and store.auth("a").epoch == 0
    assert store.answered("a") == {"migrated-1": {0}}
    store.close()
    campaigns = CampaignStore(path)
    assert campaigns.campaigns() == [
        ("migrated-1", "planned", CampaignGoal("exists(target)", "new", "MMS")),
        ("migrated-2", "planned", CampaignGoal("active(target)", "new", "MMS")),
        ("migrated-dm-serve", "archive", None),
    ]
    assert [p.device for p in campaigns.plans("migrated-1")] == ["a"]
    assert [p.unreachable for p in campaigns.plans("migrated-2")] == ["locked"]
    assert campaigns.progress("migrated-1") == {"a": (200,)}
    assert campaigns.progress("migrated-2") == {}
    assert dict(campaigns.inventory()) == {"a": "{}", "b": "{}"}
    campaigns.close()
    again = Store(path)  # opened again: already at the current version, nothing moves
    assert len(again.devices()) == 2
    again.close()


def test_dm_report_reads_a_migrated_store(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    path = f"{tmp_path}/old.sqlite"
    version_1(path)
    assert main(["dm", "report", path, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(d["device"], len(d["steps"])) for d in report] == [("a", 1), ("z", 1)]


V2_ONLY = ("campaign_runs", "campaign_devices", "campaign_tally", "campaign_events")


def version_2(where: str) -> None:
    """A version 2 store: what this mostate makes, less the tables version 3 added."""
    Store(where).close()
    db = connect(where)

    def back(c: Cursor) -> None:
        for table in V2_ONLY:
            c.execute(f"DROP TABLE {table}")
        c.execute("UPDATE mostate_schema SET version = 2")
        c.execute(
            "INSERT INTO campaigns (campaign, seq, kind, goal, target, service, created)"
            " VALUES ('c1', 1, 'planned', 'exists(target)', 'new', 'MMS', 1.0)"
        )
        c.execute(
            "INSERT INTO steps (campaign, device, step, request, status, at)"
            " VALUES ('c1', 'a', 0, ?, 200, 2.0)",
            (ADD,),
        )

    db.write(back)
    db.close()


def test_a_version_2_store_gains_the_tables_of_runs_and_keeps_every_row(store_at: str) -> None:
    version_2(store_at)
    store = Store(store_at)
    assert store.db.read("SELECT version FROM mostate_schema") == [(3,)]
    assert store.answered("a") == {"c1": {0}}
    assert store.db.read("SELECT campaign, kind FROM campaigns") == [("c1", "planned")]
    for table in V2_ONLY:  # each new table is there, and empty
        assert store.db.read(f"SELECT count(*) FROM {table}") == [(0,)]
    store.close()
