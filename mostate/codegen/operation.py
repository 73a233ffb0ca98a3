"""Python source for one operation and one role: :meth:`Engine._step` specialised.

The function written here takes ``(state, request, check, valid)`` and returns the outcome and the
clauses the step breaks, as the interpreter's ``Engine._step`` does (``_prepare``, then
``_run_steps``, the query's result, ``normalise`` and ``_check``), with everything the operation
and the role fix folded in. Each refusal, the confirmation point and the end of the steps is an
*exit point*; at each one the status, the clause, whether any effect ran, and what the earlier
refusals decided are known, and the invariants and properties are specialised to them (most
fold to ``true``). Effects over the request's service are written out; an operation with an
effect over other services, or a spec with an invariant that reads other services, is left to
the interpreter (:class:`~mostate.codegen.values.Unsupported`).

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

import re
from collections.abc import Iterator
from contextlib import contextmanager

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
from .domains import read, ref_tuple
from .expr import code, compile_expr
from .runtime import reason
from .values import BASE, Code, Dyn, Named, Ref, ServiceFresh, Unsupported, ViewCode

_TARGET_EXISTS = Read(Field.EXISTS, Builtin(BuiltinName.TARGET, Type.INSTANCE), False)
"""``exists(target)``: when a refusal has decided it, an effect need not consider a new target."""
_NOT_N = frozenset({"N"})
"""What an instance of a loop over the others is known not to be: the target."""


class _Writer:
    """Lines of source with their indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._depth = 0

    def __call__(self, text: str) -> None:
        self.lines.append("    " * self._depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self(header)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1


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
) -> list[str]:
    """The source lines of ``name(state, request, check, valid=False)`` for ``op`` and ``role``.

    With ``successor``: of ``name(svcs, S, N, pre)``, the explorer's lighter form
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
    """The writer of one function (internal: one instance per (operation, role))."""

    def __init__(
        self, spec: Spec, op: Operation, role: Role, unit: Unit, successor: Fixed | None = None
    ) -> None:
        self.spec, self.op, self.role, self.unit = spec, op, role, unit
        self.successor = successor
        self._target_held: dict[str, tuple[str, tuple[Code, ...]]] = {}
        """The local holding the target's record in a view written by a point effect, and
        the code of each of its fields (in :class:`Field` order)."""
        self.out = _Writer()
        if successor is None:
            args = FrozenMap((d.name, Code(f"a{index}")) for index, d in enumerate(op.args))
        else:
            args = FrozenMap((k, Code.known(v)) for k, v in successor.args.items())
        target = Named("N") if op.has_target else None
        self.cx = Cx(unit, role, args, target)
        self.properties = [
            p for p in spec.properties if role in p.roles and (p.ops is None or op.name in p.ops)
        ]
        self.written = frozenset(
            field for step in op.steps if isinstance(step, Effect) for field, _ in step.updates
        )
        """The fields the operation's effects write."""

    def emit(self, name: str) -> list[str]:
        header = "(state, request, check, valid=False)"
        if self.successor is not None:
            header = "(svcs, S, N, pre)"
        with self.out.block(f"def {name}{header}:"):
            self._prologue()
            risky = any(has_the(e) for e in step_exprs(self.op)) or (
                self.op.result is not None and has_the(self.op.result)
            )
            if risky:
                with self.out.block("try:"):
                    self._steps()
                with self.out.block("except _Ambiguous as err:"):
                    self.out(self._fail("_ambiguous(state, err)"))
            else:
                self._steps()
        return _without_unused_copies(self.out.lines)

    # -- the request's shape (Engine._prepare) ----------------------------------------------

    def _prologue(self) -> None:
        out, lit, op = self.out, self.unit.literal, self.op
        if self.successor is not None:  # the caller hands the request's service over
            return
        out("S = request.service")
        with out.block("if S is None:"):
            out(self._fail(f"_bad(state, {lit(_missing(op, 'service'))})"))
        if op.has_target:
            out("N = request.instance")
            with out.block("if N is None:"):
                out(self._fail(f"_bad(state, {lit(_missing(op, 'instance'))})"))
        if op.args:
            out("args = request.args._data")
        for index, decl in enumerate(op.args):
            local, what = f"a{index}", f"{op.name}: {decl.name!r}"
            kind = ARG_TYPES.get(decl.type)
            if kind is None:
                raise Unsupported(f"argument type {decl.type.value!r}")
            out(f"{local} = args.get({lit(decl.name)})")
            with out.block(f"if {local} is None:"):
                if decl.optional:
                    out(f"{local} = _EMPTY_PARAMS")
                else:
                    out(self._fail(f"_bad(state, {lit(f'{what} is missing')})"))
            with out.block(f"elif not isinstance({local}, {self.unit.const(kind)}):"):
                out(self._fail(f"_bad(state, {lit(f'{what} must be {decl.type.value}')})"))
            if decl.is_name:
                with out.block(f"elif (why := _name_error({local}, {lit(what)})) is not None:"):
                    out(self._fail("_bad(state, why)"))
        out("svcs = state.services._data")
        out("sv = svcs.get(S)")
        out("pre = sv.instances._data if sv is not None else _EMPTY")
        if self.role is Role.SERVER:
            out(f"dec = request.confirm is {self.unit.const(Confirm.DECLINE)}")

    def _fail(self, answer: str) -> str:
        """The line that returns ``answer`` (an outcome the runtime builds), or, in the
        successor form, that hands the request back to the engine."""
        return "return _FALLBACK" if self.successor is not None else f"return {answer}"

    # -- the steps (Engine._run_steps) --------------------------------------------------------

    def _steps(self) -> None:
        if self.successor is not None:
            declines = Code.known(self.successor.declines)
        else:
            declines = Code("dec") if self.role is Role.SERVER else Code.known(False)
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
                    with self.out.block(f"if {when.src}:"):
                        self._exit(_Exit(step.status, clause, fired), view)
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
                    with self.out.block("if dec:"):
                        self._exit(_Exit(Status.NOT_EXECUTED, clause, asked), view)
                    cx = attrs.evolve(cx, declines=Code.known(False))
                case Effect():
                    count += 1
                    view = self._effect(step, _in_view(cx, view), count)
                    held = self._target_held.get(view.records)
                    if held is not None and isinstance(cx.target, Named):
                        local, fields = held
                        target = _holding(cx.target, view.records, local, fields)
                        cx = attrs.evolve(cx, target=target)
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
        self.out(f"{local} = {BASE.records}[N]")
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
            self.out(f"res = {ref_tuple(result)}")
            result = Dyn("res")
        self._exit(_Exit(Status.OK, clause, attrs.evolve(cx, result=result)), view)

    # -- effects (_apply_effect, _next_record) -------------------------------------------------

    def _effect(self, step: Effect, cx: Cx, count: int) -> ViewCode:
        if self._is_point(step, cx):
            return self._point_effect(step, cx, f"c{count}")
        out, view = self.out, cx.pre
        records = f"c{count}"
        out(f"{records} = {{}}")
        name, rec = self.unit.fresh("n"), self.unit.fresh("r")
        with out.block(f"for {name}, {rec} in {view.records}.items():"):
            known = frozenset({view.records}) if view.base else frozenset()
            named = Named(name, FrozenMap({view.records: rec}), known)
            self._next_record(step, cx.bind("i", named), rec, f"{records}[{name}]")
        if self.op.has_target and cx.facts.get(_TARGET_EXISTS) is not True:
            with out.block(f"if N not in {view.records}:"):
                self._point_absent(step, cx, records, records)
        new_fresh, _ = self._next_record(
            step, cx.bind("i", ServiceFresh()), view.fresh or "_ABSENT"
        )
        return ViewCode(records, new_fresh, False)

    def _is_point(self, step: Effect, cx: Cx) -> bool:
        """Whether ``step`` leaves every named instance but the target as it is: each update,
        read for an instance known not to be the target, folds to the field's own read (the
        frame of ``if i == target then e else field(i)``). Tried in a scratch unit."""
        view = cx.pre
        if not self.op.has_target or not (view.base or view.point):
            return False
        other = Named(
            "n0", FrozenMap({view.records: "r0"}), frozenset({view.records}), distinct=_NOT_N
        )
        probe = attrs.evolve(cx, unit=self.unit.scratch()).bind("i", other)
        try:
            return all(code(e, probe) == read(f, other, view) for f, e in step.updates)
        except Unsupported:
            return False

    def _point_effect(self, step: Effect, cx: Cx, records: str) -> ViewCode:
        """The effect written for the target alone: the other records are copied as they are
        (one dict copy, in C), and a new target is added at the end."""
        out, view = self.out, cx.pre
        present = True if view.point else cx.facts.get(_TARGET_EXISTS)
        if present is None:
            with out.block(f"if N in {view.records}:"):
                self._point_present(step, cx, records)
            with out.block("else:"):
                self._point_absent(step, cx, records, view.records)
            self._target_held.pop(records, None)  # held on each branch in its own local
        elif present:
            self._point_present(step, cx, records)
        else:
            self._point_absent(step, cx, records, view.records)
        new_fresh, _ = self._next_record(
            step, cx.bind("i", ServiceFresh()), view.fresh or "_ABSENT"
        )
        return ViewCode(records, new_fresh, False, point=True)

    def _point_present(self, step: Effect, cx: Cx, records: str) -> None:
        view = cx.pre
        rec = cx.target.recs.get(view.records) if isinstance(cx.target, Named) else None
        if rec is None:
            rec = self.unit.fresh("r")
            self.out(f"{rec} = {view.records}[N]")
        known = frozenset({view.records}) if view.base else frozenset()
        target = Named("N", FrozenMap({view.records: rec}), known)
        new, fields = self._next_record(step, cx.bind("i", target), rec, self.unit.fresh("x"))
        self.out(f"{records} = dict({view.records})")
        self.out(f"{records}[N] = {new}")
        if new is not None:
            self._target_held[records] = (new, fields)

    def _point_absent(self, step: Effect, cx: Cx, records: str, source: str) -> None:
        """``records`` becomes ``source`` with the absent target's next record added at the
        end (the record it would have if the effect made it exist)."""
        view = cx.pre
        fresh = view.fresh or "_ABSENT"
        if view.fresh is None:
            target = Named("N", absent_in=frozenset({view.records}))
        else:
            target = Named("N", FrozenMap({view.records: fresh}))
        new, fields = self._next_record(step, cx.bind("i", target), fresh, self.unit.fresh("x"))
        self.out(f"{records} = _add({source}, N, {new})")
        if new is not None:
            self._target_held[records] = (new, fields)

    def _next_record(
        self, step: Effect, cx: Cx, old: str, into: str | None = None
    ) -> tuple[str | None, tuple[Code, ...]]:
        """Write the next record of ``i`` into ``into`` (or a new local); returns the local
        holding it, or ``None`` when it is the absent record, known statically, and the code
        of each of its fields."""
        bound = cx.vars["i"]
        values = [read(field, bound, cx.pre) for field in Field]
        before = list(values)
        differs: list[str] = []
        changed = False
        for field, expr in step.updates:
            index = list(Field).index(field)
            value = code(expr, cx)
            if not value.static:
                local = self.unit.fresh("x")
                self.out(f"{local} = {value.src}")
                value = Code(local)
            if value.static and before[index].static:
                changed = changed or value.value != before[index].value
            else:
                differs.append(f"{self.unit.src(value)} != {self.unit.src(before[index])}")
            values[index] = value
        target = into if into is not None else self.unit.fresh("cf")
        # Either way the record's fields are ``values``: the old record is kept only when
        # every one of them equals its own.
        if changed:
            self.out(f"{target} = {self._record(values)}")
        elif differs:
            self.out(f"{target} = {self._record(values)} if {' or '.join(differs)} else {old}")
        elif into is None and old == "_ABSENT":
            return None, tuple(values)
        else:
            self.out(f"{target} = {old}")
        return target, tuple(values)

    def _record(self, values: list[Code]) -> str:
        exists, *fields = values
        srcs = ", ".join(self.unit.src(v) for v in fields)
        if exists.static:
            return f"_Instance({srcs})" if exists.value else f"_Raw(False, {srcs})"
        return f"(_Instance({srcs}) if {exists.src} else _Raw(False, {srcs}))"

    # -- exit points (the outcome, then Engine._check) ------------------------------------------

    def _exit(self, end: _Exit, view: ViewCode) -> None:
        if self.successor is not None:
            self._successor_exit(end, view)
            return
        out, unit = self.out, self.unit
        if view.base:
            out("after = state")
        else:
            if view.fresh is not None:
                with out.block(f"if {view.fresh}.exists:"):
                    out(f"return _unbounded(state, {unit.const(end.clause)}, S)")
            if view.point:
                out(f"after = _rewrite_point(state, S, {view.records}, N)")
            else:
                out(f"after = _rewrite(state, S, {view.records})")
        rendered = self._render(end.cx.result, view)
        why = unit.literal(reason(end.status, end.clause))
        out(
            f"out = _Outcome({unit.const(end.status)}, after, {unit.const(end.clause)},"
            f" {rendered}, {why})"
        )
        base = attrs.evolve(self.cx, target=end.cx.target)  # with the locals it holds
        checks = exit_checks(
            self.spec, self.properties, base, end.cx, end.status, view, self.written
        )
        if checks:
            with out.block("if check:"):
                out("broken = []")
                for line in checks:
                    out(line)
                with out.block("if broken:"):
                    out("return out, tuple(dict.fromkeys(broken))")
        out("return out, ()")

    def _successor_exit(self, end: _Exit, view: ViewCode) -> None:
        """An exit point of the successor form: the service's records (raw: a record may be
        one an effect made not exist), the target's name and record alone after an effect on
        it alone (a ``point`` view), or ``None`` for an unchanged state; and what breaks."""
        out = self.out
        if view.base:
            records = "None"
        else:
            if view.fresh is not None:
                with out.block(f"if {view.fresh}.exists:"):
                    out(self._fail(""))
            records = view.records
            if view.point:
                held = self._target_held.get(records)
                records = f"(N, {held[0] if held is not None else f'{records}[N]'})"
        base = attrs.evolve(self.cx, target=end.cx.target)  # with the locals it holds
        checks = exit_checks(
            self.spec, self.properties, base, end.cx, end.status, view, self.written
        )
        if checks:
            out("broken = []")
            for line in checks:
                out(line)
            with out.block("if broken:"):
                out(f"return {records}, tuple(dict.fromkeys(broken))")
        out(f"return {records}, ()")

    def _render(self, result: Ref | None, view: ViewCode) -> str:
        if result is None:
            return "None"
        if self.op.result_type is Type.INSTANCE:
            if isinstance(result, Named) and view.base:
                return f"{view.records}.get({result.name})"
            return f"_instance_of(after, {ref_tuple(result)})"
        if isinstance(result, Named):
            return result.name
        return f"_name_of({ref_tuple(result)})"


