"""``mostate mutate``: the table, the JSON objects and the exit codes."""

from __future__ import annotations

import json

import pytest

from mostate.cli import main


def test_json_lists_every_mutant_with_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mutate", "--operator", "add_actor", "--format", "json", "--jobs", "1"])
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


def test_a_survivor_fails_the_default_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["mutate", "--operator", "drop_confirmation", "--jobs", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "SURVIVED" in out and '"confirm": "decline"' in out
    assert "mutants:" in out and "survived; score" in out
    assert main(["mutate", "--operator", "drop_confirmation", "--fail-under", "0"]) == 0


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["mutate", "--operator", "nonsense"])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["mutate", "--fail-under", "101"])
    assert exited.value.code == 2
