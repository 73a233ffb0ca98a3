"""explore.tables: the table of a request that reads its target's record alone holds the
successor's own answers, and a successor that hands a record back leaves the tables."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("numpy", reason="the tables are numpy arrays")

from mostate import Instance, Request
from mostate.codegen.runtime import FALLBACK
from mostate.explore.encoding import Codec
from mostate.explore.explorer import Route
from mostate.explore.tables import BREAKS, EDGE, Tables
from mostate.model import Clause

LOCKED = Instance(locked=True)
BROKEN = (Clause("property", "p"),)


def _lock(svcs: Any, S: str, N: str, pre: dict[str, Instance]) -> Any:
    record = pre.get(N)
    if record is None:
        return None, ()
    if record.active:
        return None, BROKEN
    return (N, LOCKED), ()


def _picky(svcs: Any, S: str, N: str, pre: dict[str, Instance]) -> Any:
    return FALLBACK if N in pre and pre[N].locked else (None, ())


def _routes(codec: Codec, *steps: Any) -> list[Route]:
    out: list[Route] = []
    for step in steps:
        step.target_only = True
        for j, name in enumerate(codec.names):
            request = Request.from_json(
                {"actor": "server", "op": step.__name__, "service": "MMS", "instance": name}
            )
            clear, shift = codec.slot("MMS", name)
            out.append(Route(request, j, (), step, "MMS", clear, shift))
    return out


def test_entries_are_the_successors_answers_per_code() -> None:
    codec = Codec(("MMS",), ("a", "b"))
    active, plain = codec.code(Instance(active=True)), codec.code(Instance())
    tables = Tables(codec, _routes(codec, _lock))
    assert list(tables.local) == [True, True] and list(tables.slot) == [0, 1]
    tables.grow()
    locked = codec.record_code(LOCKED)  # given while the table grew
    assert int(tables.kind[0, 0]) == EDGE and int(tables.next[0, 0]) == 0  # absent: unchanged
    assert int(tables.kind[0, active]) == BREAKS and tables.clauses(1, active) == BROKEN
    assert int(tables.kind[0, plain]) == EDGE and int(tables.next[0, plain]) == locked
    assert tables.next.shape[1] == 3
    tables.grow()  # the code the table gave itself gets its entry now
    assert tables.next.shape[1] == 4 and int(tables.next[0, locked]) == locked


def test_a_template_that_hands_a_record_back_leaves_the_tables() -> None:
    codec = Codec(("MMS",), ("a",))
    tables = Tables(codec, _routes(codec, _lock, _picky))
    tables.grow()
    assert list(tables.local) == [True, True]
    codec.code(LOCKED)
    tables.grow()
    assert list(tables.local) == [True, False]


def test_a_successor_that_reads_more_is_not_tabled() -> None:
    codec = Codec(("MMS",), ("a",))
    routes = _routes(codec, _lock)
    _lock.target_only = False  # type: ignore[attr-defined]
    try:
        assert not Tables(codec, routes).local.any()
    finally:
        _lock.target_only = True  # type: ignore[attr-defined]
