"""A spec's rules as a dependency-free C99 header and source (``mostate compile --emit c``).

For every operation and actor, a function ``PREFIX_OP_ACTOR`` is the operation form of the
generated code (:func:`~mostate.codegen.build.specialise`) printed by :mod:`.c`: it decides a
request as ``Engine.apply`` does (the status, the deciding clause with its spec location, and
the records of the request's service after the step) on a state the caller lays out in
:c:type:`PREFIX_service` slots. Nothing is allocated: the records live in the caller's slots
and in arrays on the stack of ``PREFIX_MAX_INSTANCES + 1`` records (a service with more is
refused with ``PREFIX_E_CAPACITY``); a parameter map is a handle the host's callbacks
(:c:type:`PREFIX_host`) compare, extend and shrink; nothing is global but constant tables.

Everything here is derived: the record's members from the schema (:class:`~mostate.rules.Field`),
the functions from the residual language, every name through :func:`.c.c_ident` and every
string through :func:`.c.c_string`. The helpers at the top of the source are fixed C (no spec
text in them); ``tests/codegen/test_c.py`` holds the result to the engine.
"""

from __future__ import annotations

import re

import attrs

from ..model import Clause, Role, Status
from ..rules import ARG_TYPES, CREATES_ONLY_TARGET, UNIQUE_THE, Field, Operation, Spec, The
from .build import specialise
from .c import ARG_C, CType, FunctionPrinter, Names, c_ident, c_string
from .runtime import MALFORMED
from .values import Unsupported

MAX_INSTANCES = 64
"""The default ``PREFIX_MAX_INSTANCES``: the most instances one service may hold."""
_ROLES = (Role.USER, Role.SERVER)


@attrs.frozen
class CModule:
    """The C form of a spec: ``header`` (``PREFIX.h``) and ``source`` (``PREFIX.c``, which
    includes it by that name)."""

    prefix: str
    header: str
    source: str
    operations: tuple[str, ...]


def emit_c(spec: Spec, prefix: str | None = None) -> CModule:
    """The C header and source of ``spec``'s rules; raises
    :class:`~mostate.codegen.values.Unsupported` naming the construct or operation C cannot
    take (a C client has no interpreter to fall back on).

    >>> from mostate import load_spec
    >>> module = emit_c(load_spec())
    >>> "int ccs_set_active_user(" in module.header, module.source.startswith("/*")
    (True, True)
    """
    prefix = c_ident(prefix if prefix is not None else spec.name.replace("-", "_"), "prefix")
    table = _Clauses()
    names = Names(prefix, table.index, table.ambiguous, table.unbounded, _zero())
    bodies: list[str] = []
    protos: list[str] = []
    for op in spec.ops.values():
        try:
            module = specialise(spec, op)
        except Unsupported as err:
            raise Unsupported(f"operation {op.name!r}: {err}") from err
        for role, function in zip(_ROLES, module.functions, strict=True):
            proto = _prototype(prefix, op, role)
            try:
                lines = FunctionPrinter(names).body(function)
            except Unsupported as err:
                raise Unsupported(f"operation {op.name!r} for {role.value}: {err}") from err
            protos.append(proto + ";")
            bodies += ["", proto, "{", *_preamble(prefix, op), *lines, "}"]
    header = _header(spec, prefix, protos)
    source = [
        f"/* The rules of spec {spec.name!r} in C99, written by mostate.codegen (do not edit). */",
        f'#include "{prefix}.h"',
        "",
        *table.lines(prefix),
        *_used(_runtime(prefix), "\n".join(bodies), prefix),
        *bodies,
    ]
    return CModule(prefix, header, "\n".join(source) + "\n", tuple(spec.ops))


class _Clauses:
    """The clause table: each clause once, by index; 0 is the malformed request's."""

    def __init__(self) -> None:
        self.clauses: list[Clause] = []
        self._index: dict[Clause, int] = {}
        self.index(MALFORMED)

    def index(self, clause: Clause) -> int:
        if clause not in self._index:
            self._index[clause] = len(self.clauses)
            self.clauses.append(clause)
        return self._index[clause]

    def ambiguous(self, node: The) -> int:
        return self.index(Clause("obligation", UNIQUE_THE.name, node.loc))

    def unbounded(self, clause: Clause) -> int:
        return self.index(Clause("obligation", CREATES_ONLY_TARGET.name, clause.location))

    def lines(self, p: str) -> list[str]:
        rows, breaks = [], []
        for clause in self.clauses:
            loc = clause.location
            where = "NULL, 0, 0"
            if loc is not None:
                where = f"{c_string(loc.file)}, {loc.line}, {loc.column}"
            rows.append(f"    {{{c_string(clause.kind)}, {c_string(clause.name)}, {where}}},")
            breaks.append(f"    {c_string(f'the step would break {clause.kind} {clause.name}')},")
        return [
            f"static const {p}_clause {p}__clauses[] = {{",
            *rows,
            "};",
            f"static const char *const {p}__breaks[] = {{",
            *breaks,
            "};",
        ]


