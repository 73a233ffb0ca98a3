"""One operation and one role specialised: :meth:`Engine._step` as a residual function.

The function built here (:class:`~.residual.Function`; :mod:`.python` prints it) takes ``(state,
request, check, valid)`` and returns the outcome and the clauses the step breaks, as the
interpreter's ``Engine._step`` does (``_prepare``, then ``_run_steps``, the query's result,
``normalise`` and ``_check``), with everything the operation and the role fix folded in. Each
refusal, the confirmation point and the end of the steps is an *exit point*; at each one the
status, the clause, whether any effect ran, and what the earlier refusals decided are known, and
the invariants and properties are specialised to them (most fold to ``true``). Effects over the
request's service are written out; an operation with an effect over other services, or a spec
with an invariant that reads other services, is left to the interpreter
(:class:`~mostate.codegen.values.Unsupported`).

*Frame reasoning* keeps a step's work in proportion to what it changes, not to the size of the
service. An effect whose every update folds, for an instance known not to be the target, to that
instance's own field (``if i == target then e else params(i)``) is a *point* effect: the
service's dict is copied in C and only the target's record is computed. After one, a quantifier
of a property whose body folds to a constant on an instance with one record before and after
walks the target alone (``frame_parts``); and when the caller says the service kept the
invariants before the step (``valid``), ``all(i, P(i))`` is checked on the target and
``count(i, P(i)) <= k`` is counted only when the target newly satisfies ``P``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import assert_never

import attrs

from ..errors import RequestError
from ..frozenmap import FrozenMap
from ..model import ArgValue, Clause, Confirm, Request, Role, Status
from ..rules import (
    ARG_TYPES,
    Builtin,
    BuiltinName,
    Confirmation,
    Domain,
    Effect,
    Field,
    Operation,
    Read,
    Refusal,
    Spec,
    Type,
    has_the,
    reads_other_services,
    step_exprs,
)
from .checks import exit_checks
from .context import Cx, Unit
from .domains import fresh_record, read, ref_tuple
from .expr import code, compile_expr
from .residual import (
    TARGET,
    AddedTo,
    ArgCheck,
    At,
    Copied,
    Exit,
    ForEach,
    Function,
    Guard,
    Has,
    If,
    Let,
    Local,
    NoRecords,
    Not,
    OverRecords,
    Prologue,
    Rebuilt,
    Record,
    Result,
    Stmt,
    Store,
    Term,
)
from .unused import without_unused_copies
from .values import BASE, Code, Dyn, Named, Ref, ServiceFresh, Unsupported, ViewCode

_TARGET_EXISTS = Read(Field.EXISTS, Builtin(BuiltinName.TARGET, Type.INSTANCE), False)
"""``exists(target)``: when a refusal has decided it, an effect need not consider a new target."""
_NOT_N = frozenset({TARGET})
"""What an instance of a loop over the others is known not to be: the target."""


class _Writer:
    """The statements of a function, block by block."""

    def __init__(self) -> None:
        self.blocks: list[list[Stmt]] = [[]]

    def __call__(self, stmt: Stmt) -> None:
        self.blocks[-1].append(stmt)

    @contextmanager
    def block(self) -> Iterator[list[Stmt]]:
        """Collect the statements written inside into a block of their own."""
        self.blocks.append([])
        try:
            yield self.blocks[-1]
        finally:
            self.blocks.pop()

    def body(self) -> tuple[Stmt, ...]:
        return tuple(self.blocks[0])


@attrs.frozen
class _Exit:
    """An exit point: the status, the clause, and what is known there."""

    status: Status
    clause: Clause
    cx: Cx


def success_clause(op: Operation) -> Clause:
    """The clause of a step that ran to the end (``Engine._compile_op``)."""
    effects = [s for s in op.steps if isinstance(s, Effect)]
    if effects and not op.is_query:
        return Clause("effect", effects[-1].name, effects[-1].loc)
    return Clause("query" if op.is_query else "operation", op.name, op.loc)


@attrs.frozen
class Fixed:
    """What a concrete request fixes besides its operation and role: its arguments, checked
    as ``Engine._prepare`` checks them (an optional one left out is the empty map), and
    whether it declines the confirmation."""

    args: FrozenMap[str, ArgValue]
    declines: bool


def fixed(op: Operation, request: Request) -> Fixed | None:
    """What ``request`` fixes of ``op``, or ``None`` when it is malformed (the engine answers
    that: a missing service or instance, an argument missing or of the wrong type)."""
    if request.service is None or (op.has_target and request.instance is None):
        return None
    try:
        args = op.request_args(request)
    except RequestError:
        return None
    declines = request.actor.role is Role.SERVER and request.confirm is Confirm.DECLINE
    return Fixed(FrozenMap(args), declines)


def emit_function(
    spec: Spec,
    op: Operation,
    role: Role,
    unit: Unit,
    name: str,
    successor: Fixed | None = None,
) -> Function:
    """The function ``name(state, request, check, valid=False)`` for ``op`` and ``role``.

    With ``successor``: ``name(svcs, S, N, pre)``, the explorer's lighter form
    (:class:`~mostate.codegen.build.SuccessorStep`), specialised to one concrete request (its
    arguments and its answer to the confirmation folded in as constants; the caller sends it
    only requests that fix the same) and to states that keep the invariants. It returns the
    request's service's records after the step (``None``: the state is unchanged) and the
    clauses the step breaks, or :data:`~mostate.codegen.runtime.FALLBACK` where the engine must
    answer (an ambiguous ``the``, an effect that makes unnamed instances exist)."""
    if any(isinstance(s, Effect) and s.over is not Domain.SERVICE for s in op.steps):
        raise Unsupported(f"operation {op.name!r} has an effect beyond the target's service")
    if any(isinstance(s, Effect) for s in op.steps) and any(
        reads_other_services(inv.expr) for inv in spec.invariants
    ):
        raise Unsupported("an invariant reads other services")
    return _Function(spec, op, role, unit, successor).emit(name)


class _Function:
    """The builder of one function (internal: one instance per (operation, role))."""

    def __init__(
        self, spec: Spec, op: Operation, role: Role, unit: Unit, successor: Fixed | None = None
    ) -> None:
        self.spec, self.op, self.role, self.unit = spec, op, role, unit
        self.successor = successor
        self._target_held: dict[Local, tuple[Local, tuple[Code, ...]]] = {}
        """The local holding the target's record in a view written by a point effect, and
        the code of each of its fields (in :class:`Field` order)."""
        self.out = _Writer()
        if successor is None:
            args = FrozenMap((d.name, Code(Local(f"a{index}"))) for index, d in enumerate(op.args))
        else:
            args = FrozenMap((k, Code.known(v)) for k, v in successor.args.items())
        target = Named(TARGET) if op.has_target else None
        self.cx = Cx(unit, role, args, target)
        self.properties = [
            p for p in spec.properties if role in p.roles and (p.ops is None or op.name in p.ops)
        ]
        self.written = frozenset(
            field for step in op.steps if isinstance(step, Effect) for field, _ in step.updates
        )
        """The fields the operation's effects write."""

    def emit(self, name: str) -> Function:
        self._prologue()
        risky = any(has_the(e) for e in step_exprs(self.op)) or (
            self.op.result is not None and has_the(self.op.result)
        )
        if risky:
            with self.out.block() as body:
                self._steps()
            self.out(Guard(tuple(body)))
        else:
            self._steps()
        successor = self.successor is not None
        return Function(name, successor, without_unused_copies(self.out.body(), successor))

    # -- the request's shape (Engine._prepare) ----------------------------------------------

    def _prologue(self) -> None:
        op = self.op
        if self.successor is not None:  # the caller hands the request's service over
            return
        checks = []
        for index, decl in enumerate(op.args):
            kind = ARG_TYPES.get(decl.type)
            if kind is None:
                raise Unsupported(f"argument type {decl.type.value!r}")
            local, named = Local(f"a{index}"), self.unit.const(kind)
            checks.append(
                ArgCheck(local, decl.name, decl.type.value, named, decl.optional, decl.is_name)
            )
        decline = self.unit.const(Confirm.DECLINE) if self.role is Role.SERVER else None
        self.out(Prologue(op.name, op.has_target, tuple(checks), decline))

    # -- the steps (Engine._run_steps) --------------------------------------------------------

    def _steps(self) -> None:
        if self.successor is not None:
            declines = Code.known(self.successor.declines)
        else:
            declines = Code(Local("dec")) if self.role is Role.SERVER else Code.known(False)
        cx = attrs.evolve(self.cx, declines=declines)
        view, count = BASE, 0
        for step in self.op.steps:
            match step:
                case Refusal():
                    if self.role not in step.roles:
                        continue
                    here = _in_view(cx, view)
                    when = code(step.when, here)
                    if when.static and not when.value:
                        continue
                    clause = Clause("refusal", step.name, step.loc)
                    fired = here.assume(step.when, True) if view.base else here
                    if when.static:
                        self._exit(_Exit(step.status, clause, fired), view)
                        return
                    assert when.term is not None
                    with self.out.block() as body:
                        self._exit(_Exit(step.status, clause, fired), view)
                    self.out(If(when.term, tuple(body)))
                    if view.base:
                        cx = self._hold_target(cx.assume(step.when, False))
                case Confirmation():
                    if cx.declines.static and not cx.declines.value:
                        continue  # a user's request, or one that passed a confirmation
                    clause = Clause("confirmation", step.name, step.loc)
                    asked = attrs.evolve(cx, declined=True, declines=Code.known(True))
                    if cx.declines.static:  # a concrete request that declines
                        self._exit(_Exit(Status.NOT_EXECUTED, clause, asked), view)
                        return
                    with self.out.block() as body:
                        self._exit(_Exit(Status.NOT_EXECUTED, clause, asked), view)
                    self.out(If(Local("dec"), tuple(body)))
                    cx = attrs.evolve(cx, declines=Code.known(False))
                case Effect():
                    count += 1
                    view = self._effect(step, _in_view(cx, view), count)
                    held = self._target_held.get(view.records)
                    if held is not None and isinstance(cx.target, Named):
                        local, fields = held
                        target = _holding(cx.target, view.records, local, fields)
                        cx = attrs.evolve(cx, target=target)
                case _:
                    assert_never(step)
        self._success(cx, view)

    def _hold_target(self, cx: Cx) -> Cx:
        """``cx``, with the target's record before the step in a local once the refusals have
        shown that it exists: later reads of it are that local, not a dict look-up each."""
        target = cx.target
        if (
            not isinstance(target, Named)
            or cx.facts.get(_TARGET_EXISTS) is not True
            or BASE.records in target.recs
        ):
            return cx
        local = self.unit.fresh("r")
        self.out(Let(local, At(BASE.records, TARGET)))
        return attrs.evolve(cx, target=_holding(target, BASE.records, local))

    def _success(self, cx: Cx, view: ViewCode) -> None:
        clause = success_clause(self.op)
        if self.op.result is None:
            self._exit(_Exit(Status.OK, clause, cx), view)
            return
        result = compile_expr(self.op.result, _in_view(cx, view))
        if isinstance(result, Code):
            raise Unsupported("a query result that is not an instance")
        if not isinstance(result, Named):
            res = Local("res")
            self.out(Let(res, ref_tuple(result)))
            result = Dyn(res)
        self._exit(_Exit(Status.OK, clause, attrs.evolve(cx, result=result)), view)

    # -- effects (_apply_effect, _next_record) -------------------------------------------------

    def _effect(self, step: Effect, cx: Cx, count: int) -> ViewCode:
        if self._is_point(step, cx):
            return self._point_effect(step, cx, Local(f"c{count}"))
        out, view = self.out, cx.pre
        records = Local(f"c{count}")
        out(Let(records, NoRecords()))
        name, rec = self.unit.fresh("n"), self.unit.fresh("r")
        with out.block() as body:
            known = frozenset({view.records}) if view.base else frozenset()
            named = Named(name, FrozenMap({view.records: rec}), known)
            self._next_record(step, cx.bind("i", named), rec, (records, name))
        out(ForEach(OverRecords(name, rec, view.records), tuple(body)))
        if self.op.has_target and cx.facts.get(_TARGET_EXISTS) is not True:
            with out.block() as body:
                self._point_absent(step, cx, records, records)
            out(If(Not(Has(view.records, TARGET)), tuple(body)))
            # The absent target's record is held in a local of that branch alone; a present
            # target's is in the loop's dict: what reads it after the step reads the dict.
            self._target_held.pop(records, None)
        new_fresh, _ = self._next_record(step, cx.bind("i", ServiceFresh()), fresh_record(view))
        return ViewCode(records, new_fresh, False)

    def _is_point(self, step: Effect, cx: Cx) -> bool:
        """Whether ``step`` leaves every named instance but the target as it is: each update,
        read for an instance known not to be the target, folds to the field's own read (the
        frame of ``if i == target then e else field(i)``). Tried in a scratch unit."""
        view = cx.pre
        if not self.op.has_target or not (view.base or view.point):
            return False
        other = Named(
            Local("n0"),
            FrozenMap({view.records: Local("r0")}),
            frozenset({view.records}),
            distinct=_NOT_N,
        )
        probe = attrs.evolve(cx, unit=self.unit.scratch()).bind("i", other)
        try:
            return all(code(e, probe) == read(f, other, view) for f, e in step.updates)
        except Unsupported:
            return False

    def _point_effect(self, step: Effect, cx: Cx, records: Local) -> ViewCode:
        """The effect written for the target alone: the other records are copied as they are
        (one dict copy, in C), and a new target is added at the end."""
        out, view = self.out, cx.pre
        present = True if view.point else cx.facts.get(_TARGET_EXISTS)
        if present is None:
            with out.block() as body:
                self._point_present(step, cx, records)
            with out.block() as orelse:
                self._point_absent(step, cx, records, view.records)
            out(If(Has(view.records, TARGET), tuple(body), tuple(orelse)))
            self._target_held.pop(records, None)  # held on each branch in its own local
        elif present:
            self._point_present(step, cx, records)
        else:
            self._point_absent(step, cx, records, view.records)
        new_fresh, _ = self._next_record(step, cx.bind("i", ServiceFresh()), fresh_record(view))
        return ViewCode(records, new_fresh, False, point=True)

    def _point_present(self, step: Effect, cx: Cx, records: Local) -> None:
        view = cx.pre
        rec = cx.target.recs.get(view.records) if isinstance(cx.target, Named) else None
        if rec is None:
            rec = self.unit.fresh("r")
            self.out(Let(rec, At(view.records, TARGET)))
        known = frozenset({view.records}) if view.base else frozenset()
        target = Named(TARGET, FrozenMap({view.records: rec}), known)
        new, fields = self._next_record(step, cx.bind("i", target), rec, self.unit.fresh("x"))
        assert new is not None  # written into a local of its own
        self.out(Let(records, Copied(view.records)))
        self.out(Store(records, TARGET, new))
        self._target_held[records] = (new, fields)

    def _point_absent(self, step: Effect, cx: Cx, records: Local, source: Local) -> None:
        """``records`` becomes ``source`` with the absent target's next record added at the
        end (the record it would have if the effect made it exist)."""
        view = cx.pre
        fresh = fresh_record(view)
        if view.fresh is None:
            target = Named(TARGET, absent_in=frozenset({view.records}))
        else:
            target = Named(TARGET, FrozenMap({view.records: view.fresh}))
        new, fields = self._next_record(step, cx.bind("i", target), fresh, self.unit.fresh("x"))
        assert new is not None  # written into a local of its own
        self.out(Let(records, AddedTo(source, TARGET, new)))
        self._target_held[records] = (new, fields)

    def _next_record(
        self, step: Effect, cx: Cx, old: Term, into: Local | tuple[Local, Local] | None = None
    ) -> tuple[Local | None, tuple[Code, ...]]:
        """Write the next record of ``i`` into ``into`` (a local, a name of records this
        function builds, or a new local); returns the local holding it (``None`` when it is
        the absent record, known statically, or stored into records), and the code of each of
        its fields."""
        bound = cx.vars["i"]
        values = [read(field, bound, cx.pre) for field in Field]
        before = list(values)
        differs: list[tuple[Term, Term]] = []
        changed = False
        for field, expr in step.updates:
            index = list(Field).index(field)
            value = code(expr, cx)
            if not value.static:
                local = self.unit.fresh("x")
                assert value.term is not None
                self.out(Let(local, value.term))
                value = Code(local)
            if value.static and before[index].static:
                changed = changed or value.value != before[index].value
            else:
                differs.append((self.unit.src(value), self.unit.src(before[index])))
            values[index] = value
        target = into if into is not None else self.unit.fresh("cf")
        # Either way the record's fields are ``values``: the old record is kept only when
        # every one of them equals its own.
        if changed:
            record: Term = self._record(values)
        elif differs:
            record = Rebuilt(self._record(values), old, tuple(differs))
        elif into is None and old == fresh_record(BASE):
            return None, tuple(values)
        else:
            record = old
        if isinstance(target, tuple):
            self.out(Store(*target, record))
            return None, tuple(values)
        self.out(Let(target, record))
        return target, tuple(values)

    def _record(self, values: list[Code]) -> Record:
        return Record(tuple(self.unit.src(v) for v in values))

    # -- exit points (the outcome, then Engine._check) ------------------------------------------

    def _exit(self, end: _Exit, view: ViewCode) -> None:
        unit = self.unit
        if self.successor is None:
            # The operation form names the clause and status: in this order, as it always has.
            if not view.base and view.fresh is not None:
                unit.const(end.clause)
            unit.const(end.status)
            unit.const(end.clause)
        base = attrs.evolve(self.cx, target=end.cx.target)  # with the locals it holds
        checks = exit_checks(
            self.spec, self.properties, base, end.cx, end.status, view, self.written
        )
        records = None if view.base else view.records
        held = self._target_held.get(view.records) if view.point else None
        self.out(
            Exit(
                end.status,
                end.clause,
                records,
                view.point,
                held[0] if held is not None else None,
                None if view.base else view.fresh,
                self._result(end.cx.result),
                tuple(checks),
            )
        )

    def _result(self, result: Ref | None) -> Result | None:
        if result is None or self.op.result_type is None:
            return None
        name = result.name if isinstance(result, Named) else None
        return Result(ref_tuple(result), name, self.op.result_type)


def _holding(
    target: Named, records: Local, local: Local, fields: tuple[Code, ...] | None = None
) -> Named:
    """The target, its record in the view ``records`` held by the local ``local`` (whose
    fields' code is ``fields``, when known)."""
    known = target.fields if fields is None else target.fields.set(records, fields)
    return attrs.evolve(target, recs=target.recs.set(records, local), fields=known)


def _in_view(cx: Cx, view: ViewCode) -> Cx:
    """``cx`` for code that reads ``view`` (facts hold for the state before the step only)."""
    if view.base:
        return attrs.evolve(cx, pre=view, post=view)
    return attrs.evolve(cx, pre=view, post=view, facts=FrozenMap())
