"""TLS on both roles: a server with a certificate the test's own CA made (trustme), devices that
trust that CA and complete their sessions, and a device that does not trust it, which refuses
to talk (a clear error, no traceback, nothing stored)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="the wire extra is not installed")
pytest.importorskip("trustme", reason="trustme (the test extra) is not installed")

import trustme
from aiohttp import ClientConnectorCertificateError, ClientSession

from mostate import Engine
from mostate.omadm.endpoint import DmEndpoint
from mostate.omadm.http import client_tls, run_device, server_tls
from mostate.omadm.store import Store
from tests.omadm.serving import line, list_campaign, serve, session
from tests.omadm.test_session import CAMPAIGN


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, and a certificate it signed for 127.0.0.1 and localhost, as PEM files."""
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["cert"]), append=True)
    return paths


def test_devices_that_trust_the_ca_complete_their_sessions_over_https(
    engine: Engine, tmp_path: Path, pki: dict[str, Path]
) -> None:
    where = str(tmp_path / "dm.sqlite")
    accounts = [line(f"dev{i}") for i in range(5)]
    campaign = list_campaign(where, CAMPAIGN)
    contexts = (server_tls(str(pki["cert"]), str(pki["key"])), client_tls(str(pki["ca"])))

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> list[Any]:
        assert url.startswith("https://")
        sessions = [session(engine, a) for a in accounts]
        return await asyncio.gather(*(run_device(http, url, s, tls=contexts[1]) for s in sessions))

    done = serve(engine, where, [campaign], body, accounts=accounts, tls=contexts)
    assert all(s.state.service("MMS").instances["op"].locked for s in done)
    store = Store(where)
    assert all([s["status"] for s in d["steps"]] == [200] * 4 for d in store.devices())
    store.close()


def test_a_device_that_does_not_trust_the_certificate_refuses_to_talk(
    engine: Engine, tmp_path: Path, pki: dict[str, Path]
) -> None:
    where = str(tmp_path / "dm.sqlite")
    account = line("dev")
    campaign = list_campaign(where, CAMPAIGN)
    contexts = (server_tls(str(pki["cert"]), str(pki["key"])), client_tls(None))

    async def body(url: str, http: ClientSession, _: DmEndpoint) -> str:
        try:
            await run_device(http, url, session(engine, account), tls=contexts[1])
        except ClientConnectorCertificateError as err:
            return type(err).__name__
        return "talked"

    assert serve(engine, where, [campaign], body, accounts=[account], tls=contexts) != "talked"
    store = Store(where)
    assert store.devices() == []
    store.close()


@pytest.mark.slow  # two processes: about 3 s here
def test_the_command_line_over_https(tmp_path: Path, pki: dict[str, Path]) -> None:
    """dm serve --tls-cert/--tls-key and dm device --ca-file, secrets from files."""
    mostate = [sys.executable, "-m", "mostate"]
    store, state = tmp_path / "dm.sqlite", tmp_path / "phone.json"
    campaign = tmp_path / "campaign.jsonl"
    campaign.write_text("".join(json.dumps(r.to_json()) + "\n" for r in CAMPAIGN))
    (tmp_path / "pw").write_text("device secret\n")
    (tmp_path / "srv").write_text("server secret\n")
    secrets = [
        "--client-secret-file",
        str(tmp_path / "pw"),
        "--server-secret-file",
        str(tmp_path / "srv"),
    ]
    subprocess.run(
        [*mostate, "dm", "accounts", "add", "phone", "--store", str(store), *secrets], check=True
    )
    tls = ["--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])]
    serve = subprocess.Popen(
        [*mostate, "dm", "serve", str(campaign), "--store", str(store), "--port", "0",
         "--sessions", "1", *tls],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        url = serve.stderr.readline().split("serving ", 1)[1].strip()
        assert url.startswith("https://")
        device = [*mostate, "dm", "device", "--server", url, "--state", str(state),
                  "--device-id", "phone", *secrets]  # fmt: skip
        untrusted = subprocess.run(device, capture_output=True, text=True, timeout=60)
        assert untrusted.returncode == 2 and "certificate" in untrusted.stderr.lower()
        assert "Traceback" not in untrusted.stderr
        trusted = subprocess.run([*device, "--ca-file", str(pki["ca"])], capture_output=True,
                                 text=True, timeout=60)  # fmt: skip
        assert trusted.returncode == 0, trusted.stderr
        assert serve.wait(timeout=30) == 0
    finally:
        serve.kill()
    assert json.loads(state.read_text())["MMS"]["op"]["locked"] is True