def _prototype(p: str, op: Operation, role: Role) -> str:
    name = f"{p}_{c_ident(op.name, 'operation')}_{role.value}"
    args = f", const {p}_{c_ident(op.name, 'operation')}_args *args" if op.args else ""
    return (
        f"int {name}(const {p}_host *host, const {p}_state *st, const {p}_request *req{args},"
        f" unsigned flags, {p}_outcome *out)"
    )


def _preamble(p: str, op: Operation) -> list[str]:
    """The locals every function has (the request's service and target, its records) and the
    check of its pointers."""
    args = " || args == NULL" if op.args else ""
    return [
        f"    const {p}_slot *pre = NULL;",
        "    size_t pre_n = 0;",
        "    const char *S = NULL;",
        "    const char *N = NULL;",
        "    (void)N; (void)S; (void)flags;",
        f"    if (host == NULL || st == NULL || req == NULL || out == NULL{args})",
        f"        return {p.upper()}_E_USAGE;",
        f"    {p}__begin(out);",
    ]


def _zero() -> str:
    """The initialiser of a record with every field false (and no parameter map)."""
    return "{" + ", ".join("NULL" if f is Field.PARAMS else "0" for f in Field) + "}"


def _record_members() -> list[str]:
    members = []
    for field in Field:
        ctype = "unsigned char" if field is not Field.PARAMS else "{p}_params"
        members.append(f"    {ctype} {c_ident(field.value, 'field')};")
    return members


def _args_struct(p: str, op: Operation) -> list[str]:
    name = c_ident(op.name, "operation")
    spelled = {CType.BOOL: "int", CType.NAME: "const char *", CType.PARAMS: f"{p}_params"}
    members = []
    for decl in op.args:
        ctype = ARG_C.get(ARG_TYPES[decl.type])
        if ctype is None:
            raise Unsupported(f"argument {decl.name!r} of type {decl.type.value}")
        why = " (NULL: left out)" if decl.optional else ""
        member = c_ident(decl.name, "argument")
        members.append(f"    {spelled[ctype]} {member}; /* {decl.type.value}{why} */")
    return [f"typedef struct {p}_{name}_args {{", *members, f"}} {p}_{name}_args;"]


def _header(spec: Spec, p: str, protos: list[str]) -> str:
    P = p.upper()
    statuses = [f"#define {P}_{s.name} {int(s)}" for s in Status]
    record = [m.replace("{p}", p) for m in _record_members()]
    structs = [line for op in spec.ops.values() if op.args for line in _args_struct(p, op)]
    text = _HEADER.replace("PFXU", P).replace("PFX", p)
    parts = text.split("@RECORD@")
    text = parts[0] + "\n".join(record) + parts[1]
    text = text.replace("@STATUSES@", "\n".join(statuses))
    text = text.replace("@ARGS@", "\n".join(structs))
    text = text.replace("@PROTOS@", "\n".join(protos))
    text = text.replace("@SPEC@", c_string(spec.name)[1:-1].replace("*/", "*\\/"))
    return text.replace("@MAX@", str(MAX_INSTANCES))


def _used(runtime: str, code: str, p: str) -> list[str]:
    """The helpers of ``runtime`` that ``code`` calls, with those they call in turn (an unused
    static function is a warning, and the header promises a clean build)."""
    chunks = runtime.split("\n\n")
    defined = [re.search(rf"\b{p}__(\w+)(?:\[\])? *[(=]", chunk) for chunk in chunks]
    keep = [m is None for m in defined]
    text = code
    grew = True
    while grew:
        grew = False
        for index, match in enumerate(defined):
            if not keep[index] and match is not None and re.search(rf"\b{p}__{match[1]}\b", text):
                keep[index], grew = True, True
                text += chunks[index]
    return "\n\n".join(c for c, k in zip(chunks, keep, strict=True) if k).splitlines()


