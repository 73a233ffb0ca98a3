"""explore.vectors: a successor's code run over arrays answers as the successor itself does, on
every state a search reaches (the shipped spec, every mutant, the soundness cases); a row whose
``_the`` has several candidates is handed back to the engine, and so is code with a construct
the arrays do not cover."""

from __future__ import annotations

import inspect
import itertools
import logging
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("numpy", reason="the arrays are numpy's")

import numpy as np

from mostate import Engine, Instance, Request, Spec, load_spec
from mostate.codegen.runtime import ABSENT as _ABSENT
from mostate.codegen.runtime import FALLBACK
from mostate.codegen.runtime import Ambiguous as _Ambiguous
from mostate.codegen.runtime import added as _add
from mostate.codegen.runtime import new_instance as _Instance
from mostate.codegen.runtime import rec as _rec
from mostate.codegen.runtime import same as _same
from mostate.codegen.runtime import the as _the
from mostate.explore import ExploreScope, explore, search
from mostate.explore.encoding import Codec
from mostate.explore.explorer import Route
from mostate.explore.tables import BREAKS, EDGE, Tables
from mostate.explore.vectors import Vectors
from mostate.frozenmap import FrozenMap
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


# Constructs the shipped specs do not make the generator write, each in a successor of the
# generator's shape, held to the function itself on every state of three names.


def _pairs(svcs: Any, S: str, N: str | None, pre: dict[str, Instance]) -> Any:
    if N not in pre:
        if N == "b":
            return (N, _Instance(True, False, False, _k2)), ()
        return None, ()
    r1 = pre[N]
    x2 = sum(1 for n3, r4 in pre.items() if r4.active) + 2 * sum(1 for n5, r6 in pre.items())
    if x2 - 3 >= 2:
        return None, (_k0,)
    if any(((n7 != N) and (r8.locked == r1.locked)) for n7, r8 in pre.items()):
        return (N, _Instance(r1.active, r1.default, not r1.locked, r1.params)), ()
    return None, ()


def _branches(svcs: Any, S: str, N: str | None, pre: dict[str, Instance]) -> Any:
    if N in pre:
        r1 = pre[N]
        x2 = r1.active
        c1 = dict(pre)
        c1[N] = _Instance(r1.active, True, r1.locked, r1.params)
    else:
        x2 = False
        x3 = _ABSENT
        c1 = _add(pre, N, x3)
    broken = []
    if not (x2 or (c1.get(N, _ABSENT).exists == False) or c1.get("a", _ABSENT).default):  # noqa: E712
        broken.append(_k0)
    if broken:
        return c1, tuple(dict.fromkeys(broken))
    return c1, ()


def _the_other(svcs: Any, S: str, N: str | None, pre: dict[str, Instance]) -> Any:
    try:
        res = _the(_k1, [(S, n1) for n1, r2 in pre.items() if r2.locked])
        r3 = _rec(res, S, svcs, pre, _ABSENT) if not (res == None) else pre.get(N, _ABSENT)  # noqa: E711, SIM201
        if (not r3.exists) and (not _same(r3, _ABSENT)):
            return None, (_k0,)
        return None, ()
    except _Ambiguous:
        return _FALLBACK


_k2 = FrozenMap({"p": "v"})


@pytest.mark.parametrize("step", [_pairs, _branches, _the_other], ids=lambda f: f.__name__)
def test_each_construct_answers_as_python(step: Any) -> None:
    codec = Codec(("MMS",), ("a", "b", "c"))
    records = [
        Instance(),
        Instance(active=True),
        Instance(default=True),
        Instance(locked=True),
        Instance(active=True, locked=True, params=_k2),
    ]
    codes = [0, *(codec.code(r) for r in records)]
    keys = [codec.pack(c) for c in itertools.product(codes, repeat=3)]
    step.target_only, step.constants = False, {"_k0": _k0, "_k1": _k1, "_k2": _k2}
    step.source = textwrap.dedent(inspect.getsource(step)).replace(
        f"def {step.__name__}(", "def _step("
    )
    routes: list[Route] = []
    for j, name in enumerate(codec.names):
        request = Request.from_json(
            {"actor": "user", "op": "x", "service": "MMS", "instance": name}
        )
        routes.append((request, j, (), step, "MMS", *codec.slot("MMS", name)))
    vectors, succ, kind, handed, broken = _fill(codec, routes, keys, np.zeros(3, dtype=bool))
    assert vectors.templates, "the construct is covered"
    answers = {r: [_expected(codec, key, routes[r]) for key in keys] for r in range(3)}
    for r in range(3):
        if r in handed:
            assert any(a is None for a in answers[r])
            continue
        for i, found in enumerate(answers[r]):
            assert found is not None
            nxt, clauses = found
            if nxt < 0:
                assert int(kind[i, r]) == BREAKS and broken[(i, r)] == clauses
            else:
                assert int(kind[i, r]) == EDGE
                assert codec.load(succ[i, r].astype("<u2").tobytes()) == [nxt]


