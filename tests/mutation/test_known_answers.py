"""The shipped seeded-bug specs are a known-answer test of the classifier: each, as a whole-spec
mutant of ccs.toml, is killed under Z3 by exactly the properties its manifest entry lists."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mostate import load_spec
from mostate.mutation import Equivalent, Killed, Survived, analyse, classify, generate, whole_spec
from mostate.mutation.classify import Z3
from tests.conftest import MUTANTS, ccs_without

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))


@pytest.mark.slow  # about 4 s here (2 cores)
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_a_shipped_mutant_is_killed_by_exactly_its_manifest_properties(name: str) -> None:
    entry = MANIFEST[name]
    mutant = whole_spec(name, load_spec(MUTANTS / entry["file"]))
    verdict = classify(load_spec(), mutant, every=True).verdict
    assert isinstance(verdict, Killed), verdict
    assert verdict.by == tuple(sorted((Z3, p) for p in entry["breaks"]))


def test_the_shipped_spec_itself_is_equivalent() -> None:
    spec = load_spec()
    assert isinstance(classify(spec, whole_spec("same", spec)).verdict, Equivalent)


def test_the_first_kill_is_one_of_every_kill() -> None:
    entry = MANIFEST["effect_before_lock_check"]
    mutant = whole_spec("effect_before_lock_check", load_spec(MUTANTS / entry["file"]))
    first = classify(load_spec(), mutant).verdict
    assert isinstance(first, Killed) and len(first.by) == 1
    assert first.by[0] in tuple((Z3, p) for p in entry["breaks"])


def test_a_survivor_carries_a_witness_both_engines_replay(tmp_path: Path) -> None:
    path = tmp_path / "ccs.toml"
    path.write_text(ccs_without("every_request_asks_first"), encoding="utf-8")
    spec = load_spec(path)
    dropped = [m for m in generate(spec, ["drop_confirmation"]) if m.op == "set_locked"]
    verdict = classify(spec, dropped[0]).verdict
    assert isinstance(verdict, Survived)
    w = verdict.witness
    assert w.request.op == "set_locked" and w.request.confirm is not None
    assert (int(w.under_a.status), int(w.under_b.status)) == (215, 200)


def test_a_pool_gives_the_same_report_as_one_process() -> None:
    spec = load_spec()
    mutants = [m for m in generate(spec) if m.op == "set_locked"][:6]
    alone, pooled = analyse(spec, mutants), analyse(spec, mutants, jobs=2)
    assert [o.verdict for o in alone.outcomes] == [o.verdict for o in pooled.outcomes]
    assert alone.summary().split(" in ")[0] == pooled.summary().split(" in ")[0]
