"""The README's commands are the ones CI runs, its Python examples run, and its console examples
show what the commands really print."""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_quick_start_is_two_commands_that_ci_runs_verbatim() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert command in ci.splitlines(), command
    assert "mostate verify" in commands[0] and "pytest" in commands[1]


def test_python_examples_run() -> None:
    failed, attempted = doctest.testfile(
        str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS
    )
    assert attempted >= 8 and failed == 0


ELIDED = "..."
"""A line of a console example that stands for any number of output lines (a table's rows)."""


def normalise(text: str) -> str:
    """A line as compared: the checkout's path taken out, every decimal number (a time: "in
    0.84 s", a rate) standing for any other, runs of spaces (a table's padding) as one."""
    text = text.replace(str(ROOT) + os.sep, "")
    text = re.sub(r"\d+\.\d+", "N", text)
    return " ".join(text.split())


def shows(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is what ``shown`` shows: the same lines in the same order, where a
    line ``...`` stands for any number of lines (without one, the whole output is shown)."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == ELIDED else re.escape(normalise(line) + "\n") for line in shown
    )
    return re.fullmatch(pattern, "".join(normalise(line) + "\n" for line in printed)) is not None


def test_shows_compares_whole_lines_in_order() -> None:
    printed = ["table", "row 1", "row 2", "3 proved in 0.84 s"]
    assert shows(["table", "...", "3 proved in 1.20 s"], printed)
    assert shows(["...", "row 2", "..."], printed)
    assert not shows(["3 proved in 0.84 s"], printed)  # lines left out must be marked
    assert not shows(["...", "3 proved"], printed)  # a line is shown whole
    assert not shows(["...", "row 2", "row 1", "..."], printed)  # in order


CONSOLE = [block for block in fenced("console")]


@pytest.mark.slow  # about 25 s here (2 cores)
@pytest.mark.parametrize("block", CONSOLE, ids=[b.splitlines()[0][2:40] for b in CONSOLE])
def test_console_examples_print_what_they_show(block: str) -> None:
    """Every ``console`` example of the README, run: its standard output is the lines shown
    (``...`` for lines left out, any decimal number for a time), and its exit code 1 exactly
    when it shows a violation or a divergence."""
    command, *shown = block.strip("\n").splitlines()
    assert command.startswith("$ mostate ")
    argv = [sys.executable, "-m", "mostate", *shlex.split(command[len("$ mostate ") :])]
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    expected_exit = 1 if any("VIOLATED" in line or "diverges" in line for line in shown) else 0
    assert done.returncode == expected_exit, done.stderr
    printed = done.stdout.splitlines()
    assert shows(shown, printed), "\n".join([f"{command} printed:", *printed])


def test_the_spec_example_is_a_spec_that_loads() -> None:
    from mostate import Engine, parse_spec

    example, _ = fenced("toml")
    spec = parse_spec(example, "README.md")
    assert set(spec.ops) == {"set_active"} and spec.invariants and spec.properties
    assert Engine(spec).spec is spec


def test_the_campaign_definition_example_is_one_campaign_create_reads() -> None:
    import tomllib

    from mostate.campaign.waves import WaveAssigner
    from mostate.omadm.rollout import Rollout

    _, example = fenced("toml")
    rollout = Rollout.from_json(tomllib.loads(example))
    assert [w.name for w in rollout.waves] == ["canary", "wave 2"]
    assert (rollout.budget.percent, rollout.retry.retries, len(rollout.windows)) == (5, 3, 1)
    assert WaveAssigner(rollout).rest == 3


@pytest.mark.slow  # about 2 s here (2 cores)
def test_every_benchmark_command_runs() -> None:
    (block,) = [b for b in fenced("sh") if "benchmarks/" in b]
    scripts = re.findall(r"(benchmarks/\S+\.py)", block)
    assert len(scripts) == len(list((ROOT / "benchmarks").glob("bench_*.py")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for script in scripts:
        done = subprocess.run(
            [sys.executable, script, "--help"], cwd=ROOT, env=env, capture_output=True, timeout=60
        )
        assert done.returncode == 0, script