_HEAD = "def _step(svcs, S, N, pre):\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    pre = {}\n    return None, ()", "pre rebound"),
        ("    x = 1\n    x[N] = pre[N]\n    return None, ()", "a store into something else"),
        ("    x = []\n    x.append(N)\n    return None, ()", "append to something else"),
        (
            "    try:\n        return None, ()\n    except KeyError:\n        return None, ()",
            "a handler",
        ),
        ("    while True:\n        return None, ()", "statement While"),
        (
            "    for n, r in pre.items():\n        for m, q in pre.items():\n            pass",
            "loop statement For",
        ),
        (
            "    for n, r in pre.items():\n        N2 = 1\n        pass\n    return None, ()",
            "loop statement Pass",
        ),
        (
            "    c = {}\n    for n, r in pre.items():\n        c[n] = 1\n    return c, ()",
            "a dict of something else",
        ),
        ("    return None", "a return of another form"),
        ("    return 1, ()", "records handed back as something else"),
        ("    return (N, 1), ()", "a pair of something else"),
        ("    return None, (1,)", "broken clauses of another form"),
        ("    return None, () if pre[N].color else ()", "broken clauses"),
        (
            "    if pre[N].color:\n        return None, ()\n    return None, ()",
            "expression Attribute",
        ),
        (
            "    if N.active:\n        return None, ()\n    return None, ()",
            ".active of something else",
        ),
        ("    if pre[N]:\n        return None, ()\n    return None, ()", "a bool expected"),
        (
            "    if sum(1 for n, r in pre.items()) + True:\n        return None, ()",
            "an int expected",
        ),
        ("    if pre in N:\n        return None, ()\n    return None, ()", "in of something else"),
        ("    if N < N:\n        return None, ()\n    return None, ()", "names compared by order"),
        ("    if 1 is 1:\n        return None, ()\n    return None, ()", "comparison Is"),
        (
            "    if pre[N] == pre[N]:\n        return None, ()\n    return None, ()",
            "a comparison of",
        ),
        ("    if N == 1:\n        return None, ()\n    return None, ()", "a name compared with"),
        ("    if _same(N, N):\n        return None, ()\n    return None, ()", "_same of something"),
        ("    x = _Instance(True, True, True, N)\n    return None, ()", "parameters built anew"),
        ("    if any(r for r in pre):\n        return None, ()", "a comprehension of another"),
        (
            "    if any(any(1 for m, q in pre.items()) for n, r in pre.items()):\n        pass",
            "within a loop",
        ),
        (
            "    x = _the(0, [(N, n) for n, r in pre.items()])\n    return None, ()",
            "_the of something else",
        ),
        (
            "    x = _the(0, [(S, r) for n, r in pre.items()])\n    return None, ()",
            "_the of another name",
        ),
        ("    x = _rec(N, S, svcs, pre, _ABSENT)\n    return None, ()", "_rec of another form"),
        ("    x = len(pre)\n    return None, ()", "call of len"),
        (
            "    x = 1\n    for n, r in pre.items():\n        x = 2\n    return None, ()",
            "x bound outside",
        ),
        (
            "    x = _the(0, [(S, n) for n, r in pre.items()])\n    if x == N:\n        pass",
            "a reference compared with a name",
        ),
        ("    x = pre.keys\n    return None, ()", "expression Attribute"),
        ("    x = unknown\n    return None, ()", "name unknown"),
        ("    x = pre[1]\n    return None, ()", "a subscript of something else"),
        ("    x = pre.get(1, _ABSENT)\n    return None, ()", "get() of something else"),
        ("    for n, r in N.items():\n        pass", "items() of something else"),
        ("    x = _add(pre, N, 1)\n    return None, ()", "_add of something else"),
        ("    if True:\n        x = 1", "runs off the end"),
    ],
)
def test_a_construct_without_arrays_goes_through_the_engine(
    body: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    codec = Codec(("MMS",), ("a", "b"))
    keys = [0, codec.pack([codec.code(Instance(active=True)), 0])]
    routes = _routes(codec, _reads_others, "")
    routes[0][3].source = _HEAD + body + "\n"  # type: ignore[union-attr]
    routes = [(*routes[0][:1], 0, *routes[0][2:])]  # a request with a target
    with caplog.at_level(logging.INFO, logger="mostate.explore.vectors"):
        vectors, _, _, handed, _ = _fill(codec, routes, keys, np.zeros(1, dtype=bool))
    assert handed == [0] and not vectors.templates
    assert message in caplog.text
