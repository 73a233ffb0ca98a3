"""codegen.locality: a successor is judged to read the target's record alone only when it
does (the answers themselves are compared in tests/explore/test_fast_path.py).

Each case is a residual successor function (the specialiser's output, :mod:`.residual`), the
same shapes the earlier text-based check was held to."""

from __future__ import annotations

import pytest

from mostate import Request, load_spec
from mostate.codegen import compile_successor
from mostate.codegen.locality import reads_target_only
from mostate.codegen.residual import (
    PRE,
    SERVICE,
    SERVICES,
    TARGET,
    At,
    Check,
    Compare,
    Const,
    Copied,
    Exit,
    FieldOf,
    ForEach,
    Function,
    Has,
    Known,
    Let,
    Lit,
    Local,
    Lookup,
    OverOthers,
    OverRecords,
    RecordOf,
    Reduce,
    Reduction,
    RefTo,
    Stmt,
    Store,
    Term,
    Well,
)
from mostate.model import Clause, Status
from mostate.rules import Comparison, Field

CLAUSE = Clause("property", "p")
X, C1 = Local("x1"), Local("c1")


def _step(*body: Stmt) -> Function:
    return Function("_step", True, body)


def _end(records: Local | None = None, point: bool = False, held: Local | None = None) -> Exit:
    return Exit(Status.OK, CLAUSE, records, point, held, None, None, ())


def _checked(holds: Term) -> Exit:
    return Exit(Status.OK, CLAUSE, None, False, None, None, None, (Check(holds, Const(CLAUSE)),))


@pytest.mark.parametrize(
    "function",
    [
        _step(Let(X, At(PRE, TARGET)), _end(C1, point=True, held=X)),  # (N, pre[N])
        _step(_checked(Has(PRE, TARGET)), _end()),  # N in pre
        _step(Let(X, Lookup(PRE, TARGET, Known(Well.ABSENT))), _end(C1, True, X)),  # pre.get
        _step(_checked(FieldOf(Lookup(PRE, TARGET, None), Field.LOCKED))),
    ],
    ids=["item", "in", "get", "get-no-default"],
)
def test_reads_of_the_target_alone_are_recognised(function: Function) -> None:
    assert reads_target_only(function)


@pytest.mark.parametrize(
    "function",
    [
        _step(Let(C1, Copied(PRE)), _end(C1)),  # the whole service
        _step(_checked(Reduce(Reduction.ANY, Lit(True), OverRecords(X, Local("r2"), PRE)))),
        _step(_checked(Reduce(Reduction.ANY, Lit(True), OverOthers(*map(Local, "svnr"))))),
        _step(_checked(Compare(Comparison.EQ, SERVICES, Lit(None)))),  # other services
        _step(_checked(Compare(Comparison.EQ, SERVICE, Lit("MMS")))),
        _step(_checked(Compare(Comparison.EQ, TARGET, Lit("a")))),  # the name, not its record
        _step(Let(X, At(PRE, Lit("a"))), _end(C1, True, X)),
        _step(Let(X, Lookup(PRE, Lit("a"), None)), _end(C1, True, X)),
        _step(Let(PRE, Copied(C1)), Let(X, At(PRE, TARGET)), _end(C1, True, X)),  # rebound
        _step(ForEach(OverRecords(TARGET, X, PRE), ()), _end()),
        _step(_checked(FieldOf(RecordOf(RefTo(SERVICE, TARGET), PRE, X), Field.ACTIVE))),
        _step(Store(PRE, TARGET, Lit(None)), _end()),  # a write to the caller's dict
        _step(Let(C1, Copied(PRE)), _end(C1, point=True)),  # (N, c1[N])
    ],
    ids=[
        "whole",
        "loop",
        "others",
        "svcs",
        "S",
        "name",
        "item-a",
        "get-a",
        "rebound",
        "loop-N",
        "rec",
        "store",
        "copy-item",
    ],
)
def test_any_other_read_is_not(function: Function) -> None:
    assert not reads_target_only(function)


def test_an_operation_form_is_not() -> None:
    assert not reads_target_only(Function("_user", False, (_end(),)))


@pytest.mark.parametrize(
    ("op", "value", "local"),
    [("set_active", True, False), ("set_active", False, True), ("delete", None, True)],
)
def test_the_shipped_switch_reads_the_others(op: str, value: bool | None, local: bool) -> None:
    # Turning an instance Active clears the others: its answer depends on them.
    spec = load_spec()
    data: dict[str, object] = {"actor": "server", "op": op, "service": "MMS", "instance": "a"}
    if value is not None:
        data["value"] = value
    step = compile_successor(spec, spec.ops[op], Request.from_json(data))
    assert step.target_only is local
