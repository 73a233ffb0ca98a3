"""Device accounts as an operator keeps them: ``mostate dm accounts add|import|list|remove``,
secrets from files or the environment (never the command line), kept as digest material (never
in clear), and a server that refuses to start with no way for a device to authenticate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import Engine
from mostate.cli import main
from mostate.omadm.auth import AuthType, Key, Secret
from mostate.omadm.store import Store


def test_accounts_are_added_imported_listed_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    where = str(tmp_path / "dm.sqlite")
    (tmp_path / "pw").write_text("phone-secret-1\n")
    monkeypatch.setenv("MOSTATE_SERVER_SECRET", "server-secret-1")
    argv = ["dm", "accounts", "add", "phone", "--store", where, "--client-secret-file"]
    assert main([*argv, str(tmp_path / "pw")]) == 0
    lines = [
        {"device": f"d{n}", "client_secret": f"c-secret-{n}", "server_secret": f"s-secret-{n}"}
        for n in range(3)
    ]
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text("".join(json.dumps(x) + "\n" for x in lines))
    accounts.chmod(0o644)
    assert main(["dm", "accounts", "import", str(accounts), "--store", where]) == 0
    assert "others may read it" in capsys.readouterr().err  # a file of secrets, world-readable
    assert main(["dm", "accounts", "list", "--store", where, "--format", "json"]) == 0
    listed = capsys.readouterr().out
    assert [a["device"] for a in json.loads(listed)] == ["d0", "d1", "d2", "phone"]
    assert "secret" not in listed.replace("server", "")  # names and types, no secret material
    store = Store(where)
    phone = store.account("phone")
    store.close()
    assert phone is not None and phone.client == Key.of(Secret("phone", "phone-secret-1"))
    assert phone.server == Key.of(Secret("mostate", "server-secret-1"))
    data = Path(where).read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("dm.sqlite*"))
    assert b"phone-secret-1" not in data and b"c-secret-1" not in data  # never in clear
    assert main(["dm", "accounts", "remove", "d1", "--store", where]) == 0
    assert main(["dm", "accounts", "remove", "d1", "--store", where]) == 2
    assert "no account for 'd1'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["add", "phone"], "no client secret"),
        (["add", "x" * 300], "1 to 256 printable characters"),
        (["import", "MISSING"], "cannot read"),
        (["import", "BAD"], "line 1"),
    ],
)
def test_account_errors_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str], says: str,
) -> None:  # fmt: skip
    monkeypatch.delenv("MOSTATE_CLIENT_SECRET", raising=False)
    (tmp_path / "bad").write_text('{"device": "d"}\n')
    args = [a.replace("MISSING", str(tmp_path / "none")).replace("BAD", str(tmp_path / "bad"))
            for a in argv]  # fmt: skip
    assert main(["dm", "accounts", *args, "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_secret_cannot_be_given_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Before: --client-secret and --server-secret, which ps shows to every user."""
    for command in (
        ["dm", "device", "--server", "http://x/", "--state", "s.json"],
        ["dm", "serve"],
    ):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--client-secret", "visible-in-ps"])
        assert exited.value.code == 2
    assert "unrecognized arguments: --client-secret" in capsys.readouterr().err


def test_a_server_with_no_way_to_authenticate_a_device_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: with no options the server accepted Basic mostate:mostate without a word."""
    pytest.importorskip("aiohttp", reason="the wire extra is not installed")
    campaign = tmp_path / "c.jsonl"
    campaign.write_text('{"actor": "server", "op": "add", "service": "MMS", "instance": "a"}\n')
    argv = ["dm", "serve", str(campaign), "--store", str(tmp_path / "s.sqlite"), "--port", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no device accounts" in err and "--insecure-demo" in err


def test_the_default_auth_is_md5_and_basic_without_tls_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mostate.cli.dm_serve import _warn_basic

    monkeypatch.setenv("MOSTATE_CLIENT_SECRET", "c")
    monkeypatch.setenv("MOSTATE_SERVER_SECRET", "s")
    where = str(tmp_path / "s.sqlite")
    assert main(["dm", "accounts", "add", "a", "--store", where]) == 0
    assert main(["dm", "accounts", "add", "b", "--store", where, "--client-auth", "basic"]) == 0
    store = Store(where)
    assert store.account("a").client_auth is AuthType.MD5  # type: ignore[union-attr]
    capsys.readouterr()
    _warn_basic(None, store, None, None)  # type: ignore[arg-type]
    store.close()
    assert "Basic over plain HTTP" in capsys.readouterr().err


def test_a_provisioned_nonce_spares_the_first_challenge_and_is_never_restored(
    engine: Engine, tmp_path: Path
) -> None:
    """A device provisioned with a nonce (its bootstrap's AAuthData) authenticates its first
    message at once; importing the same file after that session does not bring the used nonce
    back (its first message, replayed, stays refused)."""
    pytest.importorskip("aiohttp", reason="the wire extra is not installed")
    import base64

    from aiohttp import ClientSession

    from mostate import DeviceState
    from mostate.omadm import Device, parse_package, write_package
    from mostate.omadm.client import DeviceSession
    from mostate.omadm.endpoint import DmEndpoint
    from mostate.omadm.http import XML_TYPES
    from mostate.omadm.session import Nonces
    from tests.omadm.serving import list_campaign, serve, view
    from tests.omadm.test_session import CAMPAIGN

    where = str(tmp_path / "dm.sqlite")
    nonce = b"bootstrap-nonce!"
    line = {"device": "dev", "client_secret": "pw", "server_secret": "sp",
            "client_nonce": base64.b64encode(nonce).decode()}  # fmt: skip
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text(json.dumps(line) + "\n")
    accounts.chmod(0o600)
    imported = ["dm", "accounts", "import", str(accounts), "--store", where]
    assert main(imported) == 0
    campaign = list_campaign(where, CAMPAIGN)
    from mostate.omadm.accounts import read_account_lines

    (account,) = read_account_lines([json.dumps(line)], "mostate")

    async def post(http: ClientSession, url: str, data: bytes) -> int:
        async with http.post(url, data=data, headers={"Content-Type": XML_TYPES[0]}) as r:
            return parse_package(await r.read()).statuses()[0].code

    async def first(url: str, http: ClientSession, _: DmEndpoint) -> tuple[int, bytes]:
        device = DeviceSession(Device(engine), DeviceState(), view(account), "dev",
                               nonces=Nonces(for_client=nonce))  # fmt: skip
        data = write_package(device.first()).encode()
        return await post(http, url, data), data

    code, captured = serve(engine, where, [campaign], first)
    assert code == 212  # no challenge first
    assert main(imported) == 0  # the same provisioning file again

    async def replay(url: str, http: ClientSession, _: DmEndpoint) -> int:
        return await post(http, url, captured)

    assert serve(engine, where, [campaign], replay) == 401
