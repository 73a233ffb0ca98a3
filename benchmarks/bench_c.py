"""The rules in C (``mostate compile --emit c``) against Engine.apply, over the same requests.

    python benchmarks/bench_c.py [--requests 100000] [--seed 1] [--repeat 5]

The requests are bench_engine's reproducible mix (every operation, both actors, confirmations
and declines, two services, four instance names). Python: ``Engine.apply`` (monitored, the
default) on each request in turn, the state flowing from one to the next. C: a driver program
written here, compiled with the generated source at -O2, that holds the same requests as data
and runs them through the generated functions (monitored: ``CCS_CHECK``) in a loop, the
service's records after each step copied back into the state, and a small interning host for
parameter maps. Both run the whole trace ``--repeat`` times; the table gives the median of each
in requests/s and the ratio (target, issue 27: at least 20x). The two final states are
compared, so a fast wrong answer fails. Then the size of the generated C for the shipped spec:
lines and bytes of the header and source, and the code the compiler makes of it (``size``).
Timings on a shared machine are noisy: medians of several runs, taken in turn.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import random_requests
from rich.console import Console
from rich.table import Table

from mostate import DeviceState, Engine, Request, load_spec
from mostate.clib import compiler, write_sources
from mostate.codegen.c import c_string
from mostate.codegen.cmodule import emit_c
from mostate.rules import Spec, Type


def time_python(
    engine: Engine, requests: list[Request], repeat: int
) -> tuple[list[float], DeviceState]:
    runs, state = [], DeviceState()
    for _ in range(repeat):
        state = DeviceState()
        start = time.perf_counter()
        for request in requests:
            state = engine.apply(state, request).state
        runs.append(time.perf_counter() - start)
    return runs, state


def driver(spec: Spec, requests: list[Request]) -> str:
    """The C driver: the requests as data, a dispatch per operation and actor, the host."""
    services = sorted({str(r.service) for r in requests})
    maps: list[dict[str, str]] = [{}]
    rows = []
    for r in requests:
        op = spec.ops[r.op]
        params = r.args.get("params")
        index = 0
        if params is not None:
            as_dict = dict(params.items())
            if as_dict not in maps:
                maps.append(as_dict)
            index = maps.index(as_dict)
        value = r.args.get("value")
        fields = (
            str(list(spec.ops).index(op.name)),
            str(int(r.actor.role.value == "server")),
            str(services.index(str(r.service))),
            c_string(r.instance) if r.instance is not None else "NULL",
            str(int(value is True)),
            c_string(str(r.args["param"])) if "param" in r.args else "NULL",
            c_string(value) if isinstance(value, str) else "NULL",
            str(index),
            str(int(r.confirm is not None and r.confirm.value == "decline")),
        )
        rows.append("{" + ", ".join(fields) + "}")
    cases = []
    for number, op in enumerate(spec.ops.values()):
        sets = []
        for decl in op.args:
            if decl.type is Type.BOOL:
                sets.append(f"a.{decl.name} = q->value;")
            elif decl.type is Type.PARAMS:
                sets.append(f"a.{decl.name} = q->params ? H(interned[q->params]) : NULL;")
            elif decl.name == "param":
                sets.append(f"a.{decl.name} = q->param;")
            else:
                sets.append(f"a.{decl.name} = q->sval;")
        args = f"ccs_{op.name}_args a; " + " ".join(sets) if op.args else ""
        call = "&a, " if op.args else ""
        cases.append(
            f"    case {number}: {{ {args} rc = q->server ? ccs_{op.name}_server(&host, &st, &r, "
            f"{call}CCS_CHECK, &out) : ccs_{op.name}_user(&host, &st, &r, {call}CCS_CHECK, &out);"
            " break; }"
        )
    map_inits = []
    for index, m in enumerate(maps):
        pairs = " ".join(
            f"m.k[{i}] = {c_string(k)}; m.v[{i}] = {c_string(v)};"
            for i, (k, v) in enumerate(sorted(m.items()))
        )
        map_inits.append(
            f"    {{ map_t m; m.n = {len(m)}; {pairs} interned[{index}] = intern(&m); }}"
        )
    names = ", ".join(c_string(s) for s in services)
    return (
        _DRIVER.replace("@ROWS@", ",\n".join(rows))
        .replace("@CASES@", "\n".join(cases))
        .replace("@MAPS@", "\n".join(map_inits))
        .replace("@NMAPS@", str(len(maps)))
        .replace("@SERVICES@", names)
        .replace("@NSERVICES@", str(len(services)))
    )


_DRIVER = r"""
#include "ccs.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The host: parameter maps interned in a pool (equal maps, one handle), keys sorted. */
typedef struct { int n; const char *k[8]; const char *v[8]; } map_t;
static map_t pool[4096];
static int npool;
static ccs_params H(int i) { return (ccs_params)(const void *)&pool[i]; }
static const map_t *M(ccs_params p) { return (const map_t *)(const void *)p; }
static int same_map(const map_t *a, const map_t *b)
{
    int i;
    if (a->n != b->n) return 0;
    for (i = 0; i < a->n; i++) if (strcmp(a->k[i], b->k[i]) || strcmp(a->v[i], b->v[i])) return 0;
    return 1;
}
static int intern(const map_t *m)
{
    int i;
    for (i = 0; i < npool; i++) if (same_map(&pool[i], m)) return i;
    pool[npool] = *m;
    return npool++;
}
static int eq(void *ctx, ccs_params a, ccs_params b) { (void)ctx; return a == b; }
static int with_(void *ctx, ccs_params p, const char *k, const char *v, ccs_params *out)
{
    map_t m = *M(p);
    int i, j;
    (void)ctx;
    for (i = 0; i < m.n && strcmp(m.k[i], k) < 0; i++) ;
    if (i < m.n && strcmp(m.k[i], k) == 0) m.v[i] = v;
    else {
        if (m.n == 8) return 1;
        for (j = m.n; j > i; j--) { m.k[j] = m.k[j - 1]; m.v[j] = m.v[j - 1]; }
        m.k[i] = k; m.v[i] = v; m.n++;
    }
    *out = H(intern(&m));
    return 0;
}
static int without(void *ctx, ccs_params p, const char *k, ccs_params *out)
{
    map_t m = *M(p);
    int i, j;
    (void)ctx;
    for (i = 0; i < m.n; i++) {
        if (strcmp(m.k[i], k) == 0) {
            for (j = i; j + 1 < m.n; j++) { m.k[j] = m.k[j + 1]; m.v[j] = m.v[j + 1]; }
            m.n--;
            break;
        }
    }
    *out = H(intern(&m));
    return 0;
}

