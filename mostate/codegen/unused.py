"""Dead copies: the records of a view that nothing reads, dropped from a residual function.

A point effect copies the service's records and sets the target's (``c1 = dict(pre)``,
``c1[N] = x2``, or ``c1 = _add(pre, N, x1)``). Where every check on the copy folded away and
the answer is the target's record alone, nothing reads it: the copy is dropped, and the
function reads no more of the state than the target's record (:mod:`.locality`).
"""

from __future__ import annotations

import re
from typing import assert_never

from .residual import (
    TARGET,
    AddedTo,
    Check,
    Copied,
    Exit,
    Fallback,
    ForEach,
    Guard,
    If,
    Let,
    Local,
    Prologue,
    Stmt,
    Store,
    ValidSplit,
    statements,
    stmt_terms,
    terms,
)

_VIEW = re.compile(r"c\d+")
"""The names the generator gives the records of a view."""


def copy_of(stmt: Stmt) -> str | None:
    """The view a statement builds the records of, when it is one of a point effect's
    copies: ``c = dict(...)``, ``c = _add(...)`` or ``c[N] = x``; else ``None``."""
    match stmt:
        case Let(name=Local(name=name), value=Copied() | AddedTo()) if _VIEW.fullmatch(name):
            return name
        case Store(records=Local(name=name), key=key, value=Local()) if key == TARGET:
            return name if _VIEW.fullmatch(name) else None
        case _:
            return None


def without_unused_copies(body: tuple[Stmt, ...], successor: bool) -> tuple[Stmt, ...]:
    """``body`` without the copies of views that no other statement reads (until none is
    left: dropping one copy may leave the view it copied unread)."""
    while True:
        built = {name for stmt in statements(body) if (name := copy_of(stmt)) is not None}
        read: set[str] = set()
        for stmt in statements(body):
            owner = copy_of(stmt)
            for term in stmt_terms(stmt, successor):
                read.update(t.name for t in terms(term) if isinstance(t, Local) and t.name != owner)
        unused = built - read
        if not unused:
            return body
        body = _dropped(body, unused)


def _dropped(body: tuple[Stmt, ...], unused: set[str]) -> tuple[Stmt, ...]:
    """``body`` without the copies of ``unused`` views, in every block."""
    return tuple(_inner(stmt, unused) for stmt in body if copy_of(stmt) not in unused)


def _inner(stmt: Stmt, unused: set[str]) -> Stmt:
    """``stmt`` with the copies of ``unused`` views dropped from the blocks it holds."""
    match stmt:
        case Let() | Store() | Check() | Fallback() | Prologue():
            return stmt
        case If():
            orelse = None if stmt.orelse is None else _dropped(stmt.orelse, unused)
            return If(stmt.test, _dropped(stmt.body, unused), orelse)
        case ForEach():
            return ForEach(stmt.loop, _dropped(stmt.body, unused))
        case Guard():
            return Guard(_dropped(stmt.body, unused))
        case ValidSplit():
            return ValidSplit(_dropped(stmt.quick, unused), _dropped(stmt.full, unused))
        case Exit():
            return stmt  # its checks read views; they build none
        case _:
            assert_never(stmt)
