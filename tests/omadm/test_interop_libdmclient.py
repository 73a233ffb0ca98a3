"""A real OMA-DM client written by others against ``mostate dm serve``: libdmclient (Intel's DM 1.2
client in C), built from ``../shared/interop/libdmclient`` with mostate's patches on top
(``interop/libdmclient``: the test account's server URL and CA file from the environment, so it
reaches a server on a free port, over HTTP or HTTPS). Its test account is otherwise fixed in its
source: it authenticates with Basic funambol/funambol (once: it sends no Cred after 212, so later
messages ride on the RespURI token the server hands out), and expects the server to authenticate
with MD5 digest funambol/srvpwd. Its device id is ``DMCtest``: the server keeps an account for it
(``dm accounts add``).

Its ``./Vendor/memory`` subtree is a writable in-memory tree: the campaign serves it as the
service "Mem", so that Add, Replace, Get and Delete run on a device that knows nothing of
Configuration Context Status, and the flags' ``?prop=`` Gets are refused (406).
"""

from __future__ import annotations

import json
import os
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

BUILD = ROOT / "interop" / "libdmclient" / "build.sh"
KIT = ROOT.parent / "shared" / "interop" / "libdmclient"
STEPS = [
    {"op": "add", "params": {"p": "hello"}},
    {"op": "replace", "param": "p", "value": "world"},
    {"op": "get"},
    {"op": "delete"},
]
ACCOUNT = [
    "--server-id", "funambol", "--client-name", "funambol", "--client-auth", "basic",
    "--server-name", "funambol",
]  # fmt: skip


def requests() -> list[dict[str, Any]]:
    base = {"actor": "server", "server_id": "funambol", "service": "Mem", "instance": "x"}
    return [{**base, **step} for step in STEPS]


@pytest.fixture(scope="module")
def testdmclient() -> Path:
    if not KIT.exists():
        pytest.skip(f"libdmclient's kit is not at {KIT} (../shared is not beside us)")
    done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"libdmclient could not be built here: {done.stderr.strip()[-300:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start ``mostate dm serve`` for one session, with an account for libdmclient's device;
    yields a function that takes the server secret the account holds, the client secret, extra
    options, and returns the store path and the URL served."""
    procs: list[subprocess.Popen[str]] = []

    def start(server_secret: str, client_secret: str = "funambol", *extra: str) -> tuple[Path, str]:
        campaign = tmp_path / "campaign.jsonl"
        campaign.write_text("".join(json.dumps(r) + "\n" for r in requests()))
        store = tmp_path / "dm.sqlite"
        env = {**os.environ, "MOSTATE_CLIENT_SECRET": client_secret,
               "MOSTATE_SERVER_SECRET": server_secret}  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "mostate", "dm", "accounts", "add", "DMCtest",
             "--store", str(store), *ACCOUNT],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "mostate", "dm", "serve", str(campaign),
             "--store", str(store), "--root", "Mem=./Vendor/memory", "--path", "/funambol/dm",
             "--port", "0", "--sessions", "1", "--server-id", "funambol", *extra],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while "serving" not in line and line:  # a warning first, maybe (Basic over HTTP)
            line = proc.stderr.readline()
        assert "serving" in line, line
        return store, line.split("serving ", 1)[1].strip()

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def run_client(
    binary: Path, *flags: str, url: str | None = None, ca: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if url is not None:
        env["LIBDMCLIENT_SERVER_URL"] = url
    if ca is not None:
        env["LIBDMCLIENT_CA_FILE"] = str(ca)
    # Its plugins are found relative to the working folder.
    return subprocess.run(
        [str(binary), *flags], cwd=binary.parent, capture_output=True, text=True, timeout=60,
        env=env,
    )  # fmt: skip


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


def check_steps(device: dict[str, Any]) -> None:
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


@pytest.mark.parametrize("flags", [(), ("-w",)], ids=["xml", "wbxml"])
def test_a_session_with_libdmclient(testdmclient: Path, serve: Any, flags: tuple[str, ...]) -> None:
    store, url = serve("srvpwd")
    client = run_client(testdmclient, *flags, url=url)
    assert client.returncode == 0, client.stderr[-2000:]
    (device,) = report(store)
    check_steps(device)
    # Its messages after the first carry no Cred: they came back to the RespURI token.
    assert "?s=" in client.stderr
    # The 200s also say libdmclient accepted our MD5 digest: with a wrong one nothing runs
    # (the next test).


def test_a_session_with_libdmclient_over_https(
    testdmclient: Path, serve: Any, tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme (the test extra) is not installed")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["cert"]), append=True)
    tls = ["--tls-cert", str(paths["cert"]), "--tls-key", str(paths["key"])]
    store, url = serve("srvpwd", "funambol", *tls)
    assert url.startswith("https://")
    client = run_client(testdmclient, url=url, ca=paths["ca"])
    assert client.returncode == 0, client.stderr[-2000:]
    (device,) = report(store)
    check_steps(device)


def test_libdmclient_refuses_a_server_with_the_wrong_secret(testdmclient: Path, serve: Any) -> None:
    """libdmclient answers 401 to a server whose digest is wrong: it ran nothing, so nothing
    is recorded as a result (the steps would be sent again)."""
    store, url = serve("not-srvpwd")
    run_client(testdmclient, url=url)
    time.sleep(0.5)
    out = subprocess.run(
        [sys.executable, "-m", "mostate", "dm", "report", str(store), "--format", "json"],
        capture_output=True, text=True,
    )  # fmt: skip
    (device,) = json.loads(out.stdout)
    assert device["authenticated"] and device["steps"] == []


def test_a_client_with_the_wrong_secret_gets_nothing_done(testdmclient: Path, serve: Any) -> None:
    store, url = serve("srvpwd", "other")
    client = run_client(testdmclient, url=url)
    assert "<Data>401</Data>" in client.stderr
    assert "<Add>" not in client.stderr.partition("Reply from")[2]  # no command was sent
    time.sleep(0.5)
    out = subprocess.run(
        [sys.executable, "-m", "mostate", "dm", "report", str(store), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout) == []  # not even a row: it never authenticated


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
