"""The store's tables, one schema for the DM server and the campaigns, and how an older store
is brought up to it with nothing lost.

Version 3 (this one) adds what a campaign run as operators run it keeps (:mod:`.runs`):

- ``campaign_runs``: per planned campaign that is *run* (``campaign create``), its definition
  (the :class:`~.rollout.Rollout` as JSON: waves, failure budget, retries, windows,
  verification, the spec's digest), its state (``draft``, ``running``, ``paused``,
  ``cancelled``, ``done``) and why, how many waves are open, and the failures of the open wave
  an operator acknowledged by resuming;
- ``campaign_devices``: per run and device, its wave, its outcome so far, failed attempts, the
  time before which it is not retried, and for a read-back that did not match, both records;
- ``campaign_tally``: devices per run, wave and outcome, kept in the transaction that changes
  an outcome, so that ``campaign status`` and the server's wave and budget decisions read a few
  rows whatever the fleet;
- ``campaign_events``: what happened to a run, in order (started, paused and why, resumed, a
  wave opened).

Version 2 (before runs) had the tables below and no others:

- ``server_keys``: the server's own random keys (the challenge-nonce key), shared by every
  server on the store;
- ``accounts``: a device's DMAcc as the server keeps it (keys, never secrets in clear);
- ``devices``: what a device's authenticated sessions left (DevInfo, nonces, ``epoch``: how
  many sessions it started, which makes each challenge nonce single-use);
- ``campaigns``: each campaign by id, in creation order (``seq``), with its kind: ``list`` (one
  list of requests for every device, kept here), ``planned`` (a plan per device, in
  ``campaign_plans``), ``plans-file`` (plans read from a file by ``dm serve --plans``) or
  ``archive`` (migrated results of unknown plans, reported, never served);
- ``campaign_inventory``: each device's last known state;
- ``campaign_plans``, ``campaign_progress``, ``steps``: per campaign and device, the plan, the
  statuses gathered some other way, and what ``dm serve`` recorded, one row per answered step.
  A status is never NULL: a step nobody answered has no row, and is sent again.

Version 1 (before campaigns had ids) had one campaign's plans and progress and one ``steps``
table per device; :func:`migrate` moves it into version 2 in one transaction: each distinct
planned goal becomes a campaign ``migrated-N``, its plans, progress and served steps go with it,
steps of devices no plan names go to campaign ``migrated-dm-serve`` (an archive), and rows whose
status is NULL (commands never answered, not results) are left out, so those steps are sent
again. The number of each is logged.
"""

from __future__ import annotations

import logging
import time

from .database import Cursor, Database, StoreError, connect

log = logging.getLogger(__name__)

VERSION = 3

_TABLES = """
CREATE TABLE IF NOT EXISTS mostate_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS server_keys (name TEXT PRIMARY KEY, secret {blob} NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    device TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    client_auth TEXT NOT NULL,
    client_name TEXT NOT NULL,
    client_key TEXT NOT NULL,
    server_auth TEXT NOT NULL,
    server_name TEXT NOT NULL,
    server_key TEXT NOT NULL,
    added {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY,
    devinfo TEXT NOT NULL DEFAULT '{{}}',
    for_client {blob} NOT NULL,
    for_server {blob} NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    sessions INTEGER NOT NULL DEFAULT 0,
    authenticated INTEGER NOT NULL DEFAULT 0,
    updated {real} NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS campaigns (
    campaign TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    goal TEXT,
    target TEXT,
    service TEXT,
    requests TEXT,
    created {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_inventory (
    device TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_plans (
    campaign TEXT NOT NULL,
    device TEXT NOT NULL,
    state TEXT NOT NULL,
    plan TEXT,
    unreachable TEXT,
    planned {real} NOT NULL,
    PRIMARY KEY (campaign, device)
);
CREATE TABLE IF NOT EXISTS campaign_progress (
    campaign TEXT NOT NULL,
    device TEXT NOT NULL,
    step INTEGER NOT NULL,
    status INTEGER NOT NULL,
    at {real} NOT NULL,
    PRIMARY KEY (campaign, device, step)
);
CREATE TABLE IF NOT EXISTS steps (
    campaign TEXT NOT NULL,
    device TEXT NOT NULL,
    step INTEGER NOT NULL,
    request TEXT NOT NULL,
    status INTEGER NOT NULL,
    result TEXT,
    note TEXT,
    at {real} NOT NULL,
    PRIMARY KEY (campaign, device, step)
);
CREATE INDEX IF NOT EXISTS plans_by_device ON campaign_plans (device, campaign);
CREATE INDEX IF NOT EXISTS progress_by_device ON campaign_progress (device, campaign);
CREATE INDEX IF NOT EXISTS steps_by_device ON steps (device, campaign)
"""

