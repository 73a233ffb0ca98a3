"""The search in bulk (:mod:`mostate.explore.frontier`, numpy) against the same search state by
state: the same states in the same order, with the same parents, requests, depths, edges and
violations, on the shipped spec, every mutant and the soundness cases, with symmetry and without;
and the fall back to state by state when the records outgrow the packed keys."""

from __future__ import annotations

import logging
import tomllib
from typing import Any

import pytest

pytest.importorskip("numpy", reason="the bulk search needs numpy")

from mostate import Engine, Spec, load_spec
from mostate.explore import ExploreScope, explore, search
from mostate.explore import frontier as bulk
from mostate.explore.encoding import Codec
from mostate.explore.explorer import Exploration
from mostate.explore.steps import PerState
from tests.conftest import CCS, MUTANTS
from tests.symbolic.test_soundness import CASES as SOUNDNESS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
CASES = [
    (CCS, ExploreScope.of(3, 1, declines=True)),
    (CCS, ExploreScope.of(1, 1, services=2, declines=True)),
    (CCS, ExploreScope(2, 1, keys=2)),
    (MUTANTS / "delete-keeps-lock.toml", ExploreScope.of(2, 1)),
    (MUTANTS / "lock-checked-on-server.toml", ExploreScope.of(2, 1)),
    *(
        (MUTANTS / entry["file"], ExploreScope.of(2, 1, declines=True))
        for entry in MANIFEST.values()
    ),
    *((spec, ExploreScope.of(2, 1, declines=True)) for spec, _ in SOUNDNESS.values()),
]


def _record(run: Exploration) -> tuple[object, ...]:
    traces = {name: v.trace for name, v in run.violations.items()}
    return (
        [run.state(i) for i in range(len(run.keys))],  # codes are given in the order met
        list(run.parent),
        list(run.via),
        list(run.depth),
        run.edges,
        run.expanded,
        traces,
        run.stats.represented,
    )


@pytest.mark.parametrize("symmetry", [False, True], ids=["no_symmetry", "symmetry"])
@pytest.mark.parametrize(("spec", "scope"), CASES, ids=lambda c: getattr(c, "name", None))
def test_in_bulk_and_state_by_state_find_the_same(
    spec: object, scope: ExploreScope, symmetry: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(spec if isinstance(spec, Spec) else load_spec(spec))  # type: ignore[arg-type]
    chunks: list[int] = []
    real = bulk._chunk

    def counted(front: bulk.Frontier, *args: object) -> object:
        chunks.append(1)
        return real(front, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_chunk", counted)
    in_bulk = explore(engine, scope, symmetry=symmetry)
    assert chunks, "the search ran in bulk"
    monkeypatch.setattr(search, "_in_bulk", lambda *args: False)
    one_by_one = explore(engine, scope, symmetry=symmetry)
    assert _record(in_bulk) == _record(one_by_one)
    assert in_bulk.stats.edges > 0


def test_requests_that_read_the_target_alone_are_read_from_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the shipped spec only the switches (set_active and set_default with true) and the
    queries without a target need more than the tables: 12 of 60 requests at 2 names, K=2.
    They run over arrays (:mod:`mostate.explore.vectors`), so none reaches the engine; with
    the arrays turned off, those 12 do."""
    sent: list[int] = []
    real = PerState.results

    def counted(self: PerState, canon: int, only: object = None) -> object:
        sent.append(len(only))  # type: ignore[arg-type]
        return real(self, canon, only)  # type: ignore[arg-type]

    monkeypatch.setattr(PerState, "results", counted)
    engine = Engine(load_spec(CCS))
    run = explore(engine, ExploreScope(2, 2), symmetry=False)
    assert not sent and run.stats.states > 100
    real_fill = bulk.Vectors.fill

    def none_in_bulk(self: bulk.Vectors, *args: Any) -> Any:
        self.bulk[:] = False
        self.templates.clear()
        return real_fill(self, *args)

    monkeypatch.setattr(bulk.Vectors, "fill", none_in_bulk)
    again = explore(engine, ExploreScope(2, 2), symmetry=False)
    assert sent and set(sent) == {len(run.requests) - 2 * 24}
    assert _record(again) == _record(run)


def test_records_that_outgrow_the_keys_send_the_search_state_by_state(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A code too wide for its slot mid-search: the search starts again state by state and
    finds what it finds without the bulk path."""
    engine = Engine(load_spec(CCS))
    scope = ExploreScope.of(2, 1)
    expected = explore(engine, scope, symmetry=False)
    calls = []
    real = bulk.Frontier.refresh_ranks

    def narrow(front: bulk.Frontier) -> None:
        calls.append(1)
        if len(calls) > 3:
            raise bulk.TooWide("too many records for the test")
        real(front)

    monkeypatch.setattr(bulk.Frontier, "refresh_ranks", narrow)
    with caplog.at_level(logging.INFO, logger="mostate.explore.search"):
        again = explore(engine, scope, symmetry=False)
    assert len(calls) > 3
    assert "state by state: too many records for the test" in caplog.text
    assert _record(again) == _record(expected)


def test_ranks_order_the_codes_as_canonical_forms_do() -> None:
    """Sorting a state's codes by rank gives the canonical int the codec computes."""
    engine = Engine(load_spec(CCS))
    run = explore(engine, ExploreScope.of(3, 1), symmetry=False)
    codec: Codec = run.codec
    ranks = codec.ranks()
    assert sorted(ranks) == list(range(len(ranks)))
    shifts = [16 * j for j in range(3)]
    for key in run.keys[::7]:
        codes = [(key >> s) & 0xFFFF for s in shifts]
        ordered = sorted(codes, key=ranks.__getitem__)
        assert sum(c << s for c, s in zip(ordered, shifts, strict=True)) == codec.canonical(key)
