"""Every notebook runs from top to bottom on the current code (CI fails on any error)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_four_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4, [n.name for n in NOTEBOOKS]


@pytest.mark.slow  # about 87 s here (2 cores)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel is another process: point it at this checkout's mostate.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    exercises = [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert exercises and all(c.metadata["jupyter"]["source_hidden"] for c in exercises)
