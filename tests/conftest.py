"""Shared test setup: Hypothesis profiles and paths to the shipped specs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
CCS = SPECS / "ccs.toml"
MUTANTS = SPECS / "mutants"

# "dev" is quick for local runs; "ci" is what .ci/run uses (CI=true): more examples, no deadline
# (a shared CI machine has noisy timings), derandomised so a red run can be reproduced.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def ccs_path() -> Path:
    return CCS


def ccs_without(prop: str) -> str:
    """The shipped spec's text with one property's table taken out (a spec that misses a bug)."""
    text = CCS.read_text(encoding="utf-8")
    head = f"[properties.{prop}]\n"
    start = text.index(head)
    end = text.find("\n[", start + len(head))
    return text[:start] + (text[end + 1 :] if end != -1 else "")
