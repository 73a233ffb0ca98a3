"""What a successor function reads of the state: the target's record alone, or more.

A successor (:func:`~mostate.codegen.build.compile_successor`) is given ``(svcs, S, N, pre)``.
When its residual function (:mod:`.residual`) touches the state only as ``N in pre``,
``pre[N]`` and ``pre.get(N, ...)``, and uses ``N`` for nothing else than those reads and the
name in the answer of a step on the target alone, then its answer is a function of the
target's record alone (absent or not): two states that give the target the same record get
the same answer, whatever the other instances and services hold. The explorer then computes
such a request once per record, not once per state (:mod:`mostate.explore.frontier`).

The check reads the residual function, after every fold and every dead copy dropped, not the
rules: it is about what the specialiser left, and it answers ``False`` for anything else.
"""

from __future__ import annotations

from .residual import (
    PRE,
    SERVICE,
    SERVICES,
    TARGET,
    At,
    Exit,
    Function,
    Has,
    Local,
    Lookup,
    RecordOf,
    Term,
    statements,
    stmt_terms,
    term_children,
)

_STATE = frozenset({SERVICES, SERVICE, TARGET, PRE})
"""The parameters: read bare, the state is read beyond the target's record."""


def reads_target_only(function: Function) -> bool:
    """Whether the successor ``function`` reads the state only through the target's record
    (see the module's docstring).

    >>> from mostate.codegen.residual import Exit, Function, Local
    >>> from mostate.model import Clause, Status
    >>> def answer(records):
    ...     return Function("_step", True, (Exit(Status.OK, Clause("k", "c"),
    ...         records, True, Local("x1"), None, None, ()),))
    >>> reads_target_only(answer(Local("c1"))), reads_target_only(answer(None))
    (True, True)
    """
    if not function.successor:
        return False
    for stmt in statements(function.body):
        if isinstance(stmt, Exit):
            if not _answer_local(stmt):
                return False
            continue
        if not all(_local(term) for term in stmt_terms(stmt, True)):
            return False
    return True


def _answer_local(stmt: Exit) -> bool:
    """Whether an exit reads the target's record alone: the name in a point answer is the
    target's, its record the one the function built."""
    if stmt.fresh is not None and not _local(stmt.fresh):
        return False
    if stmt.records is None:
        return True
    if not stmt.point:
        return _local(stmt.records)
    return stmt.held is not None and _local(stmt.held)


def _local(term: Term) -> bool:
    """Whether ``term`` reads the state through the target's record alone."""
    match term:
        case Has(records=records, key=key) | At(records=records, key=key) if (records, key) == (
            PRE,
            TARGET,
        ):
            return True
        case Lookup(records=records, key=key, default=default) if (records, key) == (PRE, TARGET):
            return default is None or _local(default)
        case Local():
            return term not in _STATE
        case RecordOf():
            return False  # a reference computed at run time: any name, any service
        case _:
            return all(_local(child) for child in term_children(term))
