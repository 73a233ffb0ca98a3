"""The two databases a :class:`~mostate.omadm.store.Store` lives in, behind one small interface:
a SQLite file (the default, from the standard library) or a PostgreSQL server named by a URL
(``postgresql://user:password@host:port/db``, for several servers on one store; needs psycopg 3,
``pip install 'mostate[store-pg]'``, imported only when such a URL is opened).

The store writes one set of SQL statements for both, with ``?`` placeholders (turned into
psycopg's ``%s`` here) and ``INSERT ... ON CONFLICT`` upserts, which both dialects share; only the
column types of the schema differ. What each promises:

- a write is one transaction that serialises with every other writer and is durable when it
  returns: SQLite takes the write lock up front (``BEGIN IMMEDIATE``, WAL, ``synchronous=FULL``);
  PostgreSQL runs it ``SERIALIZABLE`` with ``synchronous_commit=on`` and runs it again when the
  server aborts it for a conflict with a concurrent writer (SQLSTATE 40001 or 40P01);
- a PostgreSQL connection that the server dropped (a restart, a network cut) is opened again,
  with backoff for up to :data:`RECONNECT_S`, and the statement or transaction run again (the
  store's writes are upserts and compare-and-set updates, so running one twice changes
  nothing more);
- every failure of the database comes out as a :class:`StoreError` that names the store, never
  the password of its URL.

Each :class:`Database` is one connection, used by one thread at a time; a server that must not
wait on the store runs it on threads of its own (:mod:`.worker`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import MostateError

log = logging.getLogger(__name__)
T = TypeVar("T")
BUSY_TIMEOUT_S = 30.0
RETRIES = 50
"""How often a PostgreSQL write aborted by a concurrent writer is run again before giving up."""
RECONNECT_S = 30.0
"""How long a lost PostgreSQL connection is tried again before the call fails."""
_PG_SCHEMES = ("postgresql", "postgres")
_RETRYABLE = ("40001", "40P01")  # serialization_failure, deadlock_detected
_SCHEMA_LOCK = 0x6D6F7374617465  # "mostate": the advisory lock key of schema creation


class StoreError(MostateError):
    """A store that cannot be opened or written (its file is not a store, the disk is full, the
    server is down, the driver is not installed)."""


class Cursor(Protocol):
    """What a transaction is given: run one statement, with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    """A connection to one store's database."""

    where: str
    """The store as its user named it (a URL with its password hidden)."""
    blob: str
    """The schema's type for bytes."""
    real: str
    """The schema's type for a float."""

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def write(self, work: Callable[[Cursor], T]) -> T: ...

    def schema_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held around schema work: one process at a time changes the tables."""
        ...

    def tables(self, cursor: Cursor) -> set[str]:
        """The names of the tables the store holds, as seen by ``cursor``'s transaction."""
        ...

    def close(self) -> None: ...


def is_url(where: str) -> bool:
    """Whether a store is named by a URL (``scheme://...``) rather than a file path.

    >>> is_url("postgresql://dm@db.example/dm"), is_url("dm.sqlite"), is_url("C:/dm.sqlite")
    (True, False, False)
    """
    return "://" in where


def hide_password(url: str) -> str:
    """The URL with its password, in the user part or the query, replaced by ``***``, fit for a
    message or a log.

    >>> hide_password("postgresql://dm:s3cret@db:5432/dm")
    'postgresql://dm:***@db:5432/dm'
    >>> hide_password("postgresql://dm@db/dm?sslmode=require&password=s3cret")
    'postgresql://dm@db/dm?sslmode=require&password=***'
    >>> hide_password("postgresql://db/dm")
    'postgresql://db/dm'
    """
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in query):
        hidden = [(k, "***" if k == "password" else v) for k, v in query]
        parts = parts._replace(query=urlencode(hidden, safe="*/"))
    return urlunsplit(parts)


def connect(where: str) -> Database:
    """The database of the store at ``where``: a PostgreSQL URL or a SQLite file path.

    >>> try:
    ...     connect("mysql://dm:pw@db/dm")
    ... except StoreError as err:
    ...     print(err)
    mysql://dm:***@db/dm: a store is a SQLite file or a postgresql:// URL
    """
    if not is_url(where):
        return SqliteDatabase(where)
    if urlsplit(where).scheme in _PG_SCHEMES:
        return PostgresDatabase(where)
    raise StoreError(f"{hide_password(where)}: a store is a SQLite file or a postgresql:// URL")


