"""A real OMA-DM client written by others against ``mostate dm serve``: libdmclient (Intel's DM 1.2
client in C), built from ``../shared/interop/libdmclient``. Its test account is fixed in its
source: server URL http://127.0.0.1:8080/funambol/dm, the client authenticates with Basic
funambol/funambol, and expects the server to authenticate with MD5 digest funambol/srvpwd.

Its ``./Vendor/memory`` subtree is a writable in-memory tree: the campaign serves it as the
service "Mem", so that Add, Replace, Get and Delete run on a device that knows nothing of
Configuration Context Status, and the flags' ``?prop=`` Gets are refused (406).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mostate import Engine, Request
from mostate.omadm import Server, TreeConfig, parse_package, write_package
from mostate.omadm.server import NOT_CCS
from mostate.omadm.tree import ServiceRoot
from tests.conftest import ROOT

pytestmark = [pytest.mark.interop, pytest.mark.slow]

BUILD = ROOT.parent / "shared" / "interop" / "libdmclient" / "build.sh"
PORT = 8080
STEPS = [
    {"op": "add", "params": {"p": "hello"}},
    {"op": "replace", "param": "p", "value": "world"},
    {"op": "get"},
    {"op": "delete"},
]
ACCOUNT = [
    "--server-id", "funambol",
    "--client-name", "funambol", "--client-secret", "funambol",
    "--server-name", "funambol",
]  # fmt: skip


def requests() -> list[dict[str, Any]]:
    base = {"actor": "server", "server_id": "funambol", "service": "Mem", "instance": "x"}
    return [{**base, **step} for step in STEPS]


@pytest.fixture(scope="module")
def testdmclient() -> Path:
    if not BUILD.exists():
        pytest.skip(f"libdmclient's build script is not at {BUILD} (../shared is not beside us)")
    done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"libdmclient could not be built here: {done.stderr.strip()[-300:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def port_free() -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's server does
        try:
            s.bind(("127.0.0.1", PORT))
        except OSError:
            return False
    return True


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start ``mostate dm serve`` for one session on libdmclient's fixed URL; yields a function
    that takes extra options and returns the store path."""
    if not port_free():
        pytest.skip(f"port {PORT}, which libdmclient's test account names, is in use")
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> Path:
        campaign = tmp_path / "campaign.jsonl"
        campaign.write_text("".join(json.dumps(r) + "\n" for r in requests()))
        store = tmp_path / "dm.sqlite"
        proc = subprocess.Popen(
            [sys.executable, "-m", "mostate", "dm", "serve", str(campaign),
             "--store", str(store), "--root", "Mem=./Vendor/memory", "--path", "/funambol/dm",
             "--port", str(PORT), "--sessions", "1", *ACCOUNT, *extra],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "mostate: serving http://..." once it listens
        assert "serving" in line, line
        return store

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def run_client(binary: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    # Its plugins are found relative to the working folder.
    return subprocess.run(
        [str(binary), *flags], cwd=binary.parent, capture_output=True, text=True, timeout=60
    )


def report(store: Path) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = subprocess.run(
            [sys.executable, "-m", "mostate", "dm", "report", str(store), "--format", "json"],
            capture_output=True,
            text=True,
        )
        devices: list[dict[str, Any]] = json.loads(out.stdout or "[]")
        if devices and devices[0]["steps"]:
            return devices
        time.sleep(0.2)
    return devices


@pytest.mark.parametrize("flags", [(), ("-w",)], ids=["xml", "wbxml"])
def test_a_session_with_libdmclient(testdmclient: Path, serve: Any, flags: tuple[str, ...]) -> None:
    store = serve("--server-secret", "srvpwd")
    client = run_client(testdmclient, *flags)
    assert client.returncode == 0, client.stderr[-2000:]
    (device,) = report(store)
    assert device["device"] == "DMCtest" and device["authenticated"]
    assert device["devinfo"]["DevId"] == "DMCtest"  # read from its package 1
    assert device["devinfo"]["Man"] == "test manufacturer"
    statuses = [(s["request"]["op"], s["status"], s["note"]) for s in device["steps"]]
    assert statuses == [
        ("add", 200, None),
        ("replace", 200, None),
        ("get", 406, NOT_CCS),  # a generic DM 1.2 device: no ?prop=Active
        ("delete", 200, None),
    ]
    # The 200s also say libdmclient accepted our MD5 digest: with a wrong one every step is 401
    # (the next test).


def test_libdmclient_refuses_a_server_with_the_wrong_secret(testdmclient: Path, serve: Any) -> None:
    store = serve("--server-secret", "not-srvpwd")
    run_client(testdmclient)
    (device,) = report(store)
    assert {s["status"] for s in device["steps"]} == {401}


def test_a_client_with_the_wrong_secret_gets_nothing_done(testdmclient: Path, serve: Any) -> None:
    store = serve("--server-secret", "srvpwd", "--client-secret", "other")
    client = run_client(testdmclient)
    assert "<Data>401</Data>" in client.stderr
    assert "<Add>" not in client.stderr.partition("Reply from")[2]  # no command was sent
    time.sleep(0.5)
    out = subprocess.run(
        [sys.executable, "-m", "mostate", "dm", "report", str(store), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert all(d["steps"] == [] for d in json.loads(out.stdout))


def test_libdmclient_runs_packages_dm_build_writes(
    testdmclient: Path, engine: Engine, tmp_path: Path
) -> None:
    tree = TreeConfig((ServiceRoot("Mem", "./Vendor/memory"),))
    server = Server(engine, tree, server_id="funambol")
    package, sent = server.build([Request.from_json(r) for r in requests()])
    path = tmp_path / "package.xml"
    path.write_text(write_package(package))
    done = run_client(testdmclient, "-f", str(path))
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
    answer = parse_package(done.stdout.encode())
    reports = server.read(sent, answer)
    assert [(r.status, r.note) for r in reports] == [
        (200, None),
        (200, None),
        (406, NOT_CCS),
        (200, None),
    ]
