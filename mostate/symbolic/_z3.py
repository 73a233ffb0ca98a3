"""The one module that imports z3: a typed session of sorts and term builders, and a solver
whose every check has a budget.

Everything above this module sees opaque :data:`Term` values (and their refinements
:data:`Bool` and :data:`Int`) and the three results :class:`Sat`, :class:`Unsat` and
:class:`Unknown`; no other module touches z3, so its untyped API stays behind this wall.

Sorts: services (``Svc``) and instance names (``Inst``) are uninterpreted, so that a proof holds
for any number of them; in bounded mode ``Inst`` is an enumeration of exactly ``bound`` names.
Strings (parameter names and values alike, the language has one ``str`` type) are another
uninterpreted sort whose literals are pairwise distinct constants; a parameter map is an array
from strings to an option of a string.

That a map is finite (what every real map is) is said with a function ``dflt`` of the maps, its
value where no key is written: Z3 is given Z3's own array ``default`` in its place (the same
queries as ever), and :meth:`Solver.smtlib` writes the query as SMT-LIB with ``dflt`` an
uninterpreted function under two axioms (``dflt(K(v)) = v``, ``dflt(store(a, k, v)) =
dflt(a)``): a portable script a second solver reads (:mod:`mostate.symbolic._cvc5`).
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NewType

import attrs
import z3

Term = NewType("Term", object)
Bool = NewType("Bool", Term)
Int = NewType("Int", Term)
Sort = NewType("Sort", object)
Func = Callable[..., Term]

_CONTEXTS: weakref.WeakSet[z3.Context] = weakref.WeakSet()
"""Every live session's context, for :func:`interrupt_checks`."""


def interrupt_checks() -> None:
    """Cut short whatever Z3 runs in this process now (the check answers unknown): for a
    thread that answers Ctrl-C while the main thread waits inside Z3 (``Z3_interrupt`` is
    thread-safe).

    Z3 would otherwise take SIGINT for itself during a check and, when the check answered
    anyway, drop it: a Ctrl-C then did nothing at all. Every :class:`Solver` turns that off
    (``ctrl_c``), so Python always sees the signal, and this stops the wait for it.
    """
    for ctx in list(_CONTEXTS):
        ctx.interrupt()


@attrs.frozen
class Budget:
    """What one solver check may spend: wall-clock milliseconds and Z3 resource units (the
    rlimit makes a run stop at the same point on any machine); and, for a whole run, a
    ``deadline`` (a :func:`time.monotonic` instant, ``limit`` seconds after the run began)
    after which no check runs: each check is given at most the time left, and one asked later
    is Unknown at once, with :meth:`time_up` as its reason.

    >>> Budget().timeout_ms > 0 and Budget().rlimit > 0
    True
    >>> Budget.within(60).expired(), Budget.within(0).expired(), Budget.within(2).time_up()
    (False, True, 'time limit of 2 s reached')
    """

    timeout_ms: int = 10_000
    rlimit: int = 50_000_000
    deadline: float | None = None
    limit: float | None = None

    @classmethod
    def within(cls, seconds: float, timeout_ms: int = 10_000, rlimit: int = 50_000_000) -> Budget:
        """A budget whose run ends ``seconds`` from now."""
        return cls(timeout_ms, rlimit, time.monotonic() + seconds, seconds)

    def left_ms(self) -> int | None:
        """Milliseconds left before the deadline (None: no deadline; 0: it has passed)."""
        if self.deadline is None:
            return None
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.left_ms() == 0

    def time_up(self) -> str:
        """The reason given for what the deadline cut short, or never let start."""
        return (
            "the time limit was reached"
            if self.limit is None
            else (f"time limit of {self.limit:g} s reached")
        )