_COPY = re.compile(r"\s*(c\d+)(?: = (?:dict|_add)\(.*\)|\[N\] = \w+)")
"""A line that builds a view's records (``c1 = dict(pre)``, ``c1[N] = x2``, ``c1 = _add(pre,
N, x1)``): the generator's own names only."""


def _without_unused_copies(lines: list[str]) -> list[str]:
    """``lines`` without the records of a view that nothing reads: a point effect copies the
    service's dict, which goes unread where every check on it folded away and the answer is
    the target's record alone. The copy is dropped, and the function reads no more of the
    state than the target's record (:mod:`.locality`)."""
    while True:
        built = {m.group(1): m for m in map(_COPY.fullmatch, lines) if m is not None}
        unused = {
            name
            for name in built
            if not any(
                re.search(rf"\b{name}\b", line)
                for line in lines
                if (m := _COPY.fullmatch(line)) is None or m.group(1) != name
            )
        }
        if not unused:
            return _filled(lines)
        kept = (m is None or m.group(1) not in unused for m in map(_COPY.fullmatch, lines))
        lines = [line for line, keep in zip(lines, kept, strict=True) if keep]


def _filled(lines: list[str]) -> list[str]:
    """``lines`` with ``pass`` in a block left empty."""
    out: list[str] = []
    for at, line in enumerate(lines):
        out.append(line)
        if line.endswith(":"):
            depth = len(line) - len(line.lstrip())
            after = lines[at + 1] if at + 1 < len(lines) else ""
            if len(after) - len(after.lstrip()) <= depth:
                out.append(" " * (depth + 4) + "pass")
    return out


def _holding(
    target: Named, records: str, local: str, fields: tuple[Code, ...] | None = None
) -> Named:
    """The target, its record in the view ``records`` held by the local ``local`` (whose
    fields' code is ``fields``, when known)."""
    known = target.fields if fields is None else target.fields.set(records, fields)
    return attrs.evolve(target, recs=target.recs.set(records, local), fields=known)


def _missing(op: Operation, what: str) -> str:
    """``_prepare``'s words for a request without its service or instance."""
    return f"{op.name}: {what!r} is missing"


def _in_view(cx: Cx, view: ViewCode) -> Cx:
    """``cx`` for code that reads ``view`` (facts hold for the state before the step only)."""
    if view.base:
        return attrs.evolve(cx, pre=view, post=view)
    return attrs.evolve(cx, pre=view, post=view, facts=FrozenMap())
