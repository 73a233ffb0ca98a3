"""Where a DM server keeps what it learns: each device's account, its authenticated sessions
(DevInfo, nonces, epoch), and one row per campaign step it answered. A SQLite file by default;
a PostgreSQL database named by a URL for several servers on one store (see
:mod:`mostate.omadm.database`; the tables are :mod:`mostate.omadm.schema`'s).

Every change is one transaction, durable before the server answers the message that reports it,
so an acknowledged result survives a crash; writers serialise, so two servers or two sessions on
one store lose no update. Nothing is written for a message that did not authenticate: a device
gets a ``devices`` row when its first session starts (:func:`begin_session`, which also makes
every challenge single-use), and a step gets a row when the device answers it.

The queries are functions of a :class:`~.database.Database` (reads) or a
:class:`~.database.Cursor` (one write transaction), so the server runs them on threads of its own
(:mod:`.worker`) and the command line through :class:`Store`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from .accounts import DeviceAccount
from .auth import AuthType, Key, Secret
from .database import Cursor, Database, StoreError
from .dispatch import Dispatch, settle
from .schema import open_store
from .server import Report
from .session import Nonces, Outcome, Task

__all__ = ["AuthState", "SessionRecord", "Store", "StoreError"]

_KEY_NAME = "challenge"


@attrs.frozen
class AuthState:
    """What the store holds of a device's authentication. ``epoch``: how many sessions it has
    started (challenge nonces are derived from it, so each is good for one session); ``known``:
    whether it has a ``devices`` row (a device that never authenticated has none)."""

    nonces: Nonces = Nonces()
    epoch: int = 0
    known: bool = False


@attrs.frozen
class SessionRecord:
    """What one session leaves in the store: the device's DevInfo and nonces, and the steps it
    answered (and, for a run campaign, the device's new outcome: :func:`.dispatch.settle`).
    ``ended``: the session is over (its count goes up by one)."""

    device: str
    devinfo: dict[str, str]
    nonces: Nonces
    results: tuple[tuple[Task, Report], ...]
    ended: bool = True
    dispatches: tuple[Dispatch, ...] = ()
    """For each run campaign the session sent steps of, what to settle its answers by."""

    @classmethod
    def of(
        cls,
        outcome: Outcome,
        nonces: Nonces,
        *,
        ended: bool = True,
        dispatches: Sequence[Dispatch] = (),
    ) -> SessionRecord:
        return cls(
            outcome.device, outcome.devinfo, nonces, outcome.results(), ended, tuple(dispatches)
        )


# --- the server's key and the accounts -------------------------------------------------------


def server_key(cursor: Cursor) -> bytes:
    """The key challenge nonces are derived from: made at random the first time, then the same
    for every server on the store."""
    rows = cursor.execute("SELECT secret FROM server_keys WHERE name = ?", (_KEY_NAME,))
    if rows:
        return bytes(rows[0][0])
    key = secrets.token_bytes(32)
    cursor.execute("INSERT INTO server_keys (name, secret) VALUES (?, ?)", (_KEY_NAME, key))
    return key


_PUT_ACCOUNT = (
    "INSERT INTO accounts (device, server_id, client_auth, client_name, client_key, server_auth,"
    " server_name, server_key, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET server_id = excluded.server_id,"
    " client_auth = excluded.client_auth, client_name = excluded.client_name,"
    " client_key = excluded.client_key, server_auth = excluded.server_auth,"
    " server_name = excluded.server_name, server_key = excluded.server_key,"
    " added = excluded.added"
)


def put_accounts(cursor: Cursor, accounts: Sequence[DeviceAccount]) -> None:
    """Add or replace accounts (their keys only; a Basic server secret cannot be stored)."""
    now = time.time()
    rows = []
    for a in accounts:
        if isinstance(a.server, Secret):
            raise StoreError(f"{a.device}: the store keeps keys, not a Basic server secret")
        rows.append(
            (
                a.device,
                a.server_id,
                a.client_auth.name.lower(),
                a.client.name,
                a.client.digest,
                a.server_auth.name.lower(),
                a.server.name,
                a.server.digest,
                now,
            )
        )
    if rows:
        cursor.executemany(_PUT_ACCOUNT, rows)


def provision_nonces(cursor: Cursor, nonces: Sequence[tuple[str, bytes]]) -> None:
    """The nonces devices were provisioned with, ``(device, nonce)``, each kept only for a
    device that never started a session (one that has would get a used nonce back)."""
    now = time.time()
    rows = [(device, nonce, b"", now) for device, nonce in nonces if nonce]
    if rows:
        cursor.executemany(
            "INSERT INTO devices (device, for_client, for_server, epoch, updated)"
            " VALUES (?, ?, ?, 0, ?) ON CONFLICT (device) DO NOTHING",
            rows,
        )


def remove_account(cursor: Cursor, device: str) -> bool:
    """Remove a device's account; whether it had one."""
    return bool(cursor.execute("DELETE FROM accounts WHERE device = ? RETURNING 1", (device,)))


def read_account(db: Database, device: str) -> DeviceAccount | None:
    rows = db.read(
        "SELECT server_id, client_auth, client_name, client_key, server_auth, server_name,"
        " server_key FROM accounts WHERE device = ?",
        (device,),
    )
    if not rows:
        return None
    server_id, c_auth, c_name, c_key, s_auth, s_name, s_key = rows[0]
    return DeviceAccount(
        device,
        server_id,
        AuthType.parse(c_auth),
        Key(c_name, c_key),
        AuthType.parse(s_auth),
        Key(s_name, s_key),
    )


def list_accounts(db: Database) -> list[dict[str, Any]]:
    """Every account, in device order, without its keys."""
    rows = db.read(
        "SELECT device, server_id, client_auth, client_name, server_auth, server_name, added"
        " FROM accounts ORDER BY device"
    )
    names = ("device", "server_id", "client_auth", "client_name", "server_auth", "server_name")
    return [{**dict(zip(names, row[:6], strict=True)), "added": row[6]} for row in rows]


class StoredAccounts:
    """The accounts of a store, as an :class:`~.accounts.AccountBook` for one thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def account(self, device: str) -> DeviceAccount | None:
        return read_account(self._db, device)


# --- sessions --------------------------------------------------------------------------------


def read_auth(db: Database, device: str) -> AuthState:
    rows = db.read("SELECT for_client, for_server, epoch FROM devices WHERE device = ?", (device,))
    if not rows:
        return AuthState()
    for_client, for_server, epoch = rows[0]
    return AuthState(Nonces(bytes(for_client), bytes(for_server)), int(epoch), True)


def begin_session(cursor: Cursor, device: str, seen: AuthState, for_client: bytes) -> bool:
    """Start an authenticated session: the device's epoch goes up by one and its next nonce is
    ``for_client``, if the store still holds what ``seen`` read (compare and set). False: some
    other session used the same credentials first (a replay, or the device twice at once)."""
    now = time.time()
    if seen.known:
        rows = cursor.execute(
            "UPDATE devices SET epoch = epoch + 1, for_client = ?, updated = ?"
            " WHERE device = ? AND epoch = ? RETURNING epoch",
            (for_client, now, device, seen.epoch),
        )
    else:
        rows = cursor.execute(
            "INSERT INTO devices (device, for_client, for_server, epoch, updated)"
            " VALUES (?, ?, ?, 1, ?) ON CONFLICT (device) DO NOTHING RETURNING epoch",
            (device, for_client, seen.nonces.for_server, now),
        )
    return bool(rows)


_RECORD_STEP = (
    "INSERT INTO steps (campaign, device, step, request, status, result, note, at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (campaign, device, step) DO UPDATE SET request = excluded.request,"
    " status = excluded.status, result = excluded.result, note = excluded.note, at = excluded.at"
)


def record_session(cursor: Cursor, record: SessionRecord) -> None:
    """What a session learned, in the caller's transaction: the answered steps, and the
    device's DevInfo and nonces (and, once it has ended, one more session)."""
    now = time.time()
    cursor.execute(
        "UPDATE devices SET devinfo = ?, for_client = ?, for_server = ?,"
        " sessions = sessions + ?, authenticated = 1, updated = ? WHERE device = ?",
        (
            json.dumps(record.devinfo, sort_keys=True),
            record.nonces.for_client,
            record.nonces.for_server,
            int(record.ended),
            now,
            record.device,
        ),
    )
    rows = [_step_row(record.device, task, report, now) for task, report in record.results]
    if rows:
        cursor.executemany(_RECORD_STEP, rows)
    for dispatch in record.dispatches:
        reports = {t.step: r for t, r in record.results if t.campaign == dispatch.campaign}
        settle(cursor, record.device, dispatch, reports)


def _step_row(device: str, task: Task, report: Report, at: float) -> tuple[Any, ...]:
    data = report.to_json()
    result = None if data["result"] is None else json.dumps(data["result"], sort_keys=True)
    request = json.dumps(data["request"])
    return (task.campaign, device, task.step, request, report.status, result, report.note, at)


def answered(db: Database, device: str) -> dict[str, set[int]]:
    """The steps ``device`` answered, by campaign: recorded by a server, or gathered some other
    way (``campaign progress``)."""
    out: dict[str, set[int]] = {}
    for table in ("steps", "campaign_progress"):
        for campaign, step in db.read(
            f"SELECT campaign, step FROM {table} WHERE device = ?", (device,)
        ):
            out.setdefault(str(campaign), set()).add(int(step))
    return out


def devices(db: Database) -> list[dict[str, Any]]:
    """Every device that authenticated, with its DevInfo and the steps it answered, in device
    order (steps by campaign order, then step)."""
    steps: dict[str, list[dict[str, Any]]] = {}
    for device, campaign, step, request, status, result, note in db.read(
        "SELECT s.device, s.campaign, s.step, s.request, s.status, s.result, s.note"
        " FROM steps s LEFT JOIN campaigns c ON c.campaign = s.campaign"
        " ORDER BY s.device, c.seq, s.campaign, s.step"
    ):
        steps.setdefault(device, []).append(
            {
                "campaign": campaign,
                "step": step,
                "request": json.loads(request),
                "status": status,
                "result": None if result is None else json.loads(result),
                "note": note,
            }
        )
    return [
        {
            "device": device,
            "devinfo": json.loads(devinfo),
            "sessions": sessions,
            "authenticated": bool(authenticated),
            "steps": steps.get(device, []),
        }
        for device, devinfo, sessions, authenticated in db.read(
            "SELECT device, devinfo, sessions, authenticated FROM devices ORDER BY device"
        )
    ]


class Store:
    """A server's store, for one thread: a SQLite file path or a ``postgresql://`` URL
    (created, or migrated from an older version, on first use).

    >>> import tempfile, os
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
    >>> store.auth("dev1"), store.devices()
    (AuthState(nonces=Nonces(for_client=b'', for_server=b''), epoch=0, known=False), [])
    """

    def __init__(self, where: str | Path) -> None:
        self.db = open_store(str(where))
        self.where = self.db.where
        """The store as named, with a URL's password hidden."""
        self.key = self.db.write(server_key)

    def close(self) -> None:
        self.db.close()

    def add_accounts(
        self, accounts: Iterable[DeviceAccount], nonces: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        """Add or replace accounts, and the nonces devices were provisioned with, in one
        transaction."""
        rows = list(accounts)

        def work(cursor: Cursor) -> None:
            put_accounts(cursor, rows)
            provision_nonces(cursor, nonces)

        self.db.write(work)

    def remove_account(self, device: str) -> bool:
        return self.db.write(lambda cursor: remove_account(cursor, device))

    def account(self, device: str) -> DeviceAccount | None:
        return read_account(self.db, device)

    def accounts(self) -> list[dict[str, Any]]:
        return list_accounts(self.db)

    def has_accounts(self, kind: AuthType | None = None) -> bool:
        """Whether any device has an account (of client auth ``kind``, when given)."""
        if kind is None:
            return bool(self.db.read("SELECT 1 FROM accounts LIMIT 1"))
        sql = "SELECT 1 FROM accounts WHERE client_auth = ? LIMIT 1"
        return bool(self.db.read(sql, (kind.name.lower(),)))

    def plan_texts(self, campaigns: Sequence[str]) -> Iterable[tuple[str, str, str]]:
        """``(campaign, device, plan JSON)`` of every plan of these campaigns, a page at a
        time (a device the goal was unreachable for has none)."""
        for campaign in campaigns:
            last = ""
            while True:
                rows = self.db.read(
                    "SELECT device, plan FROM campaign_plans WHERE campaign = ? AND device > ?"
                    " AND plan IS NOT NULL ORDER BY device LIMIT 5000",
                    (campaign, last),
                )
                yield from ((campaign, str(d), str(p)) for d, p in rows)
                if len(rows) < 5000:
                    break
                last = str(rows[-1][0])

    def auth(self, device: str) -> AuthState:
        return read_auth(self.db, device)

    def begin(self, device: str, seen: AuthState, for_client: bytes) -> bool:
        return self.db.write(lambda cursor: begin_session(cursor, device, seen, for_client))

    def record(self, record: SessionRecord) -> None:
        self.db.write(lambda cursor: record_session(cursor, record))

    def answered(self, device: str) -> dict[str, set[int]]:
        return answered(self.db, device)

    def devices(self) -> list[dict[str, Any]]:
        return devices(self.db)
