"""dm process saves before it answers, one writer at a time, and never leaves a half file, a
stale temporary file, a changed mode or a broken link behind."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mostate.cli import main

ROOT = Path(__file__).resolve().parents[2]
ADD = {"actor": "server", "op": "add", "service": "MMS", "params": {"p": "x" * 200}}


def package(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    trace = tmp_path / f"{name}.jsonl"
    trace.write_text(json.dumps({**ADD, "instance": name}) + "\n")
    assert main(["dm", "build", str(trace)]) == 0
    out = tmp_path / f"add-{name}.xml"
    out.write_text(capsys.readouterr().out)
    return out


def process(pkg: Path, state: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mostate", "dm", "process", str(pkg), "--state", str(state)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_change_that_cannot_be_saved_is_answered_500_and_the_file_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = package(tmp_path, "a", capsys)
    state = tmp_path / "state.json"
    state.write_text("{}\n")

    def small_files() -> None:  # a disk that is full after 60 bytes (prlimit --fsize=60)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60, 60))

    done = process(pkg, state, preexec_fn=small_files)
    assert done.returncode == 2
    assert "<Cmd>SyncHdr</Cmd>" in done.stdout and "<Data>500</Data>" in done.stdout
    assert "<Data>200</Data>" not in done.stdout  # no command reported done
    assert "could not save its state" in done.stderr
    assert state.read_text() == "{}\n"
    assert [p.name for p in tmp_path.glob(".state.json.mostate-*")] == []


def test_a_read_only_state_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = package(tmp_path, "a", capsys)
    state = tmp_path / "state.json"
    state.write_text("{}\n")
    state.chmod(0o444)
    assert main(["dm", "process", str(pkg), "--state", str(state)]) == 2
    out, err = capsys.readouterr()
    assert "<Data>500</Data>" in out and "read-only" in err
    assert state.read_text() == "{}\n"


def test_the_mode_is_kept_and_a_link_stays_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = package(tmp_path, "a", capsys)
    real = tmp_path / "real.json"
    real.write_text("{}\n")
    real.chmod(0o640)
    link = tmp_path / "state.json"
    link.symlink_to(real)
    assert main(["dm", "process", str(pkg), "--state", str(link)]) == 0
    assert link.is_symlink() and "a" in json.loads(real.read_text())["MMS"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_a_temporary_file_left_by_a_killed_writer_is_cleaned_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = package(tmp_path, "a", capsys)
    state = tmp_path / "state.json"
    state.write_text("{}\n")
    stale = tmp_path / ".state.json.mostate-k1ll3d"
    stale.write_text('{"half')
    assert main(["dm", "process", str(pkg), "--state", str(state)]) == 0
    assert not stale.exists()


@pytest.mark.slow  # 100 processes: about 30 s on 2 cores
def test_concurrent_writers_lose_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = package(tmp_path, "a", capsys), package(tmp_path, "b", capsys)
    states = [tmp_path / f"state{n}.json" for n in range(50)]
    for state in states:
        state.write_text("{}\n")
    jobs = [(pkg, state) for state in states for pkg in (first, second)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: process(*job), jobs))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    for state in states:
        assert sorted(json.loads(state.read_text())["MMS"]) == ["a", "b"], state.name
    assert not list(tmp_path.glob(".state*.mostate-*"))
    assert os.access(tmp_path, os.W_OK)


@pytest.mark.slow  # 15 processes killed at moments around the end of a run: about 15 s
def test_a_writer_killed_at_any_moment_leaves_the_old_or_the_new_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random
    import time

    pkg = package(tmp_path, "a", capsys)
    state = tmp_path / "state.json"
    old = "{}\n"
    state.write_text(old)
    began = time.perf_counter()
    assert process(pkg, state).returncode == 0
    whole, new = time.perf_counter() - began, state.read_text()
    assert new != old
    rng = random.Random(14)
    for _ in range(15):
        state.write_text(old)
        writer = subprocess.Popen(
            [sys.executable, "-m", "mostate", "dm", "process", str(pkg), "--state", str(state)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 1.1) * whole)  # around the end, where the write is
        writer.kill()
        writer.wait()
        text = state.read_text()
        assert text in (old, new)  # never a half-written file
    # The next writer cleans whatever temporary file a killed one left.
    state.write_text(old)
    assert process(pkg, state).returncode == 0
    assert not list(tmp_path.glob(".state.json.mostate-*"))