class SqliteDatabase:
    """One SQLite file: WAL, ``synchronous=FULL``, writers wait for each other's lock.

    >>> import tempfile, os
    >>> db = SqliteDatabase(os.path.join(tempfile.mkdtemp(), "t.sqlite"))
    >>> db.write(lambda c: c.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)"))
    []
    >>> db.write(lambda c: c.execute("INSERT INTO t VALUES (?, ?) RETURNING n", ("a", 1)))
    [(1,)]
    >>> db.read("SELECT k, n FROM t"), db.close()
    ([('a', 1)], None)
    """

    blob, real = "BLOB", "REAL"

    def __init__(self, path: str) -> None:
        self.where = path
        try:
            # One thread uses a connection at a time (see the module docstring); the worker's
            # threads open theirs, and it closes them from another thread once they are done.
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the store: {err}") from None

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"{self.where}: {err}") from None

    def write(self, work: Callable[[Cursor], T]) -> T:
        try:
            self._db.execute("BEGIN IMMEDIATE")  # waits up to BUSY_TIMEOUT_S for other writers
            try:
                result = work(_SqliteCursor(self._db))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            raise StoreError(f"{self.where}: {err}") from None
        return result

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Nothing to take: a write transaction takes SQLite's one write lock before it reads."""
        yield

    def tables(self, cursor: Cursor) -> set[str]:
        rows = cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(name) for (name,) in rows}

    def close(self) -> None:
        self._db.close()


class _SqliteCursor:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)


class PostgresDatabase:
    """One PostgreSQL database through psycopg 3: each write ``SERIALIZABLE``, retried on a
    conflict, committed with ``synchronous_commit=on`` whatever the server's default."""

    blob, real = "BYTEA", "DOUBLE PRECISION"

    def __init__(self, url: str) -> None:
        self.where = hide_password(url)
        self._url = url
        self._psycopg = _driver(self.where)
        try:
            self._db = self._connect()
        except self._psycopg.Error as err:
            raise StoreError(f"{self.where}: cannot open the store: {_first_line(err)}") from None

    def _connect(self) -> Any:
        db = self._psycopg.connect(self._url, autocommit=True)
        db.execute("SET synchronous_commit = on")
        return db

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._again(lambda: list(self._db.execute(_pg(sql), params).fetchall()))

    def write(self, work: Callable[[Cursor], T]) -> T:
        return self._again(lambda: self._serialized(work))

    def _serialized(self, work: Callable[[Cursor], T]) -> T:
        for attempt in range(RETRIES):
            try:
                return self._attempt(work)
            except self._psycopg.Error as err:
                if err.sqlstate not in _RETRYABLE or attempt == RETRIES - 1:
                    raise
                # Let the writer that won finish; at random, so that the losers do not meet again.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _again(self, call: Callable[[], T]) -> T:
        """``call``, with the connection opened again while the server is unreachable (up to
        RECONNECT_S); any other failure is a StoreError."""
        deadline = time.monotonic() + RECONNECT_S
        pause = 0.05
        while True:
            try:
                return call()
            except self._psycopg.Error as err:
                lost = isinstance(err, self._psycopg.OperationalError) or self._db.broken
                if not lost or time.monotonic() > deadline:
                    raise StoreError(f"{self.where}: {_first_line(err)}") from None
                log.warning("%s: the connection was lost (%s); opening it again", self.where,
                            _first_line(err))  # fmt: skip
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            with contextlib.suppress(self._psycopg.Error):
                self._db.close()
                self._db = self._connect()

    def _attempt(self, work: Callable[[Cursor], T]) -> T:
        self._db.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        try:
            result = work(_PostgresCursor(self._db))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")  # a conflict found at commit raises here, and is retried
        return result

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """A session-level advisory lock, taken before the schema's transaction begins: two
        servers starting at once would otherwise both read the tables of before the other's
        change (``CREATE TABLE IF NOT EXISTS`` is not safe against itself: a duplicate key in
        ``pg_type``; a migration run twice would move moved tables)."""
        self.read("SELECT pg_advisory_lock(?)", (_SCHEMA_LOCK,))
        try:
            yield
        finally:
            with contextlib.suppress(StoreError):
                self.read("SELECT pg_advisory_unlock(?)", (_SCHEMA_LOCK,))

    def tables(self, cursor: Cursor) -> set[str]:
        rows = cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(name) for (name,) in rows}

    def close(self) -> None:
        self._db.close()


class _PostgresCursor:
    def __init__(self, db: Any) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._db.execute(_pg(sql), params)
        return list(cursor.fetchall()) if cursor.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(_pg(sql), rows)


def _pg(sql: str) -> str:
    """The statement with psycopg's placeholders (the store's SQL has no other ``?`` or ``%``).

    >>> _pg("SELECT a FROM t WHERE b = ? AND c = ?")
    'SELECT a FROM t WHERE b = %s AND c = %s'
    """
    return sql.replace("?", "%s")


def _driver(where: str) -> Any:
    """psycopg, imported now that a PostgreSQL store is opened."""
    try:
        return importlib.import_module("psycopg")
    except ModuleNotFoundError:
        raise StoreError(
            f"{where}: a PostgreSQL store needs psycopg: pip install 'mostate[store-pg]'"
        ) from None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