_V3_TABLES = """
CREATE TABLE IF NOT EXISTS campaign_runs (
    campaign TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    pause TEXT,
    wave INTEGER NOT NULL DEFAULT 0,
    acknowledged INTEGER NOT NULL DEFAULT 0,
    started {real},
    updated {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_devices (
    campaign TEXT NOT NULL,
    device TEXT NOT NULL,
    wave INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_at {real} NOT NULL DEFAULT 0,
    expected TEXT,
    observed TEXT,
    updated {real} NOT NULL,
    PRIMARY KEY (campaign, device)
);
CREATE TABLE IF NOT EXISTS campaign_tally (
    campaign TEXT NOT NULL,
    wave INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    devices INTEGER NOT NULL,
    PRIMARY KEY (campaign, wave, outcome)
);
CREATE TABLE IF NOT EXISTS campaign_events (
    campaign TEXT NOT NULL,
    at {real} NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_devices_by_device ON campaign_devices (device, campaign);
CREATE INDEX IF NOT EXISTS run_devices_by_outcome ON campaign_devices (campaign, outcome, wave);
CREATE INDEX IF NOT EXISTS events_by_campaign ON campaign_events (campaign, at)
"""

_V1_MARKERS = ("devices", "steps", "campaign_plans", "campaign_progress", "campaign_inventory")


def open_store(where: str) -> Database:
    """The database of the store at ``where`` at schema :data:`VERSION`: created, or migrated
    from an older version, in one transaction (StoreError "cannot open the store: ...")."""
    db = connect(where)
    try:
        with db.schema_lock():
            db.write(lambda cursor: ensure(cursor, db))
    except StoreError as err:
        db.close()
        reason = str(err).removeprefix(f"{db.where}: ")
        raise StoreError(f"{db.where}: cannot open the store: {reason}") from None
    return db


def ensure(cursor: Cursor, db: Database) -> None:
    """Bring the tables to :data:`VERSION` inside the caller's transaction."""
    tables = db.tables(cursor)
    version = _version(cursor, tables)
    if version == VERSION:
        return
    if version > VERSION:
        raise StoreError(
            f"{db.where}: the store is at schema version {version}; this mostate knows "
            f"{VERSION}: upgrade mostate"
        )
    moved = _set_aside(cursor, tables) if version == 1 else set()
    if version < 2:
        _create(cursor, db, _TABLES)
    if version == 1:
        migrate(cursor, moved)
    # 2 -> 3 adds tables and changes none of version 2's: a version 2 store keeps every row.
    _create(cursor, db, _V3_TABLES)
    if version:
        log.info("store migrated from schema %d to %d", version, VERSION)
    cursor.execute("DELETE FROM mostate_schema")
    cursor.execute("INSERT INTO mostate_schema (version) VALUES (?)", (VERSION,))


def _create(cursor: Cursor, db: Database, tables: str) -> None:
    for statement in tables.format(blob=db.blob, real=db.real).split(";"):
        if statement.strip():
            cursor.execute(statement)


def _version(cursor: Cursor, tables: set[str]) -> int:
    """The store's schema version: 0 empty, 1 the tables of before campaigns had ids."""
    if "mostate_schema" in tables:
        rows = cursor.execute("SELECT version FROM mostate_schema")
        return int(rows[0][0]) if rows else 0
    return 1 if tables & set(_V1_MARKERS) else 0


_CHANGED = ("devices", "steps", "campaign_plans", "campaign_progress")
"""The version 1 tables whose columns changed (``campaign_inventory`` kept its own)."""


def _set_aside(cursor: Cursor, tables: set[str]) -> set[str]:
    """Copy each version 1 table that changed to ``NAME_v1`` and drop it (a copy rather than a
    rename: the copy takes none of the table's index names, which the new table needs);
    the names set aside."""
    moved = {t for t in _CHANGED if t in tables}
    for table in sorted(moved):
        cursor.execute(f"CREATE TABLE {table}_v1 AS SELECT * FROM {table}")
        cursor.execute(f"DROP TABLE {table}")
    return moved


