"""mostate campaign plan and fleet as a user runs them: files, exit codes, errors without
tracebacks, Parquet, a process pool and a Dask cluster giving the same plans as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mostate import Engine, load_spec
from mostate.campaign import Campaign, plan_inventory, synthetic_inventory
from mostate.cli import main

ENGINE = Engine(load_spec())
GOAL = ["--goal", "exists(target) and active(target)", "--target", "new"]


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.jsonl"
    assert main(["campaign", "fleet", "-n", "300", "--seed", "7", "--out", str(path)]) == 0
    return path


def expected(path: Path, **campaign: object) -> str:
    out: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    plan_inventory(
        Campaign("exists(target) and active(target)", "new", **campaign), lines, out.append
    )  # type: ignore[arg-type]
    return "".join(out)


def test_fleet_writes_the_seeded_inventory(fleet: Path) -> None:
    assert fleet.read_text(encoding="utf-8") == "".join(synthetic_inventory(ENGINE, 300, seed=7))


@pytest.mark.slow  # about 1.5 s
def test_plan_writes_one_line_per_device_and_a_json_summary(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plans.jsonl"
    argv = ["campaign", "plan", str(fleet), *GOAL, "--params", '{"MMSC": "http://new"}']
    assert main([*argv, "--out", str(out), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["devices"] == summary["planned"] == 300 and summary["errors"] == 0
    assert out.read_text(encoding="utf-8") == expected(fleet, params={"MMSC": "http://new"})
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow  # about 1.5 s
def test_plan_to_stdout(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "plan", str(fleet), *GOAL]) == 0
    captured = capsys.readouterr()
    assert captured.out == expected(fleet)
    assert "300 devices: 300 planned" in captured.err


def test_bad_lines_exit_2_with_their_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "bad.jsonl"
    inventory.write_text('{"device": "a", "state": {}}\n{"device": 3}\n', encoding="utf-8")
    assert main(["campaign", "plan", str(inventory), *GOAL]) == 2
    captured = capsys.readouterr()
    assert f"{inventory}: line 2: no 'device'" in captured.err
    assert '"line": 2' in captured.out and "Traceback" not in captured.err


def test_an_unreachable_device_exits_1_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "one.jsonl"
    inventory.write_text('{"device": "a", "state": {"MMS": {"x": {}}}}\n', encoding="utf-8")
    goal = ["--goal", "count(i, exists(i)) == 0 and exists(target)", "--target", "x"]
    assert main(["campaign", "plan", str(inventory), *goal, "--max-states", "2000"]) == 1
    line = json.loads(capsys.readouterr().out)
    assert line["device"] == "a" and "satisfies the goal" in line["unreachable"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--goal", "active(tagret)", "--target", "n"], "unknown name 'tagret'"),
        ([*GOAL, "--params", "{"], "--params is not JSON"),
        ([*GOAL, "--params", '{"a": 1}'], "must be a string"),
        ([*GOAL, "--jobs", "0"], "--jobs must be at least 1"),
        ([*GOAL, "--out", "/no/such/folder/x"], "there is no folder"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    fleet: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["campaign", "plan", str(fleet), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_missing_inventory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaign", "plan", str(tmp_path / "none.jsonl"), *GOAL]) == 2
    assert "cannot read inventory" in capsys.readouterr().err


def test_a_parquet_inventory_gives_the_same_plans(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pa = pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (mostate[campaign])")
    import pyarrow.parquet as pq

    rows = [json.loads(x) for x in fleet.read_text(encoding="utf-8").splitlines()]
    table = pa.table(
        {"device": [r["device"] for r in rows], "state": [json.dumps(r["state"]) for r in rows]}
    )
    pq.write_table(table, tmp_path / "fleet.parquet", row_group_size=64)
    assert main(["campaign", "plan", str(tmp_path / "fleet.parquet"), *GOAL]) == 0
    assert capsys.readouterr().out == expected(fleet)


@pytest.mark.slow  # about 3 s: starts two worker processes
def test_a_process_pool_gives_the_same_plans_in_the_same_order(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["campaign", "plan", str(fleet), *GOAL, "--jobs", "2"]) == 0
    assert capsys.readouterr().out == expected(fleet)


@pytest.mark.slow  # about 10 s: starts a Dask LocalCluster of two worker processes
def test_a_dask_cluster_gives_the_same_plans_in_the_same_order(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="Dask is an extra: pip install 'mostate[campaign]'"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        assert (
            main(["campaign", "plan", str(fleet), *GOAL, "--scheduler", cluster.scheduler_address])
            == 0
        )
    assert capsys.readouterr().out == expected(fleet)


@pytest.mark.slow  # 10 s: the time the client waits for a scheduler
def test_an_unreachable_scheduler_exits_2(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed", reason="Dask is an extra: pip install 'mostate[campaign]'")
    assert main(["campaign", "plan", str(fleet), *GOAL, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--scheduler tcp://127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.slow  # about 3 s: starts two worker processes
def test_a_pool_on_a_file_reads_its_parts_and_keeps_bad_lines_by_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(synthetic_inventory(ENGINE, 500, seed=8))
    lines[123] = "not json\n"
    lines[400] = "\n"
    inventory = tmp_path / "inv.jsonl"
    inventory.write_bytes("".join(lines).encode() + b'{"device": "\xff"}\n')
    assert main(["campaign", "plan", str(inventory), *GOAL, "--jobs", "2"]) == 2
    pooled = capsys.readouterr()
    out: list[str] = []
    plan_inventory(
        Campaign("exists(target) and active(target)", "new"),
        [*lines, "(a line that is not UTF-8)"],
        out.append,
    )
    assert pooled.out == "".join(out)
    assert "line 124: not JSON" in pooled.err and "line 501: not JSON" in pooled.err


def test_a_shipped_mutant_spec_is_planned_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "one.jsonl"
    inventory.write_text('{"device": "a", "state": {}}\n', encoding="utf-8")
    argv = ["campaign", "plan", str(inventory), *GOAL, "--spec", "mutant:user-can-lock"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["plan"][0]["op"] == "add"
    assert main([*argv[:-1], "mutant:no-such"]) == 2
