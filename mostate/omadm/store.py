"""Where a DM server keeps what it learns: per device, its DevInfo, its nonces, and one record
per request of the campaign. A SQLite file by default; a PostgreSQL database named by a URL for
several servers on one store (see :mod:`mostate.omadm.database`).

Every change is one transaction, durable before the server answers the message that reports it,
so an acknowledged result survives a crash; writers serialise (SQLite's write lock taken up front,
PostgreSQL's ``SERIALIZABLE`` retried on a conflict), so two servers or two sessions on one store
lose no update. A campaign step is recorded once per device: a device that comes back after
finishing is sent nothing more. One schema and one set of statements serve both databases.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .database import Cursor, StoreError, open_with
from .server import Report
from .session import Nonces, Outcome

__all__ = ["Store", "StoreError"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY,
    devinfo TEXT NOT NULL DEFAULT '{{}}',
    for_client {blob} NOT NULL,
    for_server {blob} NOT NULL,
    sessions INTEGER NOT NULL DEFAULT 0,
    authenticated INTEGER NOT NULL DEFAULT 0,
    updated {real} NOT NULL DEFAULT 0
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
_SAVE_NONCES = (
    "INSERT INTO devices (device, for_client, for_server, updated) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET for_client = excluded.for_client,"
    " for_server = excluded.for_server, updated = excluded.updated"
)
_RECORD_DEVICE = (
    "INSERT INTO devices (device, devinfo, for_client, for_server, sessions,"
    " authenticated, updated) VALUES (?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (device) DO UPDATE SET devinfo = excluded.devinfo,"
    " for_client = excluded.for_client, for_server = excluded.for_server,"
    " sessions = devices.sessions + 1, authenticated = excluded.authenticated,"
    " updated = excluded.updated"
)
_RECORD_STEP = (
    "INSERT INTO steps (device, step, request, status, result, note) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device, step) DO UPDATE SET request = excluded.request,"
    " status = excluded.status, result = excluded.result, note = excluded.note"
)


class Store:
    """A server's store: a SQLite file path or a ``postgresql://`` URL (created on first use).

    >>> import tempfile, os
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "dm.sqlite"))
    >>> store.nonces("dev1"), store.finished("dev1", 4)
    (Nonces(for_client=b'', for_server=b''), False)
    """

    def __init__(self, where: str | Path) -> None:
        self._db = open_with(str(where), _SCHEMA)
        self.where = self._db.where
        """The store as named, with a URL's password hidden."""

    def close(self) -> None:
        self._db.close()

    def nonces(self, device: str) -> Nonces:
        rows = self._db.read(
            "SELECT for_client, for_server FROM devices WHERE device = ?", (device,)
        )
        if not rows:
            return Nonces()
        for_client, for_server = rows[0]
        return Nonces(bytes(for_client), bytes(for_server))

    def save_nonces(self, device: str, nonces: Nonces) -> None:
        row = (device, nonces.for_client, nonces.for_server, time.time())
        self._db.write(lambda db: db.execute(_SAVE_NONCES, row))

    def finished(self, device: str, steps: int) -> bool:
        """Whether every one of the campaign's ``steps`` has a status from this device."""
        ((done,),) = self._db.read(
            "SELECT count(*) FROM steps WHERE device = ? AND status IS NOT NULL", (device,)
        )
        return bool(steps) and int(done) >= steps

    def record(self, outcome: Outcome, nonces: Nonces) -> None:
        """One finished session, in one transaction."""
        device = (
            outcome.device,
            json.dumps(outcome.devinfo, sort_keys=True),
            nonces.for_client,
            nonces.for_server,
            int(outcome.authenticated),
            time.time(),
        )
        steps = [_step_row(outcome.device, i, r) for i, r in enumerate(outcome.reports)]

        def work(db: Cursor) -> None:
            db.execute(_RECORD_DEVICE, device)
            if steps:
                db.executemany(_RECORD_STEP, steps)

        self._db.write(work)

    def devices(self) -> list[dict[str, Any]]:
        """Every device seen, with its DevInfo and its steps, in device order."""
        steps: dict[str, list[dict[str, Any]]] = {}
        for device, step, request, status, result, note in self._db.read(
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
            for device, devinfo, sessions, authenticated in self._db.read(
                "SELECT device, devinfo, sessions, authenticated FROM devices ORDER BY device"
            )
        ]


def _step_row(device: str, step: int, report: Report) -> tuple[Any, ...]:
    data = report.to_json()
    result = None if data["result"] is None else json.dumps(data["result"], sort_keys=True)
    return (device, step, json.dumps(data["request"]), report.status, result, report.note)
