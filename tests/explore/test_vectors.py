"""explore.vectors: a successor's code run over arrays answers as the successor itself does, on
every state a search reaches (the shipped spec, every mutant, the soundness cases); a row whose
``_the`` has several candidates is handed back to the engine, and so is code with a construct
the arrays do not cover."""

from __future__ import annotations

import inspect
import logging
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("numpy", reason="the arrays are numpy's")

import numpy as np

from mostate import Engine, Instance, Request, Spec, load_spec
from mostate.codegen.runtime import FALLBACK
from mostate.codegen.runtime import Ambiguous as _Ambiguous
from mostate.codegen.runtime import the as _the
from mostate.explore import ExploreScope, explore, search
from mostate.explore.encoding import Codec
from mostate.explore.explorer import Route
from mostate.explore.tables import BREAKS, EDGE, Tables
from mostate.explore.vectors import Vectors
from mostate.model import Clause
from tests.conftest import CCS
from tests.explore.test_frontier import CASES

_FALLBACK = FALLBACK


def _expected(codec: Codec, key: int, route: Route) -> tuple[int, tuple[Clause, ...]] | None:
    """What the successor itself answers from ``key``: the next int (-1: it breaks
    something) and what breaks; ``None`` when it hands the request back."""
    request, _, _, successor, service, _, _ = route
    assert successor is not None
    state = codec.decode(key)
    held = state.services._data.get(service)
    pre = dict(held.instances._data) if held is not None else {}
    answer = successor(state.services._data, service, request.instance, pre)
    if answer is FALLBACK:
        return None
    records, broken = answer
    if broken:
        return -1, broken
    if records is None:
        return key, ()
    if isinstance(records, tuple):
        return codec.encode_record(key, service, records[0], records[1]), ()
    return codec.encode_records(key, service, records), ()


def _fill(codec: Codec, routes: list[Route], keys: list[int], skip: Any) -> tuple[Any, ...]:
    slots = len(codec.services) * len(codec.names)
    rows = np.frombuffer(codec.dump(keys), dtype="<u2").astype(np.uint16)
    rows = rows.reshape(len(keys), slots)
    succ = np.zeros((len(keys), len(routes), slots), dtype=np.uint16)
    kind = np.zeros((len(keys), len(routes)), dtype=np.uint8)
    vectors = Vectors(codec, routes, skip)
    handed, broken = vectors.fill(rows, succ, kind)
    return vectors, succ, kind, handed, {(i, r): c for i, r, c in broken}


@pytest.mark.parametrize(
    ("spec", "scope"),
    [(CCS, ExploreScope(3, 2)), *CASES],
    ids=lambda c: getattr(c, "name", None),
)
def test_arrays_answer_as_the_successor_on_every_state(spec: object, scope: ExploreScope) -> None:
    engine = Engine(spec if isinstance(spec, Spec) else load_spec(spec))  # type: ignore[arg-type]
    run = explore(engine, scope, symmetry=False)
    routes = search._routes(run, search._retargets(run))
    codec, keys = run.codec, list(run.keys)
    local = Tables(codec, routes).local
    vectors, succ, kind, handed, broken = _fill(codec, routes, keys, local)
    answered = [r for r in np.flatnonzero(vectors.bulk).tolist() if r not in handed]
    for r in answered:
        for i, key in enumerate(keys):
            found = _expected(codec, key, routes[r])
            assert found is not None, "a request answered in bulk was handed back"
            nxt, clauses = found
            if nxt < 0:
                assert int(kind[i, r]) == BREAKS and broken[(i, r)] == clauses
            else:
                assert int(kind[i, r]) == EDGE and (i, r) not in broken
                assert codec.load(succ[i, r].astype("<u2").tobytes()) == [nxt]
    for r in handed:  # handed back: some state's answer is a hand-back, or the code has no arrays
        if vectors.bulk[r]:
            assert any(_expected(codec, key, routes[r]) is None for key in keys)
    if spec == CCS:  # every request of the shipped spec is read from a table or run in bulk
        sent = [r for r, route in enumerate(routes) if route[3] is not None]
        assert answered and all(local[r] or vectors.bulk[r] for r in sent)
        assert not handed


def _step(svcs: Any, S: str, N: str | None, pre: dict[str, Instance]) -> Any:
    try:
        res = _the(_k1, [(S, n1) for n1, r2 in pre.items() if r2.active])
        if not (res == None):  # noqa: E711, SIM201  (the generator's own spelling)
            return None, (_k0,)
        return None, ()
    except _Ambiguous:
        return _FALLBACK


_k0 = Clause("property", "p")
_k1 = SimpleNamespace(loc="the test's the()")


def _reads_others(svcs: Any, S: str, N: str | None, pre: dict[str, Instance]) -> Any:
    if S in svcs:
        return None, ()
    return None, ()


def _routes(codec: Codec, step: Any, source: str) -> list[Route]:
    step.target_only, step.constants = False, {"_k0": _k0}
    step.source = textwrap.dedent(source).replace(f"def {step.__name__}(", "def _step(")
    request = Request.from_json({"actor": "user", "op": "q", "service": "MMS"})
    return [(request, -1, (), step, "MMS", 0, 0)]


def test_several_candidates_hand_the_request_back_and_one_breaks_it() -> None:
    codec = Codec(("MMS",), ("a", "b"))
    one, plain = codec.code(Instance(active=True)), codec.code(Instance())
    routes = _routes(codec, _step, inspect.getsource(_step))
    keys = [0, codec.pack([one, plain]), codec.pack([plain, plain])]
    vectors, _, kind, handed, broken = _fill(codec, routes, keys, np.zeros(1, dtype=bool))
    assert not handed and bool(vectors.bulk[0])
    assert [int(k) for k in kind[:, 0]] == [EDGE, BREAKS, EDGE]
    assert broken == {(1, 0): (_k0,)}
    assert [_expected(codec, k, routes[0]) for k in keys] == [(0, ()), (-1, (_k0,)), (keys[2], ())]
    two = codec.pack([one, one])  # the successor hands it back: so does the bulk run
    assert _expected(codec, two, routes[0]) is None
    vectors, _, _, handed, _ = _fill(codec, routes, [*keys, two], np.zeros(1, dtype=bool))
    assert handed == [0] and bool(vectors.bulk[0])  # handed back this time only


def test_code_the_arrays_do_not_cover_goes_through_the_engine(
    caplog: pytest.LogCaptureFixture,
) -> None:
    codec = Codec(("MMS",), ("a",))
    routes = _routes(codec, _reads_others, inspect.getsource(_reads_others))
    with caplog.at_level(logging.INFO, logger="mostate.explore.vectors"):
        vectors, _, _, handed, _ = _fill(codec, routes, [0], np.zeros(1, dtype=bool))
    assert handed == [0] and not vectors.bulk[0] and not vectors.templates
    assert "goes through the engine: the other services read" in caplog.text
    skipped = Vectors(codec, routes, np.ones(1, dtype=bool))  # answered from the tables
    assert not skipped.templates and not skipped.bulk[0]
