"""``mostate run`` writes per line what changed (so its output grows with the trace, not with the
trace times the device), reads '-' as standard input, and answers a line it cannot read (not
JSON, not UTF-8) with 400 and goes on; a BOM is not a bad first line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, load_spec
from mostate.cli import main
from mostate.patch import apply_patch

ROOT = Path(__file__).resolve().parents[2]
ADD = {"actor": "server", "op": "add", "service": "MMS", "instance": "a"}
ACTIVATE = {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a", "value": True}
DELETE = {"actor": "server", "op": "delete", "service": "MMS", "instance": "a"}


def lines_of(*requests: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in requests)


def run(data: bytes, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mostate", "run", *argv, "-"],
        input=data,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )


def run_here(
    data: bytes,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, list[str], str]:
    """``mostate ARGV`` in this process, ``data`` its standard input: the exit code, the lines
    printed and what went to stderr."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_the_changes_of_each_line_rebuild_every_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests = [ADD, ACTIVATE, {**ADD, "instance": "b"}, {**ACTIVATE, "instance": "b"}, DELETE]
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(lines_of(*requests))
    assert main(["run", str(trace)]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed[4]["changes"] == {"MMS": {"a": None}}
    assert printed[1]["changes"] == {"MMS": {"a": {"active": True}}}
    engine, state, rebuilt = Engine(load_spec()), DeviceState(), {}
    for request, line in zip(requests, printed, strict=True):
        state = engine.apply(state, Request.from_json(request)).state
        rebuilt = apply_patch(rebuilt, line["changes"])
        assert rebuilt == state.to_json()
        assert "state" not in line


@pytest.mark.slow  # about 1.5 s here (2 cores): 2,000 requests through a subprocess
def test_the_output_grows_with_the_trace_not_with_the_device() -> None:
    adds = [{**ADD, "instance": f"i{n}"} for n in range(2000)]
    done = run(lines_of(*adds))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2000
    # each line says what its add created, whatever the device holds by then (the whole state
    # after every line was 189 MB)
    assert max(len(line) for line in lines) < 300
    assert json.loads(lines[-1])["changes"] == {
        "MMS": {"i1999": {"active": False, "default": False, "locked": False, "params": {}}}
    }


def test_a_line_that_is_not_utf8_is_a_400_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = lines_of(ADD) + b'{"actor": "server", "op": "\xff\xfe"}\n' + lines_of(ACTIVATE)
    code, out, err = run_here(data, ["run", "--status-only", "-"], monkeypatch, capsys)
    assert [json.loads(line)["status"] for line in out] == [200, 400, 200]
    assert code == 2 and "line 2: not UTF-8 text" in err


def test_a_bom_does_not_make_line_1_a_400(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_here(
        b"\xef\xbb\xbf" + lines_of(ADD), ["run", "--status-only", "-"], monkeypatch, capsys
    )
    assert code == 0 and json.loads(out[0])["status"] == 200, err
    state = tmp_path / "s.json"
    state.write_bytes(b'\xef\xbb\xbf{"MMS": {"a": {}}}')
    argv = ["run", "--status-only", "--state", str(state), "-"]
    code, out, err = run_here(lines_of(ACTIVATE), argv, monkeypatch, capsys)
    assert code == 0 and json.loads(out[0])["status"] == 200, err


def test_stdin_can_be_read_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_here(b"{}", ["run", "--state", "-", "-"], monkeypatch, capsys)
    assert code == 2 and "cannot both be '-'" in err


@pytest.mark.slow  # about 2 s here (2 cores): a proof of a spec read from standard input
def test_check_and_the_spec_read_stdin_too() -> None:
    log = lines_of({**ADD, "expect": {"status": 200}})
    done = subprocess.run(
        [sys.executable, "-m", "mostate", "check", "-"], input=log, capture_output=True, cwd=ROOT
    )
    assert done.returncode == 0 and b"1 expectations, 0 divergences" in done.stdout, done.stderr
    spec = (ROOT / "specs" / "ccs.toml").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "mostate", "verify", "-", "--bound", "1", "--depth", "0"],
        input=spec,
        capture_output=True,
        cwd=ROOT,
    )
    assert done.returncode == 0 and b"<stdin>" in done.stdout, done.stderr
