"""The C printer of the residual language: one operation form function as C99 statements.

Each node of :mod:`.residual` has one spelling here, in the order of
:data:`~.residual.TERM_NODES`, :data:`~.residual.LOOP_NODES` and
:data:`~.residual.STMT_NODES`, as in the Python printer (:mod:`.python`), whose meaning it
keeps: what the engine compiles from the same function. C has no exceptions, no garbage
collector and no expressions that loop, so a term that loops, reduces, calls back into the
host or may find a ``the`` ambiguous is lowered into statements before the expression that
uses its value (into a temporary), and ``and``, ``or`` and ``if`` keep their short-circuit:
the right-hand side's statements run only where Python would evaluate it. An ambiguous
``the`` jumps to the handler in force (:class:`~.residual.Guard`: the step breaks the
obligation; a guarded :class:`~.residual.Check`: the property does not hold).

Types are inferred from the nodes (a record, a count, a name, a reference...): the residual
language says what is computed, and a value's C type follows from where it came from. A
construct with no C meaning here (a parameter map other than ``{}`` as a constant, a string
with NUL in it) raises :class:`~.values.Unsupported` naming it. The module around the
functions (types, helpers, the clause table) is :mod:`.cmodule`'s.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, assert_never

from ..concrete import FRESH
from ..frozenmap import FrozenMap
from ..model import Clause, Confirm, Status
from ..rules import Comparison, Field, The, Type
from .residual import (
    AddedTo,
    And,
    ArgCheck,
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
)
from .runtime import reason
from .values import Unsupported


class CType(enum.Enum):
    """What a term computes, as the C code holds it."""

    BOOL = "int"
    COUNT = "long long"
    NAME = "const char *"
    REF = "ref"
    RECORD = "record"
    RECORDS = "records"
    PARAMS = "params"
    NONE = "none"
    """``None`` as a literal: a reference to nothing (or a name that is not there)."""


_KEYWORDS = """auto break case char const continue default do double else enum extern float for
goto if inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Imaginary"""
C_KEYWORDS = frozenset(_KEYWORDS.split())
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def c_ident(name: str, what: str) -> str:
    """``name`` as a C identifier (a keyword gets a trailing ``_``); Unsupported when it is not
    one.

    >>> c_ident("default", "field"), c_ident("set_active", "operation")
    ('default_', 'set_active')
    """
    if not _IDENT.fullmatch(name) or "__" in name:
        raise Unsupported(f"{what} {name!r} is not a C identifier")
    return f"{name}_" if name in C_KEYWORDS else name


def c_string(text: str) -> str:
    """A C string literal for ``text`` (UTF-8): printable ASCII as itself, every other byte in
    octal, ``?`` escaped (no trigraph can form). Text with NUL in it has no C form.

    >>> c_string('a"b?\\\\é')
    '"a\\\\"b\\\\?\\\\\\\\\\\\303\\\\251"'
    """
    if "\x00" in text:
        raise Unsupported(f"the string {text!r} holds NUL, which a C string cannot")
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


FIELD_C = {field: c_ident(field.value, "field") for field in Field}
"""The member of ``record`` that holds each field of the schema."""
ARG_C = {bool: CType.BOOL, str: CType.NAME, FrozenMap: CType.PARAMS}
"""The C type of an argument, by the Python type its :class:`~.residual.ArgCheck` names."""
_COMPARE = {
    Comparison.EQ: "==",
    Comparison.NE: "!=",
    Comparison.LT: "<",
    Comparison.LE: "<=",
    Comparison.GT: ">",
    Comparison.GE: ">=",
}
_DECL = {
    CType.BOOL: "int {} = 0",
    CType.COUNT: "long long {} = 0",
    CType.NAME: "const char *{} = NULL",
    CType.REF: "{p}_ref {} = {{NULL, NULL}}",
    CType.RECORD: "{p}_record {} = {zero}",
    CType.PARAMS: "{p}_params {} = NULL",
}


class Names:
    """What a function's code refers to outside itself: the module's prefix, and the index
    in the clause table of each clause (``clause``), of each ``the`` node's obligation
    (``ambiguous``) and of the obligation an exit's unbounded effect breaks (``unbounded``),
    handed out by :mod:`.cmodule`, and the initialiser of a record (``zero``)."""

    def __init__(
        self,
        prefix: str,
        clause: Callable[[Clause], int],
        ambiguous: Callable[[The], int],
        unbounded: Callable[[Clause], int],
        zero: str,
    ) -> None:
        self.prefix, self.zero = prefix, zero
        self.clause, self.ambiguous, self.unbounded = clause, ambiguous, unbounded


class FunctionPrinter:
    """The C body of one operation form function (:attr:`.residual.Function.successor` false):
    its locals' declarations first, then its statements. ``args`` names the C type of each
    declared argument (by its local), read from the request's argument struct."""

    def __init__(self, names: Names) -> None:
        self.names, self.p = names, names.prefix
        self.decls: dict[str, str] = {}
        # The parameters every function has (declared by its preamble).
        self.types: dict[str, CType] = {"pre": CType.RECORDS, "S": CType.NAME, "N": CType.NAME}
        self.lines: list[str] = []
        self.handlers: list[str] = []
        self.used: set[str] = set()
        self._count = 0

    def body(self, function: Function) -> list[str]:
        """The lines of the function's body, at one indent."""
        if function.successor:
            raise Unsupported("the successor form (the explorer's) has no C spelling")
        self.handlers = ["broken"]
        for stmt in function.body:
            self.statement(stmt)
        if "broken" in self.used:
            self.emit("broken:")
            self.emit(f"return {self.p}__fail(out, pre, pre_n, bc);")
        # Every local is initialised and marked used: a loop's name it never reads, a record
        # a branch leaves unread, are no warning under -Wall -Wextra.
        decls = [f"{d};" for d in self.decls.values()]
        used = _packed([f"(void){name};" for name in ("bc", *self.decls)])
        return _indent(["int bc = 0;", *decls, *used, *self.lines], 1)

    # -- the plumbing ---------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def temp(self, ctype: CType, stem: str = "t") -> str:
        name = self.fresh(stem)
        self.declare(name, ctype)
        return name

    def declare(self, name: str, ctype: CType) -> None:
        """Declare a local (once; a name given two types is a generator bug)."""
        known = self.types.get(name)
        if known is not None:
            if known is not ctype:
                raise Unsupported(f"local {name} is a {known.value} and a {ctype.value}")
            return
        self.types[name] = ctype
        if ctype is CType.RECORDS:
            self.decls[name] = f"{self.p}_slot {name}[{self.p.upper()}_MAX_INSTANCES + 1]"
            self.decls[name + "_n"] = f"size_t {name}_n = 0"
        elif ctype is CType.NONE:
            raise Unsupported(f"local {name} holds only None")
        else:
            self.decls[name] = _DECL[ctype].format(name, p=self.p, zero=self.names.zero)

    @contextmanager
    def block(self) -> Iterator[list[str]]:
        """Collect the lines emitted inside ``with``: the caller places them."""
        saved, self.lines = self.lines, []
        inner = self.lines
        try:
            yield inner
        finally:
            self.lines = saved

    def capture(self, term: Term) -> tuple[list[str], str, CType]:
        """The statements ``term`` needs, and its value, without emitting them."""
        with self.block() as inner:
            value, ctype = self.term(term)
        return inner, value, ctype

    def label(self, stem: str) -> str:
        return self.fresh(stem)

    # -- terms ------------------------------------------------------------------------------

    def term(self, term: Term) -> tuple[str, CType]:
        """A C expression for ``term`` (statements it needs emitted first) and its type."""
        match term:
            case Lit():
                return self._lit(term.value)
            case Const():
                return self._const(term.value)
            case Local():
                return self._local(term.name)
            case Known():
                return self._known(term.which)
            case Not():
                return f"(!{self.boolean(term.operand)})", CType.BOOL
            case And():
                return self._junction(term.left, term.right, "&&")
            case Or():
                return self._junction(term.left, term.right, "||")
            case Compare():
                return self._compare(term.op, term.left, term.right), CType.BOOL
            case Cond():
                return self._cond(term)
            case FieldOf():
                return self._field_of(term)
            case Has():
                slots, n = self.records(term.records)
                return f"({self.p}__find({slots}, {n}, {self.name(term.key)}) < {n})", CType.BOOL
            case Lookup():
                return self._lookup(term)
            case At():
                slots, n = self.records(term.records)
                return f"{self.p}__get(host, {slots}, {n}, {self.name(term.key)})", CType.RECORD
            case RecordOf():
                return self._record_of(term)
            case Same():
                return self._same(term)
            case RefTo():
                service, name = self.name(term.service), self.name(term.name)
                return f"{self.p}__ref({service}, {name})", CType.REF
            case Record():
                return self._record(term)
            case Rebuilt():
                return self._rebuilt(term)
            case Copied() | AddedTo() | NoRecords():
                raise Unsupported(f"records built outside a let: {term!r}")
            case WithParam():
                return self._host_call("with", term.params, (term.key, term.value))
            case WithoutParam():
                return self._host_call("without", term.params, (term.key,))
            case Sum():
                return self._sum(term.terms)
            case Reduce():
                return self._reduce(term)
            case Candidates() | One():
                raise Unsupported(f"candidates outside a the(): {term!r}")
            case TheOf():
                return self._the(term), CType.REF
            case _:
                assert_never(term)

    def _field_of(self, term: FieldOf) -> tuple[str, CType]:
        record = self.typed(term.record, CType.RECORD)
        ctype = CType.PARAMS if term.field is Field.PARAMS else CType.BOOL
        return f"{record}.{FIELD_C[term.field]}", ctype

    def _same(self, term: Same) -> tuple[str, CType]:
        before = self.typed(term.before, CType.RECORD)
        after = self.typed(term.after, CType.RECORD)
        return f"{self.p}__same(host, {before}, {after})", CType.BOOL

    def _record(self, term: Record) -> tuple[str, CType]:
        pairs = zip(Field, term.fields, strict=True)
        fields = ", ".join(self._field(f, t) for f, t in pairs)
        return f"{self.p}__record({fields})", CType.RECORD

    def typed(self, term: Term, ctype: CType) -> str:
        value, got = self.term(term)
        if got is not ctype:
            raise Unsupported(f"expected a {ctype.value}, found a {got.value}: {term!r}")
        return value

    def boolean(self, term: Term) -> str:
        return self.typed(term, CType.BOOL)

    def name(self, term: Term) -> str:
        value, got = self.term(term)
        if got is CType.NONE:
            return "NULL"
        if got is not CType.NAME:
            raise Unsupported(f"expected a name, found a {got.value}: {term!r}")
        return value

    def records(self, term: Term) -> tuple[str, str]:
        """The slots and count of a records term (a local: records are built by lets)."""
        if not isinstance(term, Local):
            raise Unsupported(f"records that are not a local: {term!r}")
        name = _local(term.name)
        if self.types.get(name) is not CType.RECORDS:
            raise Unsupported(f"{term.name} is not records")
        return name, f"{name}_n"

    def _lit(self, value: Any) -> tuple[str, CType]:
        if value is None:
            return "NULL", CType.NONE
        if isinstance(value, bool):
            return ("1" if value else "0"), CType.BOOL
        if isinstance(value, int):
            if not -(2**62) < value < 2**62:
                raise Unsupported(f"the integer {value} is beyond C's long long counts")
            return f"{value}LL", CType.COUNT
        if isinstance(value, str):
            if value == FRESH:
                return f"{self.p}__fresh", CType.NAME
            return c_string(value), CType.NAME
        raise Unsupported(f"the literal {value!r} has no C form")

    def _const(self, value: Any) -> tuple[str, CType]:
        if isinstance(value, float) and math.isinf(value) and value > 0:
            return f"{self.p.upper()}__INF", CType.COUNT
        if isinstance(value, FrozenMap):
            if value:
                raise Unsupported(f"the parameter map {dict(value)!r} as a constant")
            return "host->empty", CType.PARAMS
        raise Unsupported(f"the constant {value!r} has no C form")

    def _local(self, name: str) -> tuple[str, CType]:
        local = _local(name)
        ctype = self.types.get(local)
        if ctype is None:
            raise Unsupported(f"local {name} read before it is set")
        if ctype is CType.RECORDS:
            raise Unsupported(f"records {name} read as a value")
        return local, ctype

    def _known(self, which: Well) -> tuple[str, CType]:
        match which:
            case Well.ABSENT:
                return f"{self.p}__absent(host)", CType.RECORD
            case Well.NONE_RECORD:
                return f"{self.p}__none_record()", CType.RECORD
            case Well.INF:
                return f"{self.p.upper()}__INF", CType.COUNT
            case Well.EMPTY_PARAMS:
                return "host->empty", CType.PARAMS
            case _:
                assert_never(which)

    def _junction(self, left: Term, right: Term, op: str) -> tuple[str, CType]:
        first = self.boolean(left)
        lines, second, ctype = self.capture(right)
        if ctype is not CType.BOOL:
            raise Unsupported(f"{op} of a {ctype.value}")
        if not lines:
            return f"({first} {op} {second})", CType.BOOL
        t = self.temp(CType.BOOL)
        self.emit(f"{t} = {first};")
        self.emit(f"if ({'' if op == '&&' else '!'}{t}) {{")
        self.lines += _indent([*lines, f"{t} = {second};"], 1)
        self.emit("}")
        return t, CType.BOOL

    def _cond(self, term: Cond) -> tuple[str, CType]:
        test = self.boolean(term.test)
        then_lines, then, then_type = self.capture(term.then)
        else_lines, orelse, else_type = self.capture(term.orelse)
        ctype = _unify(then_type, else_type)
        then, orelse = self._as(then, then_type, ctype), self._as(orelse, else_type, ctype)
        if not then_lines and not else_lines:
            return f"({test} ? {then} : {orelse})", ctype
        t = self.temp(ctype)
        self.emit(f"if ({test}) {{")
        self.lines += _indent([*then_lines, f"{t} = {then};"], 1)
        self.emit("} else {")
        self.lines += _indent([*else_lines, f"{t} = {orelse};"], 1)
        self.emit("}")
        return t, ctype

    def _as(self, value: str, got: CType, want: CType) -> str:
        """``value`` (of type ``got``) as a ``want``: ``None`` as a reference to nothing."""
        if got is want:
            return value
        if got is CType.NONE and want is CType.REF:
            return f"{self.p}__ref(NULL, NULL)"
        if got is CType.NONE and want is CType.NAME:
            return "NULL"
        raise Unsupported(f"a {got.value} where a {want.value} is expected")

    def _compare(self, op: Comparison, left: Term, right: Term) -> str:
        a, a_type = self.term(left)
        b, b_type = self.term(right)
        ctype = _unify(a_type, b_type)
        a, b = self._as(a, a_type, ctype), self._as(b, b_type, ctype)
        sign = _COMPARE[op]
        match ctype:
            case CType.BOOL | CType.COUNT:
                return f"({a} {sign} {b})"
            case CType.NAME:
                return f"({self.p}__cmp({a}, {b}) {sign} 0)"
            case CType.REF | CType.PARAMS | CType.NONE if op in (Comparison.EQ, Comparison.NE):
                if ctype is CType.NONE:
                    return "1" if op is Comparison.EQ else "0"
                helper = "ref_eq" if ctype is CType.REF else "params_eq"
                call = f"{self.p}__{helper}(host, {a}, {b})"
                return call if op is Comparison.EQ else f"(!{call})"
            case _:
                raise Unsupported(f"{sign} between values of type {ctype.value}")

    def _field(self, field: Field, term: Term) -> str:
        want = CType.PARAMS if field is Field.PARAMS else CType.BOOL
        return self.typed(term, want)

    def _lookup(self, term: Lookup) -> tuple[str, CType]:
        if term.default is None:
            raise Unsupported("a look-up with no default outside a query's result")
        slots, n = self.records(term.records)
        key = self.name(term.key)
        default = self.typed(term.default, CType.RECORD)
        return f"{self.p}__lookup({slots}, {n}, {key}, {default})", CType.RECORD

    def _record_of(self, term: RecordOf) -> tuple[str, CType]:
        ref = self.typed(term.ref, CType.REF)
        slots, n = self.records(term.records)
        fresh = self.typed(term.fresh, CType.RECORD)
        call = f"{self.p}__rec_of(host, st, S, {ref}, {slots}, {n}, {fresh})"
        return call, CType.RECORD

    def _rebuilt(self, term: Rebuilt) -> tuple[str, CType]:
        record = self.typed(term.record, CType.RECORD)
        old = self.typed(term.old, CType.RECORD)
        differs = " || ".join(self._compare(Comparison.NE, a, b) for a, b in term.differs)
        return f"(({differs}) ? {record} : {old})", CType.RECORD

    def _host_call(self, what: str, params: Term, args: Sequence[Term]) -> tuple[str, CType]:
        """A parameter map changed through the host (it may fail: the step is abandoned)."""
        values = [self.typed(params, CType.PARAMS), *(self.name(a) for a in args)]
        t = self.temp(CType.PARAMS)
        call = f"{self.p}__{what}(host, {', '.join(values)}, &{t})"
        self.emit(f"if ({call}) return {self.p.upper()}_E_HOST;")
        return t, CType.PARAMS

    def _sum(self, terms: Sequence[Term]) -> tuple[str, CType]:
        total = self.typed(terms[0], CType.COUNT)
        for term in terms[1:]:
            total = f"{self.p}__add({total}, {self.typed(term, CType.COUNT)})"
        return total, CType.COUNT

    def _reduce(self, term: Reduce) -> tuple[str, CType]:
        kind = term.kind
        ctype = CType.COUNT if kind is Reduction.COUNT else CType.BOOL
        t = self.temp(ctype)
        start = {Reduction.ALL: "1", Reduction.ANY: "0", Reduction.COUNT: "0"}[kind]
        self.emit(f"{t} = {start};")
        done = self.label("done")
        with self.loop(term.loop):
            body = self.boolean(term.body)
            match kind:
                case Reduction.ALL:
                    self.emit(f"if (!{body}) {{ {t} = 0; goto {done}; }}")
                case Reduction.ANY:
                    self.emit(f"if ({body}) {{ {t} = 1; goto {done}; }}")
                case Reduction.COUNT:
                    self.emit(f"if ({body}) {t}++;")
                case _:
                    assert_never(kind)
        if kind is not Reduction.COUNT:
            self.emit(f"{done}:;")
        return t, ctype

    def _the(self, term: TheOf) -> str:
        """Every candidate list in full (as Python builds the list before ``_the`` looks at
        it), then: none, one, or several (the ``the`` is ambiguous: jump to the handler)."""
        found, count = self.temp(CType.REF), self.temp(CType.COUNT, "k")
        self.emit(f"{found} = {self.p}__ref(NULL, NULL);")
        self.emit(f"{count} = 0;")
        for part in term.lists:
            take = f"if ({count}++ == 0) {found} = "
            match part:
                case Candidates():
                    with self.loop(part.loop):
                        where = None if part.where is None else self.boolean(part.where)
                        item = self.typed(part.item, CType.REF)
                        self._when(where, take + item + ";")
                case One():
                    where = None if part.when is None else self.boolean(part.when)
                    item = self.typed(part.item, CType.REF)
                    self._when(where, take + item + ";")
                case _:
                    assert_never(part)
        node = term.node.value
        if not isinstance(node, The):
            raise Unsupported(f"a the() whose node is {node!r}")
        index = self.names.ambiguous(node)
        self.used.add(self.handlers[-1])
        self.emit(f"if ({count} > 1) {{ bc = {index}; goto {self.handlers[-1]}; }}")
        return found

    def _when(self, test: str | None, line: str) -> None:
        self.emit(line if test is None else f"if ({test}) {{ {line} }}")

    # -- loops ------------------------------------------------------------------------------

    @contextmanager
    def loop(self, loop: Loop) -> Iterator[None]:
        """The head of ``loop`` emitted, the body emitted inside ``with``, the loop closed."""
        heads = self.heads(loop)
        for head in heads:
            self.emit(head)
        with self.block() as body:
            yield
        self.lines += _indent(body, len(heads))
        for depth in reversed(range(len(heads))):
            self.emit("    " * depth + "}")

    def heads(self, loop: Loop) -> list[str]:
        """The opening lines of ``loop`` (each opens one brace, nested)."""
        match loop:
            case OverRecords():
                slots, n = self.records(loop.records)
                unless = None if loop.unless is None else self.name(loop.unless)
                return [self._walk(slots, n, loop.name, loop.rec, loop.ordered, unless)]
            case OverOthers():
                service, holder = _local(loop.service.name), _local(loop.holder.name)
                self.declare(service, CType.NAME)
                self.decls[holder] = f"const {self.p}_service *{holder} = NULL"
                outer = self._services(service, holder)
                slots, n = f"{holder}->slots", f"{holder}->n"
                return [outer, self._walk(slots, n, loop.name, loop.rec, loop.ordered, None)]
            case OverOtherServices():
                service = _local(loop.service.name)
                self.declare(service, CType.NAME)
                return [self._services(service, None)]
            case _:
                assert_never(loop)

    def _services(self, service: str, holder: str | None) -> str:
        """Each service of the state but the request's, with instances (a state holds no
        empty service: its normal form drops them)."""
        i = self.fresh("s")
        self.decls[i] = f"size_t {i} = 0"
        hold = f" {holder} = &st->services[{i}];" if holder is not None else ""
        return (
            f"for ({i} = 0; {i} < st->n; {i}++) {{ if (st->services[{i}].n == 0 || "
            f"{self.p}__cmp(st->services[{i}].name, S) == 0) continue; "
            f"{service} = st->services[{i}].name;{hold}"
        )

    def _walk(
        self, slots: str, n: str, name: Local, rec: Local, ordered: bool, unless: str | None
    ) -> str:
        """Each record of ``slots`` into ``name`` and ``rec`` (in name order when
        ``ordered``), but the name ``unless``."""
        v_name, v_rec = _local(name.name), _local(rec.name)
        self.declare(v_name, CType.NAME)
        self.declare(v_rec, CType.RECORD)
        i = self.fresh("i")
        self.decls[i] = f"size_t {i} = 0"
        skip = "" if unless is None else f" if ({self.p}__cmp({v_name}, {unless}) == 0) continue;"
        take = f"{v_name} = {slots}[{i}].name; {v_rec} = {slots}[{i}].rec;{skip}"
        if not ordered:
            return f"for ({i} = 0; {i} < {n}; {i}++) {{ {take}"
        prev = self.fresh("pv")
        self.decls[prev] = f"const char *{prev} = NULL"
        return (
            f"for ({prev} = NULL; ({i} = {self.p}__next({slots}, {n}, {prev})) < {n}; "
            f"{prev} = {slots}[{i}].name) {{ {take}"
        )

    # -- statements -------------------------------------------------------------------------

    def statements(self, body: Sequence[Stmt]) -> list[str]:
        with self.block() as lines:
            for stmt in body:
                self.statement(stmt)
        return lines

    def statement(self, stmt: Stmt) -> None:
        match stmt:
            case Let():
                self._let(stmt.name, stmt.value)
            case Store():
                slots, n = self.records(stmt.records)
                key, value = self.name(stmt.key), self.typed(stmt.value, CType.RECORD)
                full = f"{self.p.upper()}_E_CAPACITY"
                self.emit(f"if ({self.p}__store({slots}, &{n}, {key}, {value})) return {full};")
            case If():
                test = self.boolean(stmt.test)
                self.emit(f"if ({test}) {{")
                self.lines += _indent(self.statements(stmt.body), 1)
                if stmt.orelse is not None:
                    self.emit("} else {")
                    self.lines += _indent(self.statements(stmt.orelse), 1)
                self.emit("}")
            case ForEach():
                with self.loop(stmt.loop):
                    for inner in stmt.body:
                        self.statement(inner)
            case Guard():
                # An ambiguous the() inside: the step breaks the obligation (``broken``).
                for inner in stmt.body:
                    self.statement(inner)
            case Check():
                self._check(stmt)
            case ValidSplit():
                self.emit(f"if (flags & {self.p.upper()}_VALID) {{")
                self.lines += _indent(self.statements(stmt.quick), 1)
                self.emit("} else {")
                self.lines += _indent(self.statements(stmt.full), 1)
                self.emit("}")
            case Exit():
                self._exit(stmt)
            case Fallback():
                raise Unsupported("a fallback (the successor form's) has no C spelling")
            case Prologue():
                self._prologue(stmt)
            case _:
                assert_never(stmt)

    def _let(self, name: Local, value: Term) -> None:
        local = _local(name.name)
        match value:
            case NoRecords():
                self.declare(local, CType.RECORDS)
                self.emit(f"{local}_n = 0;")
                return
            case Copied(records=source) | AddedTo(records=source):
                slots, n = self.records(source)
                self.declare(local, CType.RECORDS)
                self.emit(f"{local}_n = {self.p}__copy({local}, {slots}, {n});")
                if isinstance(value, AddedTo):
                    key, record = self.name(value.key), self.typed(value.record, CType.RECORD)
                    full = f"return {self.p.upper()}_E_CAPACITY;"
                    self.emit(f"if ({self.p}__store({local}, &{local}_n, {key}, {record})) {full}")
                return
            case _:
                pass
        expr, ctype = self.term(value)
        if ctype is CType.NONE:
            ctype, expr = CType.REF, self._as(expr, CType.NONE, CType.REF)
        self.declare(local, ctype)
        self.emit(f"{local} = {expr};")

    def _check(self, stmt: Check) -> None:
        index = self.names.clause(stmt.clause.value)
        broken = f"bc = {index}; goto broken;"
        self.used.add("broken")
        if stmt.holds is None:
            self.emit(f"{{ {broken} }}")
            return
        if not stmt.guarded:
            self.emit(f"if (!{self.boolean(stmt.holds)}) {{ {broken} }}")
            return
        handler = self.label("amb")
        self.handlers.append(handler)
        holds = self.boolean(stmt.holds)
        self.handlers.pop()
        label = f"{handler}: " if handler in self.used else ""
        self.emit(f"if (!{holds}) {{ {label}{broken} }}")

    def _exit(self, stmt: Exit) -> None:
        """One end of the step: the records it leaves (checked for an unbounded effect), the
        query's result, the checks when asked for, then the outcome."""
        p, P = self.p, self.p.upper()
        if stmt.records is not None and stmt.fresh is not None:
            fresh = self.typed(stmt.fresh, CType.RECORD)
            index = self.names.unbounded(stmt.clause)
            self.used.add("broken")
            self.emit(f"if ({fresh}.exists) {{ bc = {index}; goto broken; }}")
        slots, n = ("pre", "pre_n") if stmt.records is None else self.records(stmt.records)
        if stmt.result is not None:
            self._result(stmt.result, slots, n, stmt.records is None)
        if stmt.checks:
            self.emit(f"if (flags & {P}_CHECK) {{")
            self.lines += _indent(self.statements(stmt.checks), 1)
            self.emit("}")
        index = self.names.clause(stmt.clause)
        why = reason(stmt.status, stmt.clause)
        said = "NULL" if why is None else c_string(why)
        self.emit(f"return {p}__decide(out, {int(stmt.status)}, {index}, {said}, {slots}, {n});")

    def _result(self, result: Result, slots: str, n: str, base: bool) -> None:
        if result.type is Type.INSTANCE and result.name is not None and base:
            name = self.name(result.name)
            self.emit(f"{self.p}__result_named(host, out, S, {name}, pre, pre_n);")
            return
        if result.type is Type.INSTANCE:
            ref = self.typed(result.ref, CType.REF)
            self.emit(f"{self.p}__result_instance(host, out, st, S, {ref}, {slots}, {n});")
            return
        if result.name is not None:
            self.emit(f"{self.p}__result_name(out, S, {self.name(result.name)});")
            return
        ref = self.typed(result.ref, CType.REF)
        self.emit(f"{self.p}__result_ref(out, {ref});")

    def _prologue(self, stmt: Prologue) -> None:
        """``Engine._prepare``: the request's service and target (names, as ``Request``
        checks them), its arguments, the state's records of its service."""
        p, op = self.p, stmt.op
        self.emit(f"pre = {p}__service(st, req->service, &pre_n);")
        self.emit(f"if (pre_n > {p.upper()}_MAX_INSTANCES) return {p.upper()}_E_CAPACITY;")
        self._bad_unless("req->service != NULL", f"{op}: 'service' is missing")
        self._bad_unless(f"{p}__is_name(req->service)", "service name must be a name")
        self.emit("S = req->service;")
        if stmt.target:
            self._bad_unless("req->instance != NULL", f"{op}: 'instance' is missing")
            self._bad_unless(f"{p}__is_name(req->instance)", "instance name must be a name")
            self.emit("N = req->instance;")
        for arg in stmt.args:
            self._arg(op, arg)
        if stmt.decline is not None:
            if stmt.decline.value is not Confirm.DECLINE:
                raise Unsupported(f"a prologue that compares with {stmt.decline.value!r}")
            self.declare("v_dec", CType.BOOL)
            self.emit("v_dec = req->declines != 0;")

    def _arg(self, op: str, arg: ArgCheck) -> None:
        ctype = ARG_C.get(arg.kind.value)
        if ctype is None:
            raise Unsupported(f"argument {arg.name!r} of type {arg.type}")
        local, member = _local(arg.local.name), c_ident(arg.name, "argument")
        self.declare(local, ctype)
        what = f"{op}: {arg.name!r}"
        if ctype is CType.BOOL:
            self.emit(f"{local} = args->{member} != 0;")
        elif ctype is CType.NAME:
            self._bad_unless(f"args->{member} != NULL", f"{what} is missing")
            self.emit(f"{local} = args->{member};")
            if arg.is_name:
                self._bad_unless(f"{self.p}__is_name({local})", f"{what} must be a name")
        elif arg.optional:  # a parameter map left out is the empty one
            self.emit(f"{local} = args->{member} != NULL ? args->{member} : host->empty;")
        else:
            self._bad_unless(f"args->{member} != NULL", f"{what} is missing")
            self.emit(f"{local} = args->{member};")

    def _bad_unless(self, test: str, why: str) -> None:
        self.emit(f"if (!({test})) return {self.p}__bad(out, pre, pre_n, {c_string(why)});")


def _unify(a: CType, b: CType) -> CType:
    """The type two values share (``None`` takes the other's)."""
    if a is b:
        return a
    if a is CType.NONE:
        return b
    if b is CType.NONE:
        return a
    raise Unsupported(f"a {a.value} and a {b.value} in one place")


def _local(name: str) -> str:
    """The C name of a generator's local: its own name after ``v_`` (no clash with a helper,
    a parameter or a keyword)."""
    if name in ("S", "N", "pre"):
        return name
    if not re.fullmatch(r"[A-Za-z0-9]+", name):
        raise Unsupported(f"local {name!r}")
    return f"v_{name}"


def _packed(parts: Sequence[str], width: int = 96) -> list[str]:
    """``parts`` joined by spaces into lines of at most ``width`` characters."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += " " + part
        else:
            lines.append(part)
    return lines


def _indent(lines: Sequence[str], depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line for line in lines]


def status_name(status: Status) -> str:
    """``NOT_FOUND`` for 404: the enum's own name, for the header's constants."""
    return status.name