class Session:
    """A private Z3 context with the sorts of one verification run (no global solver state).

    >>> z = Session()
    >>> a = z.const("a", z.inst)
    >>> Solver(z, Budget()).check([z.not_(z.eq(a, a))])
    Unsat()
    """

    def __init__(self, bound: int | None = None, services: int | None = None) -> None:
        self.ctx = z3.Context()
        _CONTEXTS.add(self.ctx)
        self.bound = bound
        if services is None:
            self.svc = Sort(z3.DeclareSort("Svc", self.ctx))
            self._svc_values: tuple[Term, ...] = ()
        else:
            sort, values = z3.EnumSort("Svc", [f"S{n + 1}" for n in range(services)], self.ctx)
            self.svc, self._svc_values = Sort(sort), tuple(Term(v) for v in values)
        if bound is None:
            self.inst = Sort(z3.DeclareSort("Inst", self.ctx))
            self._inst_values: tuple[Term, ...] = ()
        else:
            sort, values = z3.EnumSort("Inst", [f"i{n + 1}" for n in range(bound)], self.ctx)
            self.inst, self._inst_values = Sort(sort), tuple(Term(v) for v in values)
        self.str = Sort(z3.DeclareSort("Str", self.ctx))
        maybe = z3.Datatype("MaybeStr", self.ctx)
        maybe.declare("nothing")
        maybe.declare("just", ("value", self.str))
        self._maybe = maybe.create()
        self.params = Sort(z3.ArraySort(self.str, self._maybe))
        # The value of a map where no key is written: Z3's `default`, given to Z3 in its place.
        self._dflt = z3.Function("dflt", self.params, self._maybe)
        self.bool = Sort(z3.BoolSort(self.ctx))
        self.int = Sort(z3.IntSort(self.ctx))
        self.true = Bool(z3.BoolVal(True, self.ctx))
        self.false = Bool(z3.BoolVal(False, self.ctx))
        self.nil_svc = Term(z3.Const("nil_svc", self.svc))
        self.nil_inst = Term(z3.Const("nil_inst", self.inst))
        self._strings: dict[str, Term] = {}
        self._counter = itertools.count()

    # -- constants and functions ----------------------------------------------------------------

    def const(self, name: str, sort: Sort) -> Term:
        """A fresh constant (the name is made unique)."""
        return Term(z3.Const(f"{name}!{next(self._counter)}", sort))

    def func(self, name: str, domain: Sequence[Sort], range_: Sort) -> Func:
        """A fresh uninterpreted function."""
        decl = z3.Function(f"{name}!{next(self._counter)}", *domain, range_)
        return lambda *args: Term(decl(*args))

    def sort_of(self, term: Term) -> Sort:
        return Sort(_z(term).sort())

    def svc_values(self) -> tuple[Term, ...]:
        """The services of a fully bounded session (empty otherwise)."""
        return self._svc_values

    def inst_values(self) -> tuple[Term, ...]:
        """The instance names of bounded mode (empty when unbounded)."""
        return self._inst_values

    def string(self, text: str) -> Term:
        """The constant standing for a string literal (distinct from every other literal)."""
        if text not in self._strings:
            self._strings[text] = Term(z3.Const(f"str!{len(self._strings)}", self.str))
        return self._strings[text]

    def strings(self) -> dict[str, Term]:
        """Every string literal met so far."""
        return dict(self._strings)

    def literals_distinct(self) -> Bool:
        values = list(self._strings.values())
        return Bool(z3.Distinct(*values)) if len(values) > 1 else self.true

    def bool_val(self, value: bool) -> Bool:
        return self.true if value else self.false

    def int_val(self, value: int) -> Int:
        return Int(z3.IntVal(value, self.ctx))

    # -- connectives ----------------------------------------------------------------------------

    def and_(self, *args: Bool) -> Bool:
        return Bool(z3.And(*args)) if args else self.true

    def or_(self, *args: Bool) -> Bool:
        return Bool(z3.Or(*args)) if args else self.false

    def not_(self, arg: Bool) -> Bool:
        return Bool(z3.Not(arg))

    def implies(self, a: Bool, b: Bool) -> Bool:
        return Bool(z3.Implies(a, b))

    def eq(self, a: Term, b: Term) -> Bool:
        return Bool(_z(a) == _z(b))

    def ite(self, cond: Bool, a: Term, b: Term) -> Term:
        return Term(z3.If(cond, a, b))

    def distinct(self, *args: Term) -> Bool:
        return Bool(z3.Distinct(*args)) if len(args) > 1 else self.true

    def compare(self, op: str, a: Int, b: Int) -> Bool:
        """``op`` is one of ``== != < <= > >=``."""
        x, y = _z(a), _z(b)
        table: dict[str, Callable[[], Any]] = {
            "==": lambda: x == y,
            "!=": lambda: x != y,
            "<": lambda: x < y,
            "<=": lambda: x <= y,
            ">": lambda: x > y,
            ">=": lambda: x >= y,
        }
        return Bool(table[op]())

    def count(self, conds: Sequence[Bool]) -> Int:
        """How many of ``conds`` hold, as an Int term."""
        if not conds:
            return self.int_val(0)
        one, zero = self.int_val(1), self.int_val(0)
        return Int(z3.Sum(*[z3.If(c, one, zero) for c in conds]))

    def forall(self, variables: Sequence[Term], body: Bool) -> Bool:
        return Bool(z3.ForAll(list(variables), body)) if variables else body

    def exists(self, variables: Sequence[Term], body: Bool) -> Bool:
        return Bool(z3.Exists(list(variables), body)) if variables else body

    # -- parameter maps -------------------------------------------------------------------------

    def empty_params(self) -> Term:
        return Term(z3.K(self.str, self._maybe.nothing))

    def with_param(self, params: Term, key: Term, value: Term) -> Term:
        return Term(z3.Store(params, key, self._maybe.just(value)))

    def without_param(self, params: Term, key: Term) -> Term:
        return Term(z3.Store(params, key, self._maybe.nothing))

    def finite(self, params: Term) -> Bool:
        """The map has finitely many keys (its default is "no value"), as every real map has."""
        return Bool(self._dflt(params) == self._maybe.nothing)

    def native(self, fact: Bool) -> Bool:
        """``fact`` as Z3 is asked it: ``dflt`` replaced by Z3's own array ``default``."""
        default = z3.Default(z3.Var(0, self.params))
        return Bool(z3.substitute_funs(fact, (self._dflt, default)))

    def portable_axioms(self) -> tuple[Bool, ...]:
        """What ``dflt`` is, for a solver without Z3's ``default``: the empty map's is "no
        value" (the one constant map a query builds; a constant map of a variable is no
        SMT-LIB term every solver takes), and a store leaves it as it was."""
        v = z3.Const("dflt_v", self._maybe)
        a, k = z3.Const("dflt_a", self.params), z3.Const("dflt_k", self.str)
        empty = self._dflt(self.empty_params()) == self._maybe.nothing
        store = z3.ForAll([a, k, v], self._dflt(z3.Store(a, k, v)) == self._dflt(a))
        return Bool(empty), Bool(store)

    def param(self, params: Term, key: Term) -> Term:
        return Term(z3.Select(params, key))

    def is_just(self, maybe: Term) -> Bool:
        return Bool(self._maybe.is_just(maybe))

    def just_value(self, maybe: Term) -> Term:
        return Term(self._maybe.value(maybe))