def _runtime(p: str) -> str:
    """The helpers every function calls (fixed C, the record's fields from the schema)."""
    fields = [c_ident(f.value, "field") for f in Field]
    flags = [f for f, field in zip(fields, Field, strict=True) if field is not Field.PARAMS]
    params = c_ident(Field.PARAMS.value, "field")
    same = " && ".join(f"a.{f} == b.{f}" for f in flags)
    make_args = ", ".join(f"PFX_params {f}" if f == params else f"int {f}" for f in fields)
    make_body = "; ".join(
        f"r.{f} = {f}" if f == params else f"r.{f} = (unsigned char)({f} != 0)" for f in fields
    )
    absent = ", ".join("host->empty" if f == params else "0" for f in fields)
    text = (
        _RUNTIME.replace("@SAME@", same)
        .replace("@PARAMS@", params)
        .replace("@MAKE_ARGS@", make_args)
        .replace("@MAKE_BODY@", make_body)
        .replace("@ABSENT@", absent)
        .replace("@ZERO@", _zero())
    )
    return text.replace("PFXU", p.upper()).replace("PFX", p)


_HEADER = """\
/* The rules of spec @SPEC@ in C99, written by mostate.codegen (do not edit).
 *
 * One function per operation and actor decides a request as mostate's Engine.apply does: the
 * status, the clause that decided it (name and spec location), the records of the request's
 * service after the step and a query's result. The state is the caller's (a service is
 * slots of named records); nothing is allocated and nothing is global but constant tables.
 * A parameter map is a handle the host compares and edits through PFX_host's callbacks.
 */
#ifndef PFXU_H
#define PFXU_H

#include <stddef.h>

#ifndef PFXU_MAX_INSTANCES
#define PFXU_MAX_INSTANCES @MAX@ /* the most instances one service may hold */
#endif

/* What a function returns (the outcome is filled only for PFXU_DECIDED). */
#define PFXU_DECIDED 0
#define PFXU_E_CAPACITY 1 /* a service holds, or would hold, more than PFXU_MAX_INSTANCES */
#define PFXU_E_HOST 2 /* a host callback failed: nothing was decided */
#define PFXU_E_USAGE 3 /* a NULL pointer where one is needed */

/* flags */
#define PFXU_CHECK 1 /* check the invariants and properties the step may break (answer 500) */
#define PFXU_VALID 2 /* the caller knows the service kept every invariant before the step */

/* statuses */
@STATUSES@

/* a query's result */
#define PFXU_RESULT_NONE 0
#define PFXU_RESULT_NAME 1
#define PFXU_RESULT_INSTANCE 2

/* A parameter map: a handle only the host's callbacks look into. */
typedef const struct PFX_params_ *PFX_params;

typedef struct PFX_record {
@RECORD@
} PFX_record;

typedef struct PFX_slot {
    const char *name;
    PFX_record rec;
} PFX_slot;

typedef struct PFX_service {
    const char *name;
    const PFX_slot *slots; /* existing instances, names unique */
    size_t n;
} PFX_service;

typedef struct PFX_state {
    const PFX_service *services; /* names unique; a service with no slot is as if absent */
    size_t n;
} PFX_state;

typedef struct PFX_host {
    void *ctx;
    PFX_params empty; /* the empty map */
    /* 1 when the maps hold the same pairs, else 0 (NULL: equal handles only) */
    int (*equal)(void *ctx, PFX_params a, PFX_params b);
    /* the map with key set to value, or without key, into *out: 0 on success (NULL, or a
       failure: the call returns PFXU_E_HOST and decides nothing) */
    int (*with)(void *ctx, PFX_params map, const char *key, const char *value, PFX_params *out);
    int (*without)(void *ctx, PFX_params map, const char *key, PFX_params *out);
} PFX_host;

typedef struct PFX_clause {
    const char *kind; /* refusal, confirmation, effect, invariant, property, obligation, request */
    const char *name;
    const char *file; /* NULL: no location */
    int line;
    int column;
} PFX_clause;

typedef struct PFX_request {
    const char *service;
    const char *instance; /* NULL for an operation without a target */
    int declines; /* a server's request whose confirmation the user declined */
} PFX_request;

typedef struct PFX_outcome {
    PFX_slot *post; /* in: the caller's slots for the records after the step */
    size_t post_cap; /* in: how many */
    size_t n_post; /* out: the request's service after the step (names point into the
                      state's slots or the request) */
    int status;
    const PFX_clause *clause;
    const char *reason; /* NULL for 200 */
    int result_kind; /* PFXU_RESULT_... */
    const char *result_service;
    const char *result_name;
    PFX_record result; /* for PFXU_RESULT_INSTANCE */
} PFX_outcome;

@ARGS@

@PROTOS@

#endif
"""

