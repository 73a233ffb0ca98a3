"""Residual successor functions that use every node of the residual language between them, for
the array evaluator's tests (``test_vectors.py``), and some it refuses, with the message.

Each case returns the function and the values of its constants, as the specialiser would."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from mostate.codegen.residual import (
    PRE,
    SERVICE,
    TARGET,
    AddedTo,
    And,
    At,
    Candidates,
    Check,
    Compare,
    Cond,
    Const,
    Copied,
    Exit,
    Fallback,
    FieldOf,
    ForEach,
    Function,
    Guard,
    Has,
    If,
    Known,
    Let,
    Lit,
    Local,
    Lookup,
    NoRecords,
    Not,
    One,
    Or,
    OverOthers,
    OverOtherServices,
    OverRecords,
    Prologue,
    Rebuilt,
    Record,
    RecordOf,
    Reduce,
    Reduction,
    RefTo,
    Same,
    Stmt,
    Store,
    Sum,
    Term,
    TheOf,
    Well,
    WithoutParam,
    WithParam,
)
from mostate.frozenmap import FrozenMap
from mostate.model import Clause, Status
from mostate.rules import Comparison, Domain, Field, Type
from mostate.rules import Lit as ExprLit
from mostate.rules import The as TheNode

CLAUSE, SECOND, THIRD, FOURTH = (Clause("property", name) for name in "pqrs")
PARAMS = FrozenMap({"p": "v"})
NODE = TheNode("i", Domain.SERVICE, ExprLit(True, Type.BOOL))
CONSTANTS = (NODE, CLAUSE, SECOND, THIRD, FOURTH, PARAMS)
T, F = Lit(True), Lit(False)
EQ, NE, LT, LE, GT, GE = Comparison
ABSENT, INF = Known(Well.ABSENT), Known(Well.INF)
Case = tuple[Function, tuple[Any, ...]]


def _l(name: str) -> Local:
    return Local(name)


def _f(record: Term, field: Field) -> FieldOf:
    return FieldOf(record, field)


def _end(
    records: Local | None = None,
    *checks: Stmt,
    point: bool = False,
    held: Local | None = None,
    fresh: Local | None = None,
) -> Exit:
    return Exit(Status.OK, CLAUSE, records, point, held, fresh, None, checks)


def _check(holds: Term | None, clause: Clause = CLAUSE, guarded: bool = False) -> Check:
    return Check(holds, Const(clause), guarded)


def _step(*body: Stmt) -> Case:
    return Function("_step", True, body), CONSTANTS


def the_active() -> Case:
    """``res = the(i, active(i))``, broken unless none: several hand the row back."""
    n, r, res = _l("n1"), _l("r2"), _l("res")
    found = TheOf(
        Const(NODE), (Candidates(RefTo(SERVICE, n), OverRecords(n, r, PRE), _f(r, Field.ACTIVE)),)
    )
    return _step(Guard((Let(res, found), _end(None, _check(Compare(EQ, res, Lit(None)))))))


def counts() -> Case:
    """Sums of counts and ``inf``, a name compared with a string, a record built for an
    absent target, a record rebuilt, and both forms of a point answer."""
    r1, x2, x9, x10, c1, c2 = map(_l, ("r1", "x2", "x9", "x10", "c1", "c2"))
    n3, r4, n5, r6, n7, r8 = map(_l, ("n3", "r4", "n5", "r6", "n7", "r8"))
    built = Record((T, T, F, F, Const(PARAMS)))
    absent = If(
        Not(Has(PRE, TARGET)),
        (
            If(
                Compare(EQ, TARGET, Lit("b")),
                (Let(x9, built), Let(c1, AddedTo(PRE, TARGET, x9)), _end(c1, point=True, held=x9)),
            ),
            _end(),
        ),
    )
    total = Sum(
        (
            Reduce(Reduction.COUNT, _f(r4, Field.ACTIVE), OverRecords(n3, r4, PRE)),
            Cond(
                Reduce(Reduction.ANY, _f(r6, Field.LOCKED), OverRecords(n5, r6, PRE)), INF, Lit(0)
            ),
            Lit(2),
        )
    )
    flipped = Record(
        (
            T,
            _f(r1, Field.ACTIVE),
            _f(r1, Field.DEFAULT),
            Not(_f(r1, Field.LOCKED)),
            _f(r1, Field.PARAMS),
        )
    )
    other = And(
        Not(Compare(EQ, n7, TARGET)), Compare(EQ, _f(r8, Field.LOCKED), _f(r1, Field.LOCKED))
    )
    return _step(
        absent,
        Let(r1, At(PRE, TARGET)),
        Let(x2, total),
        If(Compare(GE, x2, Lit(4)), (_end(None, _check(None)),)),
        If(
            Reduce(Reduction.ANY, other, OverRecords(n7, r8, PRE)),
            (Let(x10, flipped), Let(c2, Copied(PRE)), Store(c2, TARGET, x10), _end(c2, point=True)),
        ),
        _end(),
    )


def branches() -> Case:
    """An if with an else that binds the same names, a store, a rebuilt record, look-ups with
    a default (one by a name given as a string), and a fresh record that never exists."""
    r1, x2, x3, c1, cf = map(_l, ("r1", "x2", "x3", "c1", "cf4"))
    n5, r6 = _l("n5"), _l("r6")
    rebuilt = Rebuilt(
        Record((T, x2, T, _f(r1, Field.LOCKED), _f(r1, Field.PARAMS))),
        r1,
        ((T, _f(r1, Field.DEFAULT)),),
    )
    present = (Let(r1, At(PRE, TARGET)), Let(x2, _f(r1, Field.ACTIVE)), Let(c1, Copied(PRE)))
    present += (Store(c1, TARGET, rebuilt),)
    absent = (Let(x2, F), Let(x3, ABSENT), Let(c1, AddedTo(PRE, TARGET, x3)))
    many = Compare(GT, Reduce(Reduction.COUNT, T, OverRecords(n5, r6, PRE)), Lit(5))
    holds = Or(
        x2,
        Or(
            Compare(EQ, _f(Lookup(c1, TARGET, ABSENT), Field.EXISTS), F),
            _f(Lookup(c1, Lit("a"), ABSENT), Field.DEFAULT),
        ),
    )
    return _step(
        If(Has(PRE, TARGET), present, absent),
        Let(cf, Record((many, F, F, F, Known(Well.EMPTY_PARAMS)))),
        _end(c1, _check(holds), fresh=cf),
    )


def others() -> Case:
    """Loops over the other services' instances and over the services (nested in a loop over
    the records), a the() of references into them, the record of such a reference, and a
    guarded check of a the() over a walk in name order."""
    s1, v1, n1, r1, n2, r2 = map(_l, ("s1", "v1", "n1", "r1", "n2", "r2"))
    s7, s8, s9, v10, n11, r12 = map(_l, ("s7", "s8", "s9", "v10", "n11", "r12"))
    x1, x2, x3, res, r13, n14, r15 = map(_l, ("x1", "x2", "x3", "res", "r13", "n14", "r15"))
    inner = Reduce(
        Reduction.ALL,
        Compare(NE, _f(r1, Field.ACTIVE), _f(r2, Field.ACTIVE)),
        OverRecords(n2, r2, PRE),
    )
    nested = Reduce(Reduction.ANY, inner, OverOthers(s1, v1, n1, r1))
    found = TheOf(
        Const(NODE),
        (
            Candidates(RefTo(s9, n11), OverOthers(s9, v10, n11, r12), _f(r12, Field.LOCKED)),
            One(RefTo(SERVICE, TARGET), Has(PRE, TARGET)),
        ),
    )
    defaults = TheOf(
        Const(NODE),
        (
            Candidates(
                RefTo(SERVICE, n14),
                OverRecords(n14, r15, PRE, ordered=True),
                _f(r15, Field.DEFAULT),
            ),
        ),
    )
    checks = (
        _check(Compare(LE, x2, Lit(0))),
        _check(And(Not(_f(r13, Field.ACTIVE)), x1), SECOND),
        _check(Compare(LT, x3, Lit(2)), THIRD),
        _check(Compare(EQ, defaults, Lit(None)), FOURTH, guarded=True),
        _check(Not(_f(Known(Well.NONE_RECORD), Field.ACTIVE))),
        _check(Or(Not(Has(PRE, TARGET)), Same(r13, At(PRE, TARGET))), SECOND),
    )
    return _step(
        Let(x1, nested),
        Let(x2, Reduce(Reduction.COUNT, T, OverOtherServices(s7))),
        Let(x3, Sum((Cond(Reduce(Reduction.ANY, T, OverOtherServices(s8)), INF, Lit(0)), Lit(1)))),
        Guard(
            (
                Let(res, found),
                Let(r13, RecordOf(res, PRE, ABSENT)),
                _end(None, *checks),
            )
        ),
    )


def params() -> Case:
    """Parameter maps changed by a key, compared, and held by a record built anew."""
    r1, x2, x3, x4, c1 = map(_l, ("r1", "x2", "x3", "x4", "c1"))
    built = Record((T, _f(r1, Field.ACTIVE), F, _f(r1, Field.LOCKED), x2))
    return _step(
        If(Not(Has(PRE, TARGET)), (_end(),)),
        Let(r1, At(PRE, TARGET)),
        Let(x2, WithParam(_f(r1, Field.PARAMS), Lit("p"), Lit("v2"))),
        Let(x3, WithoutParam(_f(r1, Field.PARAMS), Lit("p"))),
        If(
            Compare(EQ, x3, _f(r1, Field.PARAMS)),
            (
                Let(x4, built),
                Let(c1, Copied(PRE)),
                Store(c1, TARGET, x4),
                _end(c1, point=True, held=x4),
            ),
        ),
        _end(None, _check(Compare(NE, x2, Const(PARAMS)))),
    )


def ordered() -> Case:
    """An ``any`` in name order whose body evaluates a the() that may be ambiguous: only
    where the walk has not stopped does it hand the row back; and a fallback."""
    n1, r2, n3, r4, x1 = map(_l, ("n1", "r2", "n3", "r4", "x1"))
    candidates = And(_f(r4, Field.LOCKED), _f(r2, Field.ACTIVE))
    found = TheOf(
        Const(NODE), (Candidates(RefTo(SERVICE, n3), OverRecords(n3, r4, PRE), candidates),)
    )
    walk = Reduce(
        Reduction.ANY, Compare(EQ, found, Lit(None)), OverRecords(n1, r2, PRE, ordered=True)
    )
    return _step(
        If(Compare(EQ, TARGET, Lit("c")), (Fallback(),)),
        Guard((Let(x1, walk), _end(None, _check(x1)))),
    )


def effect() -> Case:
    """A loop that writes every record (some of them made not to exist), and checks over the
    records it wrote, one of them a walk that leaves the target out."""
    c1, n1, r2, x3, cf = map(_l, ("c1", "n1", "r2", "x3", "cf4"))
    n5, r6, n7, r8, n9, r10 = map(_l, ("n5", "r6", "n7", "r8", "n9", "r10"))
    keeps = Not(And(x3, _f(r2, Field.LOCKED)))
    record = Record((keeps, x3, _f(r2, Field.DEFAULT), _f(r2, Field.LOCKED), _f(r2, Field.PARAMS)))
    rebuilt = Rebuilt(record, r2, ((x3, _f(r2, Field.ACTIVE)), (keeps, T)))
    many = Compare(GT, Reduce(Reduction.COUNT, T, OverRecords(n5, r6, PRE)), Lit(2))
    checks = (
        _check(
            Compare(
                LE, Reduce(Reduction.COUNT, _f(r8, Field.ACTIVE), OverRecords(n7, r8, c1)), Lit(1)
            )
        ),
        _check(
            Reduce(
                Reduction.ALL,
                Or(_f(r10, Field.EXISTS), Not(_f(r10, Field.LOCKED))),
                OverRecords(n9, r10, c1, unless=TARGET),
            ),
            SECOND,
        ),
    )
    return _step(
        If(Not(Has(PRE, TARGET)), (_end(),)),
        Let(c1, NoRecords()),
        ForEach(
            OverRecords(n1, r2, PRE), (Let(x3, Compare(EQ, n1, TARGET)), Store(c1, n1, rebuilt))
        ),
        Let(cf, Record((many, F, F, F, Known(Well.EMPTY_PARAMS)))),
        _end(c1, *checks, fresh=cf),
    )


EVERY: list[Callable[[], Case]] = [the_active, counts, branches, others, params, ordered, effect]


def operation_form() -> Case:
    return Function("_step", True, (Prologue("x", True, (), None), _end())), CONSTANTS


def _refused(*body: Stmt) -> Callable[[], Case]:
    return lambda: _step(*body)


X1, R1 = _l("x1"), _l("r1")
REFUSED: list[tuple[Callable[[], Case], str]] = [
    (operation_form, "a statement of the operation form"),
    (
        _refused(Let(X1, Candidates(TARGET, OverRecords(R1, X1, PRE), None)), _end()),
        "candidates outside",
    ),
    (_refused(Let(X1, Lookup(PRE, TARGET, None)), _end()), "a look-up without a default"),
    (_refused(_end(None, _check(Compare(EQ, At(PRE, TARGET), TARGET)))), "Rec compared with Names"),
    (_refused(Let(X1, WithParam(Const(PARAMS), TARGET, Lit("v"))), _end()), "a parameter's key"),
    (_refused(If(Has(PRE, TARGET), (_end(),))), "a row runs off the end"),
    (_refused(Let(X1, _l("nowhere")), _end()), "nowhere read before it is bound"),
    (_refused(Let(X1, Lit(1)), Store(X1, TARGET, ABSENT), _end()), "a store into something else"),
    (_refused(If(At(PRE, TARGET), (_end(),)), _end()), "a bool expected"),
    (_refused(If(Compare(LT, TARGET, TARGET), (_end(),)), _end()), "a number expected"),
    (_refused(Let(X1, RefTo(SERVICE, Lit(1))), _end()), "a reference to something else"),
]


def successor(function: Function) -> Any:
    """A stand-in for a successor the arrays refuse before it is ever called."""
    return SimpleNamespace(residual=function, target_only=False)