def _z(term: Term) -> Any:
    return term


# -- checking ----------------------------------------------------------------------------------


class Model:
    """A satisfying assignment, read back as Python values and element keys."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def eval(self, term: Term) -> Term:
        return Term(self._model.eval(term, model_completion=True))

    def bool(self, term: Term) -> bool:
        return bool(z3.is_true(self.eval(term)))

    def int(self, term: Term) -> int:
        return int(_z(self.eval(term)).as_long())

    def key(self, term: Term) -> str:
        """A stable name for the model element ``term`` denotes (equal elements, equal keys)."""
        return str(self.eval(term))

    def universe(self, sort: Sort, bounded: Sequence[Term] = ()) -> list[Term]:
        """The elements of an uninterpreted sort in this model (or the enumeration's values)."""
        if bounded:
            return list(bounded)
        elements = self._model.get_universe(sort)
        return [Term(e) for e in elements] if elements is not None else []


@attrs.frozen
class Sat:
    model: Model = attrs.field(eq=False, repr=False)


@attrs.frozen
class Unsat:
    pass


@attrs.frozen
class Unknown:
    reason: str


CheckResult = Sat | Unsat | Unknown


class Solver:
    """An incremental solver: every :meth:`check` runs under the session's budget."""

    def __init__(self, session: Session, budget: Budget) -> None:
        self._session = session
        self._solver = z3.Solver(ctx=session.ctx)
        self._budget = budget
        self._solver.set("timeout", budget.timeout_ms)
        self._solver.set("rlimit", budget.rlimit)
        self._solver.set("ctrl_c", False)  # SIGINT is Python's (see interrupt_checks)
        self._scopes: list[list[Bool]] = [[]]  # the facts added, as written, per push

    def add(self, *facts: Bool) -> None:
        self._scopes[-1].extend(facts)
        self._solver.add(*(self._session.native(f) for f in facts))

    def push(self) -> None:
        self._scopes.append([])
        self._solver.push()

    def pop(self) -> None:
        self._scopes.pop()
        self._solver.pop()

    def smtlib(self, facts: Sequence[Bool] = ()) -> str:
        """The query :meth:`check` asks with ``facts``, as an SMT-LIB 2 script of declarations
        and assertions (no ``check-sat``), in the portable encoding (see the module's doc).

        >>> z = Session()
        >>> script = Solver(z, Budget()).smtlib([z.finite(z.empty_params())])
        >>> "(declare-fun dflt" in script and "default" not in script
        True
        """
        script = z3.Solver(ctx=self._session.ctx)
        script.add(*self._session.portable_axioms())
        script.add(*(f for scope in self._scopes for f in scope), *facts)
        return "(set-logic ALL)\n" + str(script.sexpr())

    def check(self, facts: Sequence[Bool] = ()) -> CheckResult:
        """Satisfiable, unsatisfiable, or unknown with Z3's reason (timeout, rlimit, ...), or
        the budget's :meth:`Budget.time_up` when the run's deadline has passed or cut the
        check short."""
        left = self._budget.left_ms()
        if left == 0:
            return Unknown(self._budget.time_up())
        if left is not None:
            self._solver.set("timeout", max(1, min(self._budget.timeout_ms, left)))
        self._solver.push()
        try:
            self._solver.add(*(self._session.native(f) for f in facts))
            answer = self._solver.check()
            if answer == z3.sat:
                return Sat(Model(self._solver.model()))
            if answer == z3.unsat:
                return Unsat()
            if self._budget.expired():
                return Unknown(self._budget.time_up())
            return Unknown(str(self._solver.reason_unknown()) or "unknown")
        finally:
            self._solver.pop()