_RUNTIME = """\
#define PFXU__INF 0x3fffffffffffffffLL /* a count over the unbounded names */

typedef struct PFX_ref {
    const char *service; /* NULL: no instance (none) */
    const char *name;
} PFX_ref;

/* The name every name the state does not hold stands for: equal only to itself, ordered
   after the empty string and before every other (as "\\0" in Python). */
static const char PFX__fresh[] = "";

static int PFX__cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    if (a == b) return 0;
    if (a == NULL || b == NULL) return a == NULL ? -1 : 1;
    if (a == PFX__fresh) return *y == 0 ? 1 : -1;
    if (b == PFX__fresh) return *x == 0 ? -1 : 1;
    while (*x != 0 && *x == *y) { x++; y++; }
    return (*x > *y) - (*x < *y);
}

static int PFX__is_name(const char *s)
{
    if (*s == 0) return 0;
    for (; *s != 0; s++) if (*s == '/' || *s == '?') return 0;
    return 1;
}

static size_t PFX__find(const PFX_slot *slots, size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++) if (PFX__cmp(slots[i].name, name) == 0) return i;
    return n;
}

/* The index of the least name after prev (all names when prev is NULL); n when none. */
static size_t PFX__next(const PFX_slot *slots, size_t n, const char *prev)
{
    size_t i, best = n;
    for (i = 0; i < n; i++) {
        if (prev != NULL && PFX__cmp(slots[i].name, prev) <= 0) continue;
        if (best == n || PFX__cmp(slots[i].name, slots[best].name) < 0) best = i;
    }
    return best;
}

static PFX_record PFX__record(@MAKE_ARGS@)
{
    PFX_record r;
    @MAKE_BODY@;
    return r;
}

static PFX_record PFX__absent(const PFX_host *host)
{
    return PFX__record(@ABSENT@);
}

static PFX_record PFX__none_record(void)
{
    PFX_record r = @ZERO@;
    return r;
}

static int PFX__params_eq(const PFX_host *host, PFX_params a, PFX_params b)
{
    /* NULL is the parameters of none's record (false in Python): equal only to itself */
    if (a == NULL || b == NULL) return a == b;
    return a == b || (host->equal != NULL && host->equal(host->ctx, a, b) != 0);
}

static int PFX__with(const PFX_host *host, PFX_params m, const char *k, const char *v,
                     PFX_params *out)
{
    if (m == NULL || k == NULL || v == NULL || host->with == NULL) return 1;
    return host->with(host->ctx, m, k, v, out) != 0 || *out == NULL;
}

static int PFX__without(const PFX_host *host, PFX_params m, const char *k, PFX_params *out)
{
    if (m == NULL || k == NULL || host->without == NULL) return 1;
    return host->without(host->ctx, m, k, out) != 0 || *out == NULL;
}

static int PFX__same(const PFX_host *host, PFX_record a, PFX_record b)
{
    return @SAME@ && PFX__params_eq(host, a.@PARAMS@, b.@PARAMS@);
}

static PFX_ref PFX__ref(const char *service, const char *name)
{
    PFX_ref r;
    r.service = service;
    r.name = name;
    return r;
}

static int PFX__ref_eq(const PFX_host *host, PFX_ref a, PFX_ref b)
{
    (void)host;
    if (a.service == NULL || b.service == NULL) return a.service == b.service;
    return PFX__cmp(a.service, b.service) == 0 && PFX__cmp(a.name, b.name) == 0;
}

static long long PFX__add(long long a, long long b)
{
    return (a >= PFXU__INF - b) ? PFXU__INF : a + b;
}

static PFX_record PFX__lookup(const PFX_slot *slots, size_t n, const char *name, PFX_record dflt)
{
    size_t i = PFX__find(slots, n, name);
    return i < n ? slots[i].rec : dflt;
}

static PFX_record PFX__get(const PFX_host *host, const PFX_slot *slots, size_t n, const char *name)
{
    return PFX__lookup(slots, n, name, PFX__absent(host));
}

static const PFX_slot *PFX__service(const PFX_state *st, const char *name, size_t *n)
{
    size_t i;
    *n = 0;
    if (name == NULL) return NULL;
    for (i = 0; i < st->n; i++) {
        if (PFX__cmp(st->services[i].name, name) == 0) {
            *n = st->services[i].n;
            return st->services[i].slots;
        }
    }
    return NULL;
}

/* The record of a reference: the request's service in the records at hand, another as the
   state holds it, none as the none record. */
static PFX_record PFX__rec_of(const PFX_host *host, const PFX_state *st, const char *S,
                              PFX_ref ref, const PFX_slot *slots, size_t n, PFX_record fresh)
{
    const PFX_slot *other;
    size_t m;
    if (ref.service == NULL) return PFX__none_record();
    if (PFX__cmp(ref.service, S) == 0) return PFX__lookup(slots, n, ref.name, fresh);
    other = PFX__service(st, ref.service, &m);
    return PFX__lookup(other, m, ref.name, PFX__absent(host));
}

static size_t PFX__copy(PFX_slot *to, const PFX_slot *from, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) to[i] = from[i];
    return n;
}

/* Give name the record rec in slots (added at the end when new): 1 when full. */
static int PFX__store(PFX_slot *slots, size_t *n, const char *name, PFX_record rec)
{
    size_t i = PFX__find(slots, *n, name);
    if (i == *n) {
        if (*n >= PFXU_MAX_INSTANCES + 1) return 1;
        slots[i].name = name;
        (*n)++;
    }
    slots[i].rec = rec;
    return 0;
}

static void PFX__begin(PFX_outcome *out)
{
    out->n_post = 0;
    out->status = 0;
    out->clause = NULL;
    out->reason = NULL;
    out->result_kind = PFXU_RESULT_NONE;
    out->result_service = NULL;
    out->result_name = NULL;
    out->result = PFX__none_record();
}

/* The outcome: the existing records of slots are the service after the step. */
static int PFX__decide(PFX_outcome *out, int status, int clause, const char *reason,
                       const PFX_slot *slots, size_t n)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        if (!slots[i].rec.exists) continue;
        if (k >= out->post_cap || k >= PFXU_MAX_INSTANCES) return PFXU_E_CAPACITY;
        out->post[k++] = slots[i];
    }
    out->n_post = k;
    out->status = status;
    out->clause = &PFX__clauses[clause];
    out->reason = reason;
    return PFXU_DECIDED;
}

static int PFX__keep(PFX_outcome *out, int status, int clause, const char *reason,
                     const PFX_slot *pre, size_t pre_n)
{
    out->result_kind = PFXU_RESULT_NONE;
    out->result_service = NULL;
    out->result_name = NULL;
    return PFX__decide(out, status, clause, reason, pre, pre_n);
}

/* A step that breaks a clause (an invariant, a property, an obligation): 500, nothing done. */
static int PFX__fail(PFX_outcome *out, const PFX_slot *pre, size_t pre_n, int clause)
{
    return PFX__keep(out, PFXU_COMMAND_FAILED, clause, PFX__breaks[clause], pre, pre_n);
}

/* A malformed request: 400, nothing done. */
static int PFX__bad(PFX_outcome *out, const PFX_slot *pre, size_t pre_n, const char *why)
{
    return PFX__keep(out, PFXU_BAD_REQUEST, 0, why, pre, pre_n);
}

static void PFX__result_name(PFX_outcome *out, const char *service, const char *name)
{
    out->result_kind = PFXU_RESULT_NAME;
    out->result_service = service;
    out->result_name = name;
}

static void PFX__result_ref(PFX_outcome *out, PFX_ref ref)
{
    if (ref.service != NULL) PFX__result_name(out, ref.service, ref.name);
}

static void PFX__result_named(const PFX_host *host, PFX_outcome *out, const char *S,
                              const char *name, const PFX_slot *pre, size_t pre_n)
{
    size_t i = PFX__find(pre, pre_n, name);
    (void)host;
    if (i == pre_n) return;
    PFX__result_name(out, S, pre[i].name);
    out->result_kind = PFXU_RESULT_INSTANCE;
    out->result = pre[i].rec;
}

/* A query's instance as the state after the step holds it (slots: the request's service). */
static void PFX__result_instance(const PFX_host *host, PFX_outcome *out, const PFX_state *st,
                                 const char *S, PFX_ref ref, const PFX_slot *slots, size_t n)
{
    const PFX_slot *held = slots;
    size_t m = n, i;
    (void)host;
    if (ref.service == NULL) return;
    if (PFX__cmp(ref.service, S) != 0) held = PFX__service(st, ref.service, &m);
    i = PFX__find(held, m, ref.name);
    if (i == m || !held[i].rec.exists) return;
    PFX__result_name(out, ref.service, held[i].name);
    out->result_kind = PFXU_RESULT_INSTANCE;
    out->result = held[i].rec;
}
"""
