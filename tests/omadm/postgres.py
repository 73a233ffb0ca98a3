"""A real, throwaway PostgreSQL server for the store's tests: Debian's binaries (``initdb``,
``pg_ctl``) in a temporary folder, listening on a free port of 127.0.0.1 only, started once per
test session and stopped at its end; each test gets a database of its own.

Skipped with the reason where it cannot be had: psycopg not installed (the ``store-pg`` extra),
no PostgreSQL binaries (``apt-get install postgresql``), or, as root, no ``postgres`` user to run
them as (PostgreSQL refuses to run as root). ``fsync=off``: the server's own durability is not
what these tests check, and it keeps them fast.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

USER = "mostate"
_count = itertools.count()
_RESTART: dict[str, list[str]] = {}
"""How to restart the running server (``pg_ctl ... restart``), by its URL."""


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(versions[-1]).parent if versions else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_owner(owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--"] if owner else []


def _why_not() -> str | None:
    """Why no server can be started here, or None."""
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed: pip install 'mostate[store-pg]'"
    if _binaries() is None:
        return "no PostgreSQL server binaries (initdb): apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser to run PostgreSQL as postgres"
    return None


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """A running throwaway server's URL (its ``postgres`` database, user ``mostate``), stopped
    on exit; RuntimeError saying why when none can be started here. The tests' fixture and the
    benchmarks both use it."""
    reason = _why_not()
    if reason:
        raise RuntimeError(reason)
    bin_dir = _binaries()
    assert bin_dir is not None
    owner = "postgres" if os.geteuid() == 0 else None
    # As root, under /tmp: the postgres user must reach the folder, and $TMPDIR may be root's.
    home = Path(tempfile.mkdtemp(prefix="mostate-pg-", dir="/tmp" if owner else None))
    if owner:
        shutil.chown(home, owner)
    port, data, log = _free_port(), home / "data", home / "log"
    run = _as_owner(owner)
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER]
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off"
    options += " -c max_connections=200"  # the endpoint tests leave their stores to the GC
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
    try:
        subprocess.run([*run, *initdb, "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        subprocess.run([*run, *pg_ctl, "-o", options, "start"], check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        text = log.read_text() if log.exists() else err.stderr.decode(errors="replace")
        shutil.rmtree(home, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL could not be started: {text.strip()[-300:]}") from None
    url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    _RESTART[url] = [*run, *pg_ctl, "-m", "fast", "-o", options, "restart"]
    try:
        yield url
    finally:
        subprocess.run([*run, *pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running throwaway server (its ``postgres`` database), for user ``mostate``."""
    try:
        server = throwaway_server()
        url = server.__enter__()
    except RuntimeError as err:
        pytest.skip(str(err))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def new_database(postgres_server: str) -> Callable[[], str]:
    """Makes a fresh, empty database on the throwaway server and returns its URL."""
    return lambda: new_database_on(postgres_server)


def new_database_on(server: str) -> str:
    """A fresh, empty database on ``server`` (a throwaway server's URL), as a URL."""
    import psycopg

    name = f"store_{os.getpid()}_{next(_count)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def restart_postgres(postgres_server: str) -> Callable[[], None]:
    """Restarts the throwaway server (every connection to it is dropped)."""

    def restart() -> None:
        subprocess.run(_RESTART[postgres_server], check=True, capture_output=True)

    return restart


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new, empty store lives: a SQLite file, or a database on a real PostgreSQL server
    (skipped with the reason where none can be started)."""
    if request.param == "sqlite":
        return str(tmp_path / "dm.sqlite")
    make: Callable[[], str] = request.getfixturevalue("new_database")
    return make()
