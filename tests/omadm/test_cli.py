"""``mostate dm process`` and ``mostate dm build``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate.cli import main
from mostate.omadm import parse_package

SCENARIOS = Path(__file__).resolve().parents[2] / "specs" / "scenarios"


def codes(text: str) -> list[tuple[str, int]]:
    return [(s.cmd, s.code) for s in parse_package(text).statuses()]


def test_build_then_process_updates_the_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = SCENARIOS / "alternative-3-query-and-lock.jsonl"
    assert main(["dm", "build", str(trace), "--server-id", "srv1"]) == 0
    built = capsys.readouterr()
    assert "left out 3 user request(s)" in built.err
    package = parse_package(built.out)
    assert package.header.source == "srv1"
    (tmp_path / "p.xml").write_text(built.out)
    state = tmp_path / "state.json"
    state.write_text("{}")
    assert main(["dm", "process", str(tmp_path / "p.xml"), "--state", str(state)]) == 0
    out = capsys.readouterr().out
    assert ("SyncHdr", 200) in codes(out)
    assert all(code == 200 for _, code in codes(out))
    after = json.loads(state.read_text())
    assert sorted(after["MMS"]) == ["a", "b", "c"] and after["MMS"]["b"]["locked"]
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden == [".state.json.lock"]  # no temporary file left, only the writers' lock


def test_process_with_answers_and_leaf_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(
        '{"actor": "server", "op": "set_active", "service": "MMS", "instance": "b", '
        '"value": true, "confirm": "accept"}\n'
    )
    assert main(["dm", "build", str(trace), "--flags-as", "leaves"]) == 0
    xml, err = capsys.readouterr()
    assert "the trace's answers, for dm process: --answer accept" in err
    assert "./MMS/b/Ext/CCS/Active" in xml
    (tmp_path / "p.xml").write_text(xml)
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"MMS": {"a": {"active": True}, "b": {}}}))
    args = ["dm", "process", str(tmp_path / "p.xml"), "--state", str(state), "--flags-as", "leaves"]
    assert main([*args, "--answer", "no"]) == 0
    assert ("Replace", 215) in codes(capsys.readouterr().out)
    assert json.loads(state.read_text())["MMS"]["a"]["active"] is True
    assert main([*args, "--answer", "yes"]) == 0
    assert ("Replace", 200) in codes(capsys.readouterr().out)
    assert json.loads(state.read_text())["MMS"]["b"]["active"] is True


def test_a_refused_package_leaves_the_state_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<SyncML><SyncHdr><SessionID>4</SessionID>")
    state = tmp_path / "s.json"
    state.write_text('{"MMS": {"a": {}}}')
    before = state.read_text()
    assert main(["dm", "process", str(bad), "--state", str(state)]) == 2
    captured = capsys.readouterr()
    assert codes(captured.out) == [("SyncHdr", 400)]
    assert "not well-formed XML" in captured.err
    assert state.read_text() == before


def test_acl_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"actor": "server", "op": "add", "service": "MMS", "instance": "n"}\n')
    main(["dm", "build", str(trace), "--server-id", "intruder"])
    (tmp_path / "p.xml").write_text(capsys.readouterr().out)
    state = tmp_path / "s.json"
    state.write_text("{}")
    acl = ["--acl", "./MMS=Add=operator&Get=*"]
    assert main(["dm", "process", str(tmp_path / "p.xml"), "--state", str(state), *acl]) == 0
    assert ("Add", 425) in codes(capsys.readouterr().out)
    assert json.loads(state.read_text()) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--acl", "./MMS=Copy=*"], "unknown command 'Copy'"),
        (["--root", "MMS"], "expected SERVICE=PATH[=URN]"),
        (["--root", "MMS=./A//B"], "empty or relative segment"),
    ],
)
def test_bad_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text("")
    assert main(["dm", "build", str(trace), *args]) == 2
    assert message in capsys.readouterr().err


def test_build_refuses_a_malformed_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"actor": "server", "op": "set_active", "service": "MMS", "instance": "a"}\n')
    assert main(["dm", "build", str(trace)]) == 2
    assert "'value' must be true or false" in capsys.readouterr().err


def test_answers_are_given_in_order_in_the_traces_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "t.jsonl"
    lines = [
        {
            "actor": "server",
            "op": "set_active",
            "service": "MMS",
            "instance": i,
            "value": True,
            "confirm": c,
        }
        for i, c in (("a", "decline"), ("b", "accept"))
    ]
    trace.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["dm", "build", str(trace), "--flags-as", "leaves"]) == 0
    xml, err = capsys.readouterr()
    replay = err.split("for dm process: ")[1].split()
    assert replay == ["--answer", "decline", "--answer", "accept"]
    (tmp_path / "p.xml").write_text(xml)
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"MMS": {"a": {}, "b": {}}}))
    args = ["dm", "process", str(tmp_path / "p.xml"), "--state", str(state), "--flags-as", "leaves"]
    assert main([*args, *replay]) == 0
    assert [c for c in codes(capsys.readouterr().out) if c[0] == "Replace"] == [
        ("Replace", 215),
        ("Replace", 200),
    ]
    after = json.loads(state.read_text())["MMS"]
    assert after["a"]["active"] is False and after["b"]["active"] is True
    with pytest.raises(SystemExit) as exited:
        main([*args, "--answer", "maybe"])
    assert exited.value.code == 2
    assert "'maybe' is not one of accept, decline, cancel, timeout" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("plans", "says"),
    [
        (None, "give one of CAMPAIGN.jsonl, --plans PLANS.jsonl and --planned"),
        ('{"device": "d", "plan": [{"actor": "server", "op": "fly"}]}\n', "device 'd': fly"),
        ('{"device": "d", "plan": "add"}\n', "neither 'plan' (a list) nor 'unreachable'"),
        ('{"device": "d", "unreachable": "x"}\n{"device": "d", "plan": []}\n', "line 2:"),
        ("[1, 2]\n", "line 1: not a JSON object"),
    ],
)
def test_serve_refuses_bad_plans_before_it_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plans: str | None, says: str
) -> None:
    """A plans file that does not read, or a request with no SyncML form, is exit 2 with the
    file and line before any device is served; so is giving both CAMPAIGN and --plans, or
    neither."""
    pytest.importorskip("aiohttp", reason="the wire extra is not installed")
    argv = ["dm", "serve", "--store", str(tmp_path / "s.sqlite"), "--port", "0"]
    if plans is not None:
        path = tmp_path / "plans.jsonl"
        path.write_text(plans)
        argv += ["--plans", str(path)]
    assert main(argv) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "s.sqlite").exists()
