"""The one module that imports cvc5: a second solver for the queries Z3 decides.

A query reaches cvc5 as SMT-LIB text, the script :meth:`mostate.symbolic._z3.Solver.smtlib`
writes of exactly the assertions Z3 was given (in the portable encoding: a map's ``dflt`` under
two axioms instead of Z3's array ``default``). Text rather than a second term builder over
cvc5's API: the queries are built once, by the compiler that mirrors the engine; a second
builder would be a second hand-written encoding of every rule, and a disagreement between the
solvers would as likely be one between the two encodings. SMT-LIB is the standard both solvers
read, so what cvc5 is asked is what Z3 was asked.

cvc5 runs with ``arrays-exp`` (constant arrays: the empty map) and ``mbqi`` (model-based
quantifier instantiation, as Z3 uses: the queries quantify over services and instances). Its
answer is three-way, :class:`Sat`, :class:`Unsat` or :class:`Unknown` with cvc5's reason; a
budget bounds it as it bounds Z3 (the time of one check, and the run's deadline). cvc5 has no
``rlimit`` in Z3's units, so only time bounds it. A model is not read back: the model mostate
decodes and replays is Z3's.
"""

from __future__ import annotations

import attrs
import cvc5

from ._z3 import Budget

OPTIONS = (("arrays-exp", "true"), ("mbqi", "true"))
"""What cvc5 needs for these queries (see the module's doc)."""


@attrs.frozen
class Sat:
    """cvc5 found the assertions satisfiable (the property does not hold)."""


@attrs.frozen
class Unsat:
    """cvc5 found them unsatisfiable (the property holds)."""


@attrs.frozen
class Unknown:
    """cvc5 gave up, or could not read the script: ``reason`` says which."""

    reason: str


Answer = Sat | Unsat | Unknown


def check(script: str, budget: Budget) -> Answer:
    """cvc5's answer to an SMT-LIB script of declarations and assertions.

    >>> check("(set-logic ALL)(declare-const p Bool)(assert (and p (not p)))", Budget())
    Unsat()
    >>> check("(set-logic ALL)(declare-const p Bool)(assert p)", Budget())
    Sat()
    >>> check("(set-logic ALL)(assert", Budget()).reason[:27]
    'cvc5 could not read it: ...'
    """
    left = budget.left_ms()
    if left == 0:
        return Unknown(budget.time_up())
    solver, symbols = _solver(budget.timeout_ms if left is None else min(budget.timeout_ms, left))
    try:
        _read(solver, symbols, script)
    except RuntimeError as err:  # cvc5 reports a script it cannot parse so
        return Unknown(f"cvc5 could not read it: {err}")
    result = solver.checkSat()
    if result.isSat():
        return Sat()
    if result.isUnsat():
        return Unsat()
    if budget.expired():
        return Unknown(budget.time_up())
    return Unknown(f"cvc5: {result.getUnknownExplanation()}")


def _solver(timeout_ms: int) -> tuple[cvc5.Solver, cvc5.SymbolManager]:
    """A fresh solver (no state shared between queries) with the options and the time bound."""
    terms = cvc5.TermManager()
    solver = cvc5.Solver(terms)
    for name, value in OPTIONS:
        solver.setOption(name, value)
    solver.setOption("tlimit-per", str(max(1, timeout_ms)))
    return solver, cvc5.SymbolManager(terms)


def _read(solver: cvc5.Solver, symbols: cvc5.SymbolManager, script: str) -> None:
    """Run every command of ``script`` (declarations and assertions) on ``solver``."""
    parser = cvc5.InputParser(solver, symbols)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, script, "query")
    while True:
        command = parser.nextCommand()
        if command.isNull():
            return
        command.invoke(solver, symbols)
