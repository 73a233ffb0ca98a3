"""``mostate mutate``: the table, the JSON objects and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate.cli import main
from tests.conftest import ccs_without


def test_json_lists_every_mutant_with_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mutate", "--operator", "add_actor", "--format", "json", "--jobs", "1"]
    code = main([*argv, "--every-kill"])
    doc = json.loads(capsys.readouterr().out)
    assert {m["operator"] for m in doc["mutants"]} == {"add_actor"}
    assert code == doc["exit"] == (0 if doc["score"] == 100.0 else 1)
    assert sum(doc["counts"].values()) == len(doc["mutants"])
    lock_checks = [
        m for m in doc["mutants"] if "/locked: also refuses the server" in m["description"]
    ]
    assert len(lock_checks) == 5  # delete, delete_param, replace, set_active, set_default
    for m in lock_checks:
        assert m["verdict"] == "killed"
        assert {"checker": "z3", "property": "locks_never_block_server"} in m["killed_by"]
        assert m["location"].startswith("ccs.toml:")


@pytest.mark.slow  # about 1 s here (2 cores)
def test_by_default_a_kill_is_named_by_the_first_property_that_breaks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["mutate", "--operator", "add_actor", "--format", "json", "--jobs", "1"]
    main(argv)
    first = {m["id"]: m for m in json.loads(capsys.readouterr().out)["mutants"]}
    main([*argv, "--every-kill"])
    every = {m["id"]: m for m in json.loads(capsys.readouterr().out)["mutants"]}
    assert first.keys() == every.keys()
    for key, row in first.items():
        assert row["verdict"] == every[key]["verdict"]
        if row["verdict"] == "killed":
            assert len(row["killed_by"]) == 1 and row["killed_by"][0] in every[key]["killed_by"]
    assert any(len(row.get("killed_by", [])) > 1 for row in every.values())


@pytest.mark.slow  # about 4 s here (2 cores)
def test_a_survivor_fails_the_default_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "ccs.toml"
    spec.write_text(ccs_without("every_request_asks_first"), encoding="utf-8")
    argv = ["mutate", str(spec), "--operator", "drop_confirmation", "--jobs", "1"]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 1
    assert "SURVIVED" in out and '"confirm": "decline"' in out
    assert "mutants:" in out and "survived; score" in out
    assert main([*argv, "--fail-under", "0"]) == 0


@pytest.mark.slow  # about 1 s here (2 cores)
def test_the_shipped_spec_kills_every_dropped_confirmation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["mutate", "--operator", "drop_confirmation", "--format", "json", "--jobs", "1"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["counts"]["killed"] == len(doc["mutants"]) > 0
    for row in doc["mutants"]:
        assert row["killed_by"] == [{"checker": "z3", "property": "every_request_asks_first"}]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["mutate", "--operator", "nonsense"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["mutate", "--fail-under", "101"])
    assert exited.value.code == 2
