"""The change request's flows end to end against a real DM client written by others:
libdmclient's ``testdmclient`` with mostate's CCS plugin (``interop/libdmclient/plugin``), whose
every Add, Replace, Delete and flag change is decided by the spec's generated C
(``compile --emit c``), against ``mostate dm serve``.

Each flow is a scenario of ``specs/scenarios`` (its steps on the MMS service): consecutive
server steps are one DM session (a campaign ``dm serve`` runs), a user step is the plugin's
``ccs_plugin_user()`` on the device's tree file (a person on the device). Every status, the
queries' results and the device's final tree must be what the Python engine predicts. Both
flag bindings run: node properties (through mostate's patch 02 to libdmclient's core) and leaves
(no change to it); XML and WBXML, and HTTPS.

Known divergences of libdmclient's core, which decides before any plugin is asked:

- inside a Sequence whose confirmation (Alert 1101) the user declined, every command is
  answered 215 without asking the plugin (``dmcore/src/callbacks.c``, ``prv_do_generic_cmd_cb``:
  ``if (internP->sequence && internP->seq_code == OMADM_SYNCML_ERROR_NOT_MODIFIED) code =
  OMADM_SYNCML_ERROR_NOT_EXECUTED``), where the spec answers a refusal that comes before the
  confirmation point (404 for a missing instance) with its own status;
- a Replace of a parameter the instance does not have yet is 404 (``dmcore/src/dmtree.c``,
  ``dmtree_replace``: ``node_exists == OMADM_NODE_NOT_EXIST`` -> NOT_FOUND), where the spec's
  ``replace`` creates it; an Add of an existing instance is 418 before the plugin is asked
  (``dmtree_add``), as the spec says too.

``test_known_divergences`` shows each, so a change on either side is noticed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from mostate import DeviceState, Engine, FrozenMap, Instance, Request, Service, load_spec
from mostate.codegen.cmodule import emit_c
from tests.conftest import CCS, ROOT
from tests.omadm.test_interop_libdmclient import ACCOUNT, report, testdmclient  # noqa: F401

cffi = pytest.importorskip("cffi", reason="cffi (the .[c] extra) is not installed")
from mostate.clib import CompilerMissing, compiler, write_sources  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.slow]

PLUGIN = ROOT / "interop" / "libdmclient" / "plugin" / "ccs_plugin.c"
SCENARIOS = ROOT / "specs" / "scenarios"
SERVICE = "MMS"


@pytest.fixture(scope="module")
def plugin(testdmclient: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The CCS plugin built with the shipped spec's generated C, alone in a plugins folder."""
    try:
        cc = compiler()
    except CompilerMissing as err:
        pytest.skip(str(err))
    folder = tmp_path_factory.mktemp("ccs-plugin")
    write_sources(emit_c(load_spec(CCS), "ccs"), folder / "gen")
    include = testdmclient.parents[1] / "include" / "omadmclient"
    library = folder / "plugins" / "moccs.so"
    library.parent.mkdir()
    strict = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O1", "-shared", "-fPIC"]
    done = subprocess.run(
        [cc, *strict, f"-I{include}", f"-I{folder / 'gen'}", "-o", str(library), str(PLUGIN),
         str(folder / "gen" / "ccs.c")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return library


class Device:
    """libdmclient with the plugin: a tree file, sessions with a server, a user's hand."""

    def __init__(self, binary: Path, plugin: Path, folder: Path, binding: str) -> None:
        self.binary, self.plugin, self.folder, self.binding = binary, plugin, folder, binding
        self.tree = folder / "tree.txt"
        self.sessions = 0
        ffi = cffi.FFI()
        ffi.cdef("int ccs_plugin_user(const char *, const char *, const char *, const char *,"
                 " const char *);")  # fmt: skip
        self.ffi, self.lib = ffi, ffi.dlopen(str(plugin))

    def user(self, request: Request) -> int:
        """A person on the device: the plugin's user side on the tree file."""
        args = request.args
        value = args.get("value")
        text = ("true" if value else "false") if isinstance(value, bool) else value
        return int(
            self.lib.ccs_plugin_user(
                str(self.tree).encode(),
                request.op.encode(),
                (request.instance or "").encode(),
                _c(self.ffi, args.get("param")),
                _c(self.ffi, text),
            )
        )

    def session(self, requests: list[Request], *flags: str, tls: list[str] | None = None,
                ca: Path | None = None, answers: str = "") -> list[dict[str, Any]]:  # fmt: skip
        """One DM session: ``dm serve`` runs ``requests`` as a campaign; the steps it reports."""
        self.sessions += 1
        folder = self.folder / f"session-{self.sessions}"
        folder.mkdir()
        campaign, store = folder / "campaign.jsonl", folder / "dm.sqlite"
        campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in requests))
        shutil.copyfile(self.account_store(), store)
        server = subprocess.Popen(
            [sys.executable, "-m", "mostate", "dm", "serve", str(campaign), "--store", str(store),
             "--root", f"{SERVICE}=./{SERVICE}", "--flags-as", self.binding, "--path",
             "/funambol/dm", "--port", "0", "--sessions", "1", "--server-id", "funambol",
             *(tls or [])],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            url = _served(server)
            client_env = {
                **os.environ,
                "LIBDMCLIENT_SERVER_URL": url,
                "LIBDMCLIENT_PLUGIN_DIR": str(self.plugin.parent),
                "MOSTATE_CCS_STATE": str(self.tree),
                "MOSTATE_CCS_BINDING": self.binding,
            }
            if ca is not None:
                client_env["LIBDMCLIENT_CA_FILE"] = str(ca)
            done = subprocess.run(
                [str(self.binary), *flags], cwd=self.binary.parent, input=answers,
                capture_output=True, text=True, timeout=60, env=client_env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            (device,) = report(store)
            return list(device["steps"])
        finally:
            if server.poll() is None:
                server.kill()
            server.wait(timeout=10)

    def account_store(self) -> Path:
        """A store holding libdmclient's account, made once per device (copied per session)."""
        store = self.folder / "account.sqlite"
        if not store.exists():
            env = {**os.environ, "MOSTATE_CLIENT_SECRET": "funambol",
                   "MOSTATE_SERVER_SECRET": "srvpwd"}  # fmt: skip
            subprocess.run(
                [sys.executable, "-m", "mostate", "dm", "accounts", "add", "DMCtest", "--store",
                 str(store), *ACCOUNT], check=True, env=env, capture_output=True,
            )  # fmt: skip
        return store

    def state(self) -> DeviceState:
        """The device's tree, as the plugin keeps it."""
        records: dict[str, tuple[list[bool], dict[str, str]]] = {}
        name = ""
        for line in self.tree.read_text().splitlines() if self.tree.exists() else []:
            kind, *rest = line.split(" ")
            if kind == "i":
                name = unquote(rest[0])
                records[name] = ([bit == "1" for bit in rest[1:]], {})
            else:
                records[name][1][unquote(rest[0])] = unquote(rest[1]) if len(rest) > 1 else ""
        instances = {
            n: Instance(*flags, params=FrozenMap(params)) for n, (flags, params) in records.items()
        }
        return DeviceState().with_service(SERVICE, Service(FrozenMap(instances)))


def _served(server: subprocess.Popen[str]) -> str:
    assert server.stderr is not None
    line = server.stderr.readline()
    while "serving" not in line and line:
        line = server.stderr.readline()
    assert "serving" in line, line
    return line.split("serving ", 1)[1].strip()


def _c(ffi: Any, text: Any) -> Any:
    return text.encode() if isinstance(text, str) else ffi.NULL


def scenario(name: str) -> list[Request]:
    """A shipped scenario's steps on the MMS service, the server's sent as funambol."""
    out = []
    for line in (SCENARIOS / name).read_text().splitlines():
        obj = json.loads(line)
        for key in ("note", "expect"):
            obj.pop(key, None)
        if obj.get("service") != SERVICE:
            continue
        if obj["actor"] == "server":
            obj["server_id"] = "funambol"
        out.append(Request.from_json(obj))
    return out


def run_flow(device: Device, requests: list[Request], *flags: str, **session: Any) -> None:
    """Every step through the device, each status (and query result) and the final tree held
    to the engine's."""
    engine, state = Engine(load_spec(CCS)), DeviceState()
    expected: list[tuple[int, Any]] = []
    for request in requests:
        outcome = engine.apply(state, request)
        result = (
            outcome.result.to_json() if isinstance(outcome.result, Instance) else outcome.result
        )
        expected.append((int(outcome.status), result))
        state = outcome.state
    got: list[tuple[int, Any]] = []
    index = 0
    while index < len(requests):
        if requests[index].actor.role.value == "user":
            got.append((device.user(requests[index]), None))
            index += 1
            continue
        batch = []
        while index < len(requests) and requests[index].actor.role.value == "server":
            batch.append(requests[index])
            index += 1
        steps = device.session(batch, *flags, **session)
        got += [(s["status"], s.get("result")) for s in steps]
    users = [r.actor.role.value == "user" for r in requests]
    shown = [(s, None if user else r) for (s, r), user in zip(expected, users, strict=True)]
    assert got == shown
    assert device.state() == state.with_service(SERVICE, state.service(SERVICE))


@pytest.fixture
def device(testdmclient: Path, plugin: Path, tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    yield lambda binding: Device(testdmclient, plugin, tmp_path, binding)


@pytest.mark.parametrize(
    ("binding", "flags"),
    [("properties", ()), ("leaves", ("-w",))],
    ids=["properties-xml", "leaves-wbxml"],
)
def test_the_normal_flow(device: Any, binding: str, flags: tuple[str, ...]) -> None:
    run_flow(device(binding), scenario("normal-flow.jsonl"), *flags)


def test_alternative_1_default_and_locked(device: Any) -> None:
    """Includes the user's changes of a Locked instance, each refused with 425 by the C (the
    user's side runs no libdmclient code, so one binding: WBXML, properties)."""
    requests = scenario("alternative-1-default-locked.jsonl")
    assert any(r.actor.role.value == "user" and r.op == "set_active" for r in requests)
    run_flow(device("properties"), requests, "-w")


def test_alternative_3_query_and_lock_over_https(device: Any, tmp_path: Path) -> None:
    """get_active, a get (read leaf by leaf: libdmclient refuses ?list=StructData), a lock."""
    trustme = pytest.importorskip("trustme", reason="trustme (the test extra) is not installed")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["cert"]), append=True)
    tls = ["--tls-cert", str(paths["cert"]), "--tls-key", str(paths["key"])]
    run_flow(device("properties"), scenario("alternative-3-query-and-lock.jsonl"), tls=tls,
             ca=paths["ca"])  # fmt: skip


def test_a_declined_confirmation_is_215(device: Any) -> None:
    """The user says no on the device (testdmclient asks on its standard input)."""
    dev = device("properties")
    add = Request.from_json({"actor": "server", "op": "add", "service": SERVICE, "instance": "a"})
    declined = Request.from_json(
        {**add.to_json(), "op": "set_locked", "value": True, "confirm": "decline"}
    )
    accepted = Request.from_json({**declined.to_json(), "confirm": "accept", "op": "set_active"})
    steps = dev.session([add, declined, accepted], answers="n\ny\n")
    assert [s["status"] for s in steps] == [200, 215, 200]
    assert dev.state() == DeviceState.from_json({SERVICE: {"a": {"active": True}}})


def test_known_divergences(device: Any) -> None:
    dev = device("properties")
    engine, empty = Engine(load_spec(CCS)), DeviceState()
    add = Request.from_json({"actor": "server", "op": "add", "service": SERVICE, "instance": "a"})
    missing = Request.from_json(
        {**add.to_json(), "op": "set_locked", "instance": "gone", "value": True,
         "confirm": "decline"}
    )  # fmt: skip
    new_param = Request.from_json({"actor": "server", "op": "replace", "service": SERVICE,
                                   "instance": "a", "param": "p", "value": "v"})  # fmt: skip
    steps = dev.session([missing, add, new_param], answers="n\n")
    assert int(engine.apply(empty, missing).status) == 404
    after_add = engine.apply(empty, add).state
    assert int(engine.apply(after_add, new_param).status) == 200
    assert [s["status"] for s in steps] == [215, 200, 404]  # callbacks.c; dmtree.c
