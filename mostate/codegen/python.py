"""The Python printer of the residual language: the source the engine compiles.

Each node of :mod:`.residual` has one spelling here, in the order of
:data:`~.residual.TERM_NODES` and :data:`~.residual.STMT_NODES`. Literals go through ``repr``;
every other value is a constant the module names (``_k0``, ...: the module's
:attr:`~.residual.Module.constants`, given names in order); names are the generator's own. The
helpers the source calls (``_rec``, ``_same``, ``_Instance``...) are
:data:`~mostate.codegen.runtime.NAMESPACE`'s. A successor module builds parameter maps through
its interning helpers (``_with_param``, see :func:`~mostate.codegen.runtime.interned_values`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, assert_never

from ..concrete import FRESH
from ..rules import Comparison, Type
from .residual import (
    OPERATION_PARAMS,
    SUCCESSOR_PARAMS,
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
    Loop,
    Module,
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
    Result,
    Same,
    Stmt,
    Store,
    Sum,
    Term,
    TheOf,
    ValidSplit,
    Well,
    WithoutParam,
    WithParam,
    constant_key,
)
from .runtime import reason

_WELL = {
    Well.ABSENT: "_ABSENT",
    Well.NONE_RECORD: "_NONE_RECORD",
    Well.INF: "_INF",
    Well.EMPTY_PARAMS: "_EMPTY_PARAMS",
}
_COMPARE = {
    Comparison.EQ: "==",
    Comparison.NE: "!=",
    Comparison.LT: "<",
    Comparison.LE: "<=",
    Comparison.GT: ">",
    Comparison.GE: ">=",
}
FRESH_SRC = repr(FRESH)


def constant_names(constants: Iterable[Any]) -> dict[str, Any]:
    """The name each constant has in a module: ``_k0``, ``_k1``... in order.

    >>> constant_names(["a", 3])
    {'_k0': 'a', '_k1': 3}
    """
    return {f"_k{index}": value for index, value in enumerate(constants)}


def print_module(module: Module) -> str:
    """The source of ``module``.

    >>> from mostate.codegen.residual import Fallback, Function, Module
    >>> print(print_module(Module("a test", (Function("_step", True, (Fallback(),)),), ())))
    # a test
    <BLANKLINE>
    def _step(svcs, S, N, pre):
        return _FALLBACK
    <BLANKLINE>
    """
    lines = [f"# {module.header}"]
    names = {constant_key(v): n for n, v in constant_names(module.constants).items()}
    for function in module.functions:
        lines.append("")
        lines += _Printer(names, function.successor).function(function)
    return "\n".join(lines) + "\n"


class _Printer:
    """The spelling of one function's nodes (``successor``: the successor form's)."""

    def __init__(self, names: dict[tuple[type, object], str], successor: bool) -> None:
        self.names, self.successor = names, successor

    def function(self, function: Function) -> list[str]:
        params = SUCCESSOR_PARAMS if function.successor else (*OPERATION_PARAMS[:3], "valid=False")
        return [f"def {function.name}({', '.join(params)}):", *self.block(function.body, 1)]

    # -- terms ------------------------------------------------------------------------------

    def term(self, term: Term) -> str:
        match term:
            case Lit():
                return repr(term.value)
            case Const():
                return self.names[constant_key(term.value)]
            case Local():
                return term.name
            case Known():
                return _WELL[term.which]
            case Not():
                return f"(not {self.term(term.operand)})"
            case And():
                return f"({self.term(term.left)} and {self.term(term.right)})"
            case Or():
                return f"({self.term(term.left)} or {self.term(term.right)})"
            case Compare():
                return self._compare(term)
            case Cond():
                return self._cond(term)
            case FieldOf():
                return f"{self.term(term.record)}.{term.field.value}"
            case Has():
                return f"({self.term(term.key)} in {self.term(term.records)})"
            case Lookup():
                return self._lookup(term)
            case At():
                return f"{self.term(term.records)}[{self.term(term.key)}]"
            case RecordOf():
                return self._record_of(term)
            case Same():
                return f"_same({self.term(term.before)}, {self.term(term.after)})"
            case RefTo():
                return f"({self.term(term.service)}, {self.term(term.name)})"
            case Record():
                return self._record(term)
            case Rebuilt():
                return self._rebuilt(term)
            case Copied():
                return f"dict({self.term(term.records)})"
            case AddedTo():
                return self._added(term)
            case NoRecords():
                return "{}"
            case WithParam():
                return self._with(term.params, "set", (term.key, term.value))
            case WithoutParam():
                return self._with(term.params, "remove", (term.key,))
            case Sum():
                return f"({' + '.join(map(self.term, term.terms))})"
            case Reduce():
                return self._reduce(term)
            case Candidates():
                return self._candidates(term)
            case One():
                return self._one(term)
            case TheOf():
                return self._the(term)
            case _:
                assert_never(term)

    def _compare(self, term: Compare) -> str:
        return f"({self.term(term.left)} {_COMPARE[term.op]} {self.term(term.right)})"

    def _record_of(self, term: RecordOf) -> str:
        ref, records, fresh = map(self.term, (term.ref, term.records, term.fresh))
        return f"_rec({ref}, S, svcs, {records}, {fresh})"

    def _added(self, term: AddedTo) -> str:
        records, key, record = map(self.term, (term.records, term.key, term.record))
        return f"_add({records}, {key}, {record})"

    def _candidates(self, term: Candidates) -> str:
        where = "" if term.where is None else f" if {self.term(term.where)}"
        return f"[{self.term(term.item)} {self.loop(term.loop)}{where}]"

    def _one(self, term: One) -> str:
        one = f"[{self.term(term.item)}]"
        return one if term.when is None else f"({one} if {self.term(term.when)} else [])"

    def _the(self, term: TheOf) -> str:
        return f"_the({self.term(term.node)}, {' + '.join(map(self.term, term.lists))})"

    def _cond(self, term: Cond) -> str:
        then, test, orelse = map(self.term, (term.then, term.test, term.orelse))
        return f"({then} if {test} else {orelse})"

    def _lookup(self, term: Lookup) -> str:
        records, key = self.term(term.records), self.term(term.key)
        if term.default is None:
            return f"{records}.get({key})"
        return f"{records}.get({key}, {self.term(term.default)})"

    def _record(self, term: Record) -> str:
        exists, *fields = term.fields
        srcs = ", ".join(map(self.term, fields))
        if isinstance(exists, Lit):
            return f"_Instance({srcs})" if exists.value else f"_Raw(False, {srcs})"
        return f"(_Instance({srcs}) if {self.term(exists)} else _Raw(False, {srcs}))"

    def _rebuilt(self, term: Rebuilt) -> str:
        differs = " or ".join(f"{self.term(a)} != {self.term(b)}" for a, b in term.differs)
        return f"{self.term(term.record)} if {differs} else {self.term(term.old)}"

    def _with(self, params: Term, method: str, args: Sequence[Term]) -> str:
        srcs = ", ".join(map(self.term, args))
        if self.successor:
            helper = "_with_param" if method == "set" else "_without_param"
            return f"{helper}({self.term(params)}, {srcs})"
        return f"{self.term(params)}.{method}({srcs})"

    def _reduce(self, term: Reduce) -> str:
        body, loop = self.term(term.body), self.loop(term.loop)
        match term.kind:
            case Reduction.ALL:
                return f"all({body} {loop})"
            case Reduction.ANY:
                return f"any({body} {loop})"
            case Reduction.COUNT:
                return f"sum(1 {loop} if {body})"
            case _:
                assert_never(term.kind)

    def loop(self, loop: Loop) -> str:
        match loop:
            case OverRecords():
                items = f"{self.term(loop.records)}.items()"
                head = f"for {loop.name.name}, {loop.rec.name} in {_ordered(items, loop.ordered)}"
                if loop.unless is None:
                    return head
                return f"{head} if {loop.name.name} != {self.term(loop.unless)}"
            case OverOthers():
                s, v, n, r = (x.name for x in (loop.service, loop.holder, loop.name, loop.rec))
                items = _ordered(f"{v}.instances._data.items()", loop.ordered)
                return f"for {s}, {v} in svcs.items() if {s} != S for {n}, {r} in {items}"
            case OverOtherServices():
                s = loop.service.name
                return f"for {s} in svcs if {s} != S"
            case _:
                assert_never(loop)

    # -- statements -------------------------------------------------------------------------

    def block(self, body: Sequence[Stmt], depth: int) -> list[str]:
        """The lines of ``body`` at ``depth`` (``pass`` for an empty block)."""
        lines = [line for stmt in body for line in self.statement(stmt)]
        return _indent(lines or ["pass"], depth)

    def statement(self, stmt: Stmt) -> list[str]:
        match stmt:
            case Let():
                return [f"{stmt.name.name} = {self.term(stmt.value)}"]
            case Store():
                records, key = self.term(stmt.records), self.term(stmt.key)
                return [f"{records}[{key}] = {self.term(stmt.value)}"]
            case If():
                lines = [f"if {self.term(stmt.test)}:", *self.block(stmt.body, 1)]
                if stmt.orelse is not None:
                    lines += ["else:", *self.block(stmt.orelse, 1)]
                return lines
            case ForEach():
                return [f"{self.loop(stmt.loop)}:", *self.block(stmt.body, 1)]
            case Guard():
                fail = "_FALLBACK" if self.successor else "_ambiguous(state, err)"
                return [
                    "try:",
                    *self.block(stmt.body, 1),
                    "except _Ambiguous as err:",
                    f"    return {fail}",
                ]
            case Check():
                return self._check(stmt)
            case ValidSplit():
                if not stmt.quick:
                    return ["if not valid:", *self.block(stmt.full, 1)]
                return ["if valid:", *self.block(stmt.quick, 1), "else:", *self.block(stmt.full, 1)]
            case Exit():
                return self._successor_exit(stmt) if self.successor else self._exit(stmt)
            case Fallback():
                return ["return _FALLBACK"]
            case Prologue():
                return self._prologue(stmt)
            case _:
                assert_never(stmt)

    def _check(self, stmt: Check) -> list[str]:
        broken = f"broken.append({self.term(stmt.clause)})"
        if stmt.holds is None:
            return [broken]
        holds = self.term(stmt.holds)
        if stmt.guarded:
            return [
                "try:",
                f"    ok = {holds}",
                "except _Ambiguous:",
                "    ok = False",
                "if not ok:",
                f"    {broken}",
            ]
        return [f"if not {holds}:", f"    {broken}"]

    def _checked(self, checks: Sequence[Stmt], answer: str) -> list[str]:
        """The checks of an exit and the answer that names what they found broken."""
        if not checks:
            return []
        lines = ["broken = []", *[line for c in checks for line in self.statement(c)]]
        return [*lines, "if broken:", f"    return {answer}, tuple(dict.fromkeys(broken))"]

    def _exit(self, stmt: Exit) -> list[str]:
        const = self.term
        lines: list[str] = []
        if stmt.records is None:
            lines.append("after = state")
        else:
            if stmt.fresh is not None:
                lines += [
                    f"if {stmt.fresh.name}.exists:",
                    f"    return _unbounded(state, {const(Const(stmt.clause))}, S)",
                ]
            if stmt.point:
                lines.append(f"after = _rewrite_point(state, S, {stmt.records.name}, N)")
            else:
                lines.append(f"after = _rewrite(state, S, {stmt.records.name})")
        status, clause = const(Const(stmt.status)), const(Const(stmt.clause))
        why = repr(reason(stmt.status, stmt.clause))
        rendered = self._render(stmt.result, stmt.records is None)
        lines.append(f"out = _Outcome({status}, after, {clause}, {rendered}, {why})")
        checked = self._checked(stmt.checks, "out")
        if checked:
            lines += ["if check:", *_indent(checked, 1)]
        return [*lines, "return out, ()"]

    def _render(self, result: Result | None, base: bool) -> str:
        if result is None:
            return "None"
        if result.type is Type.INSTANCE:
            if result.name is not None and base:
                return f"pre.get({self.term(result.name)})"
            return f"_instance_of(after, {self.term(result.ref)})"
        if result.name is not None:
            return self.term(result.name)
        return f"_name_of({self.term(result.ref)})"

    def _successor_exit(self, stmt: Exit) -> list[str]:
        lines: list[str] = []
        records = "None"
        if stmt.records is not None:
            if stmt.fresh is not None:
                lines += [f"if {stmt.fresh.name}.exists:", "    return _FALLBACK"]
            records = stmt.records.name
            if stmt.point:
                held = stmt.held.name if stmt.held is not None else f"{records}[N]"
                records = f"(N, {held})"
        return [*lines, *self._checked(stmt.checks, records), f"return {records}, ()"]

    def _prologue(self, stmt: Prologue) -> list[str]:
        def bad(why: str) -> str:
            return f"return _bad(state, {why})"

        lines = ["S = request.service", "if S is None:", "    " + bad(_missing(stmt.op, "service"))]
        if stmt.target:
            lines += ["N = request.instance", "if N is None:"]
            lines.append("    " + bad(_missing(stmt.op, "instance")))
        if stmt.args:
            lines.append("args = request.args._data")
        for arg in stmt.args:
            local, what = arg.local.name, f"{stmt.op}: {arg.name!r}"
            lines += [f"{local} = args.get({arg.name!r})", f"if {local} is None:"]
            missing = (
                f"{local} = _EMPTY_PARAMS" if arg.optional else bad(repr(f"{what} is missing"))
            )
            lines += [f"    {missing}", f"elif not isinstance({local}, {self.term(arg.kind)}):"]
            lines.append("    " + bad(repr(f"{what} must be {arg.type}")))
            if arg.is_name:
                lines.append(f"elif (why := _name_error({local}, {what!r})) is not None:")
                lines.append("    " + bad("why"))
        lines += [
            "svcs = state.services._data",
            "sv = svcs.get(S)",
            "pre = sv.instances._data if sv is not None else _EMPTY",
        ]
        if stmt.decline is not None:
            lines.append(f"dec = request.confirm is {self.term(stmt.decline)}")
        return lines


def _missing(op: str, what: str) -> str:
    """``Engine._prepare``'s words for a request without its service or instance, as source."""
    return repr(f"{op}: {what!r} is missing")


def _ordered(items: str, ordered: bool) -> str:
    return f"sorted({items})" if ordered else items


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line for line in lines]