def migrate(cursor: Cursor, moved: set[str]) -> None:
    """Copy the version 1 tables set aside into the version 2 ones, then drop them (the
    version 3 tables, which version 1 had nothing for, are made empty after)."""
    now = time.time()
    if "devices" in moved:
        cursor.execute(
            "INSERT INTO devices (device, devinfo, for_client, for_server, epoch, sessions,"
            " authenticated, updated) SELECT device, devinfo, for_client, for_server, 0,"
            " sessions, authenticated, updated FROM devices_v1"
        )
    goals: list[tuple[str, str, str]] = []
    if "campaign_plans" in moved:
        goals = _migrate_plans(cursor, now)
    if "campaign_progress" in moved:
        _migrate_progress(cursor, "campaign_plans" in moved)
    if "steps" in moved:
        _migrate_steps(cursor, "campaign_plans" in moved, "devices" in moved, now)
    for table in sorted(moved):
        cursor.execute(f"DROP TABLE {table}_v1")
    log.info("store migrated to schema 2: %d planned campaign(s)", len(goals))


def _migrate_plans(cursor: Cursor, now: float) -> list[tuple[str, str, str]]:
    """One campaign ``migrated-N`` per distinct goal, in the order they were first planned."""
    goals = [
        (str(g), str(t), str(s))
        for g, t, s, _ in cursor.execute(
            "SELECT goal, target, service, min(planned) FROM campaign_plans_v1"
            " GROUP BY goal, target, service ORDER BY min(planned), goal, target, service"
        )
    ]
    for seq, (goal, target, service) in enumerate(goals, 1):
        cursor.execute(
            "INSERT INTO campaigns (campaign, seq, kind, goal, target, service, created)"
            " VALUES (?, ?, 'planned', ?, ?, ?, ?)",
            (f"migrated-{seq}", seq, goal, target, service, now),
        )
    cursor.execute(
        "INSERT INTO campaign_plans (campaign, device, state, plan, unreachable, planned)"
        " SELECT c.campaign, p.device, p.state, p.plan, p.unreachable, p.planned"
        " FROM campaign_plans_v1 p JOIN campaigns c"
        " ON c.goal = p.goal AND c.target = p.target AND c.service = p.service"
    )
    return goals


def _device_campaign(planned: bool, fallback: str) -> str:
    """The SQL for a version 1 row's campaign: its device's migrated plan's, else ``fallback``."""
    if not planned:
        return f"'{fallback}'"
    return (
        "COALESCE((SELECT c.campaign FROM campaign_plans_v1 p JOIN campaigns c"
        " ON c.goal = p.goal AND c.target = p.target AND c.service = p.service"
        f" WHERE p.device = o.device), '{fallback}')"
    )


def _archive(cursor: Cursor, campaign: str) -> None:
    """The archive campaign ``campaign`` (results whose plan is unknown), unless there."""
    if cursor.execute("SELECT 1 FROM campaigns WHERE campaign = ?", (campaign,)):
        return
    (seq,) = cursor.execute("SELECT COALESCE(max(seq), 0) + 1 FROM campaigns")[0]
    cursor.execute(
        "INSERT INTO campaigns (campaign, seq, kind, created) VALUES (?, ?, 'archive', ?)",
        (campaign, int(seq), time.time()),
    )


def _migrate_progress(cursor: Cursor, planned: bool) -> None:
    fallback = "migrated-progress"
    campaign = _device_campaign(planned, fallback)
    cursor.execute(
        "INSERT INTO campaign_progress (campaign, device, step, status, at)"
        f" SELECT {campaign}, o.device, o.step, o.status, o.at FROM campaign_progress_v1 o"
        " WHERE o.status IS NOT NULL"
    )
    dropped = cursor.execute("SELECT count(*) FROM campaign_progress_v1 WHERE status IS NULL")
    log.info("migration: %d progress row(s) without a status left out", dropped[0][0])
    if cursor.execute("SELECT 1 FROM campaign_progress WHERE campaign = ?", (fallback,)):
        _archive(cursor, fallback)


def _migrate_steps(cursor: Cursor, planned: bool, devices: bool, now: float) -> None:
    fallback = "migrated-dm-serve"
    campaign = _device_campaign(planned, fallback)
    at = (
        f"COALESCE((SELECT d.updated FROM devices_v1 d WHERE d.device = o.device), {now!r})"
        if devices
        else repr(now)
    )
    cursor.execute(
        "INSERT INTO steps (campaign, device, step, request, status, result, note, at)"
        f" SELECT {campaign}, o.device, o.step, o.request, o.status, o.result, o.note, {at}"
        " FROM steps_v1 o WHERE o.status IS NOT NULL"
    )
    dropped = cursor.execute("SELECT count(*) FROM steps_v1 WHERE status IS NULL")
    log.info("migration: %d step(s) never answered left out: they are sent again", dropped[0][0])
    if cursor.execute("SELECT 1 FROM steps WHERE campaign = ?", (fallback,)):
        _archive(cursor, fallback)