typedef struct { int op, server, svc; const char *inst; int value; const char *param, *sval;
                 int params, declines; } req_t;
static const req_t reqs[] = {
@ROWS@
};
static int interned[@NMAPS@];
static const char *names[] = {@SERVICES@};
#define NS @NSERVICES@

int main(int argc, char **argv)
{
    int repeat = argc > 1 ? atoi(argv[1]) : 3, k;
    size_t nreq = sizeof reqs / sizeof reqs[0], i, s, j;
    static ccs_slot store[NS][CCS_MAX_INSTANCES], post[CCS_MAX_INSTANCES];
    ccs_service svcs[NS];
    ccs_host host;
    ccs_state st;
@MAPS@
    host.ctx = NULL; host.empty = H(interned[0]); host.equal = eq; host.with = with_;
    host.without = without;
    for (k = 0; k < repeat; k++) {
        struct timespec t0, t1;
        for (s = 0; s < NS; s++) {
            svcs[s].name = names[s]; svcs[s].slots = store[s]; svcs[s].n = 0;
        }
        st.services = svcs; st.n = NS;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (i = 0; i < nreq; i++) {
            const req_t *q = &reqs[i];
            ccs_request r;
            ccs_outcome out;
            int rc = -1;
            r.service = names[q->svc]; r.instance = q->inst; r.declines = q->declines;
            out.post = post; out.post_cap = CCS_MAX_INSTANCES;
            switch (q->op) {
@CASES@
            }
            if (rc != CCS_DECIDED) { fprintf(stderr, "request %zu: rc %d\n", i, rc); return 1; }
            for (j = 0; j < out.n_post; j++) store[q->svc][j] = post[j];
            svcs[q->svc].n = out.n_post;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("time %.9f\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    for (s = 0; s < NS; s++) {
        for (j = 0; j < svcs[s].n; j++) {
            const ccs_record *rec = &store[s][j].rec;
            const map_t *m = M(rec->params);
            int p;
            printf("state %s %s %d %d %d", names[s], store[s][j].name, rec->active, rec->default_,
                   rec->locked);
            for (p = 0; p < m->n; p++) printf(" %s=%s", m->k[p], m->v[p]);
            printf("\n");
        }
    }
    return 0;
}
"""


def run_c(
    spec: Spec, requests: list[Request], repeat: int, folder: Path
) -> tuple[list[float], DeviceState]:
    module = emit_c(spec, "ccs")
    write_sources(module, folder)
    (folder / "driver.c").write_text("#include <stdlib.h>\n" + driver(spec, requests))
    binary = folder / "driver"
    flags = ["-std=c99", "-D_POSIX_C_SOURCE=199309L", "-O2", "-Wall", "-Wextra", "-Werror"]
    subprocess.run(
        [compiler(), *flags, "-o", str(binary), str(folder / "driver.c"), str(folder / "ccs.c")],
        check=True,
    )
    done = subprocess.run([str(binary), str(repeat)], capture_output=True, text=True, check=True)
    runs = [float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("time ")]
    state: dict[str, dict[str, object]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("state "):
            _, service, name, active, default, locked, *pairs = line.split(" ")
            state.setdefault(service, {})[name] = {
                "active": active == "1",
                "default": default == "1",
                "locked": locked == "1",
                "params": dict(p.split("=", 1) for p in pairs),
            }
    return runs, DeviceState.from_json(state)


def sizes(folder: Path) -> list[tuple[str, str]]:
    header, source = (folder / "ccs.h").read_text(), (folder / "ccs.c").read_text()
    out = [
        ("ccs.h", f"{header.count(chr(10)):,} lines, {len(header.encode()):,} bytes"),
        ("ccs.c", f"{source.count(chr(10)):,} lines, {len(source.encode()):,} bytes"),
    ]
    for level in ("-O2", "-Os"):
        obj = folder / f"ccs{level}.o"
        subprocess.run(
            [compiler(), "-std=c99", level, "-c", "-o", str(obj), str(folder / "ccs.c")], check=True
        )
        text = subprocess.run(["size", str(obj)], capture_output=True, text=True).stdout
        code, data = text.splitlines()[1].split()[:2]
        out.append((f"ccs.o ({level})", f"{int(code):,} bytes of code, {int(data):,} of data"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec()
    requests = random_requests(args.requests, args.seed)
    engine = Engine(spec)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        c_runs, c_state = run_c(spec, requests, args.repeat, folder)
        py_runs, py_state = time_python(engine, requests, args.repeat)
        if c_state != py_state:
            print("the C driver and Engine.apply end in different states", file=sys.stderr)
            return 1
        table = Table(title=f"{len(requests):,} requests, median of {args.repeat} runs each")
        for column in ("backend", "requests/s", "median s", "ratio"):
            table.add_column(column, justify="right" if column != "backend" else "left")
        py, c = statistics.median(py_runs), statistics.median(c_runs)
        table.add_row(
            "Engine.apply (Python, monitored)", f"{len(requests) / py:,.0f}", f"{py:.3f}", "1.0x"
        )
        table.add_row(
            "generated C, driver loop (-O2, CCS_CHECK)",
            f"{len(requests) / c:,.0f}",
            f"{c:.4f}",
            f"{py / c:.1f}x",
        )
        console = Console()
        console.print(table)
        size_table = Table(title="the generated C for the shipped spec")
        size_table.add_column("file")
        size_table.add_column("size")
        for name, text in sizes(folder):
            size_table.add_row(name, text)
        console.print(size_table)
        verdict = "met" if py / c >= 20 else "MISSED"
        console.print(f"target (C at least 20x Engine.apply): {verdict}; same final state: yes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
