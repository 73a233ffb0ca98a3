"""``verify --cross-check``: every check Z3 decides, asked again of cvc5.

Each query of :class:`~mostate.symbolic.Verifier` (one per invariant, property, independence
and obligation, for every operation and branch, and each invariant of the empty device) is the
same set of assertions for both solvers: Z3 writes it as SMT-LIB in the portable encoding and
cvc5 reads it (:mod:`mostate.symbolic._cvc5`). The answers are reconciled by
:func:`reconcile`, three-way each (a disagreement raises
:class:`~mostate.errors.SolversDisagree`):

* Z3 PROVED (unsatisfiable): cvc5 must find it unsatisfiable too. Satisfiable is a
  :class:`SolversDisagree` error naming the check; cvc5 giving up leaves the check UNKNOWN, as
  it has not been cross-checked.
* Z3 VIOLATED (satisfiable, with a model the engine replayed): cvc5 finding the query
  unsatisfiable is a :class:`SolversDisagree`; cvc5 giving up keeps the violation, which the
  engine has shown.
* Z3 UNKNOWN stays UNKNOWN, cvc5's answer added to its reason: a proof only cvc5 found has
  no second opinion, and a model only cvc5 found has no replay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

import attrs

from ..errors import SolversDisagree
from . import _cvc5
from ._z3 import Budget
from .verifier import Check, Proved, SecondOpinion, Undecided, Violated


def cross_check(budget: Budget) -> SecondOpinion:
    """The second opinion :class:`~mostate.symbolic.Verifier` takes (``second=``): cvc5's
    answer to each check's query, within ``budget``, reconciled with Z3's verdict.

    >>> from mostate import load_spec
    >>> from mostate.symbolic import Verifier
    >>> verifier = Verifier(load_spec(), depth=0, second=cross_check(Budget()))
    >>> {(type(c.verdict).__name__, c.second) for c in verifier.checks_for("get")}
    {('Proved', 'unsat')}
    """

    def second(check: Check, script: Callable[[], str]) -> Check:
        return reconcile(check, _cvc5.check(script(), budget))

    return second


def reconcile(check: Check, answer: _cvc5.Answer) -> Check:
    """``check`` as both solvers decide it (see the module's doc); raises SolversDisagree.

    >>> row = Check("one_active", "invariant", "add", "user", Proved(), 0.1)
    >>> reconcile(row, _cvc5.Unknown("timeout")).verdict
    Undecided(reason='Z3 proved it; cvc5 gave up (timeout)')
    """
    said = _said(answer)
    match check.verdict, answer:
        case (Proved(), _cvc5.Sat()) | (Violated(), _cvc5.Unsat()):
            raise SolversDisagree(
                f"the solvers disagree on {check.kind} {check.name} ({_where(check)}): "
                f"Z3 {'proved it' if isinstance(check.verdict, Proved) else 'found a model'}, "
                f"cvc5 finds the query {said}"
            )
        case Proved(), _cvc5.Unknown(reason=why):
            verdict = Undecided(f"Z3 proved it; cvc5 gave up ({why})")
            return attrs.evolve(check, verdict=verdict, second=said)
        case Undecided(reason=why), _:
            return attrs.evolve(check, verdict=Undecided(f"{why}; cvc5: {said}"), second=said)
        case _:  # both solvers decided alike, or Z3's replayed model stands
            return attrs.evolve(check, second=said)


def _said(answer: _cvc5.Answer) -> str:
    match answer:
        case _cvc5.Sat():
            return "sat"
        case _cvc5.Unsat():
            return "unsat"
        case _cvc5.Unknown(reason=why):
            return f"unknown ({why})"
        case _:
            assert_never(answer)


def _where(check: Check) -> str:
    return f"{check.op} as {check.branch}" if check.op else "the empty device"
