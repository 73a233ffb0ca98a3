"""Where a DM server keeps what it learns: per device, its DevInfo, its nonces, and one record
per request of the campaign. SQLite, from the standard library.

Every change is one transaction, committed with ``synchronous=FULL`` before the server answers
the message that reports it, so an acknowledged result survives a crash. The journal is WAL and
writers take the lock up front (``BEGIN IMMEDIATE``) and wait for each other, so two servers or
two sessions on one file lose no update. A campaign step is recorded once per device: a device
that comes back after finishing is sent nothing more.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import MostateError
from .server import Report
from .session import Nonces, Outcome

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY,
    devinfo TEXT NOT NULL DEFAULT '{}',
    for_client BLOB NOT NULL DEFAULT x'',
    for_server BLOB NOT NULL DEFAULT x'',
    sessions INTEGER NOT NULL DEFAULT 0,
    authenticated INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS steps (
    device TEXT NOT NULL,
    step INTEGER NOT NULL,
    request TEXT NOT NULL,
    status INTEGER,
    result TEXT,
    note TEXT,
    PRIMARY KEY (device, step)
);
"""
BUSY_TIMEOUT_S = 30.0


class StoreError(MostateError):
    """A store that cannot be opened or written (its file is not a store, the disk is full)."""


class Store:
    """A server's store in one SQLite file (created on first use).

    >>> import tempfile, os
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
    >>> store.nonces("dev1"), store.finished("dev1", 4)
    (Nonces(for_client=b'', for_server=b''), False)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._write() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
        except sqlite3.Error as err:
            raise StoreError(f"{self.path}: cannot open the store: {err}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def nonces(self, device: str) -> Nonces:
        row = self._db.execute(
            "SELECT for_client, for_server FROM devices WHERE device = ?", (device,)
        ).fetchone()
        return Nonces() if row is None else Nonces(bytes(row[0]), bytes(row[1]))

    def save_nonces(self, device: str, nonces: Nonces) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO devices (device, for_client, for_server, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (device) DO UPDATE SET for_client = excluded.for_client,"
                " for_server = excluded.for_server, updated = excluded.updated",
                (device, nonces.for_client, nonces.for_server, time.time()),
            )

    def finished(self, device: str, steps: int) -> bool:
        """Whether every one of the campaign's ``steps`` has a status from this device."""
        (done,) = self._db.execute(
            "SELECT count(*) FROM steps WHERE device = ? AND status IS NOT NULL", (device,)
        ).fetchone()
        return bool(steps) and int(done) >= steps

    def record(self, outcome: Outcome, nonces: Nonces) -> None:
        """One finished session, in one transaction."""
        with self._write() as db:
            db.execute(
                "INSERT INTO devices (device, devinfo, for_client, for_server, sessions,"
                " authenticated, updated) VALUES (?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (device) DO UPDATE SET devinfo = excluded.devinfo,"
                " for_client = excluded.for_client, for_server = excluded.for_server,"
                " sessions = sessions + 1, authenticated = excluded.authenticated,"
                " updated = excluded.updated",
                (
                    outcome.device,
                    json.dumps(outcome.devinfo, sort_keys=True),
                    nonces.for_client,
                    nonces.for_server,
                    int(outcome.authenticated),
                    time.time(),
                ),
            )
            db.executemany(
                "INSERT OR REPLACE INTO steps (device, step, request, status, result, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [_step_row(outcome.device, i, r) for i, r in enumerate(outcome.reports)],
            )

    def devices(self) -> list[dict[str, Any]]:
        """Every device seen, with its DevInfo and its steps, in device order."""
        steps: dict[str, list[dict[str, Any]]] = {}
        for device, step, request, status, result, note in self._db.execute(
            "SELECT device, step, request, status, result, note FROM steps ORDER BY device, step"
        ):
            steps.setdefault(device, []).append(
                {
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
            for device, devinfo, sessions, authenticated in self._db.execute(
                "SELECT device, devinfo, sessions, authenticated FROM devices ORDER BY device"
            )
        ]


def _step_row(device: str, step: int, report: Report) -> tuple[Any, ...]:
    data = report.to_json()
    result = None if data["result"] is None else json.dumps(data["result"], sort_keys=True)
    return (device, step, json.dumps(data["request"]), report.status, result, report.note)
