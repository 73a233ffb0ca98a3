"""explore.vectors: a successor's residual function run over arrays answers as the successor
itself does (its printed Python), on every state a search reaches (the shipped spec, every
mutant, the soundness cases, the differential tests' extra spec over two services), and no
template of those is left to the engine; a row whose ``the`` has several candidates is handed
back to the engine, and so is a function with a construct the arrays do not cover. Each node
of the residual language is run over arrays against its printed Python on every state of
three names (``test_each_node_answers_as_python``)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest

pytest.importorskip("numpy", reason="the arrays are numpy's")

import numpy as np

from mostate import Actor, Engine, Instance, Request, Spec, load_spec
from mostate.codegen.python import print_module
from mostate.codegen.residual import (
    LOOP_NODES,
    STMT_NODES,
    TERM_NODES,
    Candidates,
    ForEach,
    Function,
    Module,
    Reduce,
    statements,
    stmt_terms,
    terms,
)
from mostate.codegen.runtime import FALLBACK, NAMESPACE, interned_values
from mostate.explore import ExploreScope, explore, steps
from mostate.explore.arrays import Book
from mostate.explore.encoding import Codec
from mostate.explore.explorer import Route
from mostate.explore.run import BROKEN as ENDED_BROKEN
from mostate.explore.run import HANDED_BACK, KEEP, NEXT, RUNNING, Run
from mostate.explore.tables import BREAKS, EDGE, Tables
from mostate.explore.vectors import Vectors
from mostate.model import Clause
from tests.codegen.test_differential import EXTRA_SPEC
from tests.conftest import CCS
from tests.explore import residual_cases as cases
from tests.explore.test_frontier import CASES


def _expected(codec: Codec, key: int, route: Route) -> tuple[int, tuple[Clause, ...]] | None:
    """What the successor itself answers from ``key``: the next int (-1: it breaks
    something) and what breaks; ``None`` when it hands the request back."""
    request, successor, service = route.request, route.successor, route.service
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


SLOW = pytest.mark.slow  # about 3 s: the states of two services, each request's answer
EVERY = [
    (CCS, ExploreScope(3, 2)),
    *CASES,
    pytest.param(EXTRA_SPEC, ExploreScope.of(1, 1, services=2, declines=True), marks=SLOW),
]


@pytest.mark.parametrize(("spec", "scope"), EVERY, ids=lambda c: getattr(c, "name", None))
def test_arrays_answer_as_the_successor_on_every_state(spec: object, scope: ExploreScope) -> None:
    engine = Engine(spec if isinstance(spec, Spec) else load_spec(spec))  # type: ignore[arg-type]
    run = explore(engine, scope, symmetry=False)
    routes = steps.routes(run, steps.retargets(run))
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
    # Every request with a successor is read from a table or run in bulk: no template is
    # left to the engine for a construct the arrays lack.
    sent = [r for r, route in enumerate(routes) if route.successor is not None]
    assert all(local[r] or vectors.bulk[r] for r in sent)
    if spec == CCS:
        assert answered and not handed


def _compiled(function: Function, constants: tuple[Any, ...]) -> Any:
    """The successor ``function``, printed and compiled as the engine compiles one."""
    text = print_module(Module("a test's successor", (function,), constants))
    namespace: dict[str, Any] = {**NAMESPACE, **interned_values()}
    namespace.update({f"_k{i}": value for i, value in enumerate(constants)})
    exec(compile(text, "<test>", "exec"), namespace)  # the test's own residual function
    step = namespace[function.name]
    step.target_only, step.residual, step.source = False, function, text
    return step


def _routes(codec: Codec, step: Any, targeted: bool = True) -> list[Route]:
    """The step sent to each name (or once, without a target)."""
    names: list[str | None] = list(codec.names) if targeted else [None]
    out = []
    for j, name in enumerate(names):
        request = Request(Actor.user(), "x", "MMS", name)
        slot = codec.slot("MMS", name) if name is not None else (0, 0)
        out.append(Route(request, j if name is not None else -1, (), step, "MMS", *slot))
    return out


def test_several_candidates_hand_the_request_back_and_one_breaks_it() -> None:
    codec = Codec(("MMS",), ("a", "b"))
    one, plain = codec.code(Instance(active=True)), codec.code(Instance())
    routes = _routes(codec, _compiled(*cases.the_active()), targeted=False)
    keys = [0, codec.pack([one, plain]), codec.pack([plain, plain])]
    vectors, _, kind, handed, broken = _fill(codec, routes, keys, np.zeros(1, dtype=bool))
    assert not handed and bool(vectors.bulk[0])
    assert [int(k) for k in kind[:, 0]] == [EDGE, BREAKS, EDGE]
    assert broken == {(1, 0): (cases.CLAUSE,)}
    expected = [(0, ()), (-1, (cases.CLAUSE,)), (keys[2], ())]
    assert [_expected(codec, k, routes[0]) for k in keys] == expected
    two = codec.pack([one, one])  # the successor hands it back: so does the bulk run
    assert _expected(codec, two, routes[0]) is None
    vectors, _, _, handed, _ = _fill(codec, routes, [*keys, two], np.zeros(1, dtype=bool))
    assert handed == [0] and bool(vectors.bulk[0])  # handed back this time only


RECORDS = [
    Instance(),
    Instance(active=True),
    Instance(default=True),
    Instance(locked=True),
    Instance(active=True, locked=True, params=cases.PARAMS),
]


def _states(codec: Codec) -> list[int]:
    """Every state of three names of MMS over the records above (up to order), each beside
    three contents of WAP."""
    codes = [0, *(codec.code(r) for r in RECORDS)]
    mms = [(0, 0, 0), *itertools.combinations_with_replacement(codes, 3)]
    wap = [(0, 0, 0), (codes[1], 0, 0), (0, codes[4], codes[3])]
    return [codec.pack([*a, *b]) for a in mms for b in wap]


@pytest.mark.parametrize("case", cases.EVERY, ids=lambda f: f.__name__)
def test_each_node_answers_as_python(case: Any) -> None:
    """Row by row: handed back where the printed function falls back, broken with the same
    clauses in the same order, kept, or moved to the same state."""
    codec = Codec(("MMS", "WAP"), ("a", "b", "c"))
    keys = _states(codec)
    function, constants = case()
    step = _compiled(function, constants)
    rows = np.frombuffer(codec.dump(keys), dtype="<u2").astype(np.int64).reshape(len(keys), -1)
    width = len(codec.names)
    codes = np.repeat(rows, width, axis=0)
    target = np.tile(np.arange(width, dtype=np.int64), len(keys))[:, None]
    run = Run(Book(codec), codes, codec.services.index("MMS"), target, codec.names, function)
    run.block(function.body)
    moved = run.ended == NEXT
    run.out[moved] = run.terms.book.coded(run.out[moved])
    seen = set()
    for row in range(len(codes)):
        key, name = keys[row // width], codec.names[row % width]
        route = Route(
            Request(Actor.user(), "x", "MMS", name),
            row % width,
            (),
            step,
            "MMS",
            *codec.slot("MMS", name),
        )
        found = _expected(codec, key, route)
        ended = int(run.ended[row])
        seen.add(ended)
        if found is None:
            assert ended == HANDED_BACK, (key, name)
            continue
        nxt, clauses = found
        if nxt < 0:
            assert ended == ENDED_BROKEN and run.said[row] == clauses, (key, name)
        elif nxt == key and ended == KEEP:
            continue
        else:
            assert ended == NEXT, (key, name, ended)
            after = rows[row // width].copy()
            s = codec.services.index("MMS")
            after[s * width : (s + 1) * width] = run.out[row]
            assert codec.pack(after.tolist()) == nxt, (key, name)
    assert RUNNING not in seen


def test_every_node_is_run_by_some_case() -> None:
    met: set[str] = set()
    for case in cases.EVERY:
        function, _ = case()
        for stmt in statements(function.body):
            met.add(type(stmt).__name__)
            if isinstance(stmt, ForEach):
                met.add(type(stmt.loop).__name__)
            for term in stmt_terms(stmt, True):
                for inner in terms(term):
                    met.add(type(inner).__name__)
                    if isinstance(inner, Reduce | Candidates):
                        met.add(type(inner.loop).__name__)
    expected = {t.__name__ for t in (*TERM_NODES, *LOOP_NODES, *STMT_NODES)}
    assert expected - met == {"ValidSplit", "Prologue"}  # the operation form's alone


@pytest.mark.parametrize(("case", "message"), cases.REFUSED, ids=[m for _, m in cases.REFUSED])
def test_a_construct_without_arrays_goes_through_the_engine(
    case: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    codec = Codec(("MMS",), ("a", "b"))
    keys = [0, codec.pack([codec.code(Instance(active=True)), 0])]
    function, _ = case()
    routes = _routes(codec, cases.successor(function))[:1]
    with caplog.at_level(logging.INFO, logger="mostate.explore.vectors"):
        vectors, _, _, handed, _ = _fill(codec, routes, keys, np.zeros(1, dtype=bool))
    assert handed == [0] and not vectors.templates and not vectors.bulk[0]
    assert message in caplog.text
    skipped = Vectors(codec, routes, np.ones(1, dtype=bool))  # answered from the tables
    assert not skipped.templates and not skipped.bulk[0]
