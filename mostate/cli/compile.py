"""``mostate compile``: print the Python the engine generates for a spec, for reading and debugging.

The engine writes and compiles this code itself on each operation's first request
(:mod:`mostate.codegen`); this command only shows it. Each operation's module is printed with
the objects its generated names stand for (``_k0 = ...``, as comments); an operation the
generator leaves to the interpreter is listed with the reason. ``--emit successor`` prints the
explorer's form instead (:func:`~mostate.codegen.compile_successor`): one function per concrete
request the explorer sends with one instance name (its arguments and confirmation folded in).
``--emit c`` writes the rules as a dependency-free C99 header and source
(:func:`~mostate.codegen.cmodule.emit_c`) into ``--out-dir``, or prints them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..codegen import Unsupported, source
from ..codegen.build import successor_source
from ..codegen.cmodule import emit_c
from ..rules import Spec
from ..suggest import closest, did_you_mean
from . import options
from .common import CliError, chosen_spec, spec_from


def register(commands: Any) -> None:
    """Add ``mostate compile`` to the parser."""
    compile_ = commands.add_parser(
        "compile",
        parents=[options.SPEC_ARGUMENT()],
        help="print the code the engine generates for a spec's operations",
        description=(
            "Print the Python source the engine generates for each operation of SPEC (a "
            "function per role) and runs in place of the interpreter. For reading and "
            "debugging: the engine generates it itself. Exit 0, or 2 for a usage or spec error."
        ),
    )
    compile_.add_argument(
        "--emit",
        choices=("python", "successor", "c"),
        default="python",
        help=(
            "what to print (python: the engine's generated functions; successor: the "
            "explorer's, one per concrete request of a one-instance scope; c: a C99 header "
            "and source with a function per operation and actor, for a device client)"
        ),
    )
    compile_.add_argument(
        "--out-dir",
        metavar="DIR",
        help="with --emit c: write PREFIX.h and PREFIX.c into DIR (default: print them)",
    )
    compile_.add_argument(
        "--prefix",
        metavar="NAME",
        help="with --emit c: the prefix of every C name (default: the spec's name)",
    )
    compile_.add_argument(
        "--operation",
        "--op",
        action="append",
        metavar="OP",
        help="print only this operation (repeatable; default: every operation)",
    )
    compile_.set_defaults(handler=_compile)


def _compile(args: argparse.Namespace) -> int:
    spec = spec_from(chosen_spec(args))
    if args.emit == "c":
        return _c(spec, args)
    if args.out_dir is not None or args.prefix is not None:
        raise CliError("--out-dir and --prefix go with --emit c")
    names = args.operation or list(spec.ops)
    unknown = [name for name in names if name not in spec.ops]
    if unknown:
        near = did_you_mean(closest(unknown[0], spec.ops))
        raise CliError(f"no operation {unknown[0]!r} in spec {spec.name!r}{near}")
    if args.emit == "successor":
        print("\n\n".join(_successors(spec, names)), end="")
        return 0
    parts = []
    for name in names:
        try:
            text, constants = source(spec, spec.ops[name])
        except Unsupported as err:
            parts.append(f"# operation {name!r}: interpreted, not generated ({err})\n")
            continue
        listed = "".join(f"# {key} = {value!r}\n" for key, value in constants.items())
        parts.append(listed + text)
    print("\n\n".join(parts), end="")
    return 0


def _c(spec: Spec, args: argparse.Namespace) -> int:
    """The C form of the whole spec, written to ``--out-dir`` or printed."""
    if args.operation:
        raise CliError("--emit c writes every operation (a C module is whole): drop --operation")
    try:
        module = emit_c(spec, args.prefix)
    except Unsupported as err:
        raise CliError(f"spec {spec.name!r} has no C form: {err}") from err
    if args.out_dir is None:
        print(f"/* ---- {module.prefix}.h ---- */\n{module.header}")
        print(f"/* ---- {module.prefix}.c ---- */\n{module.source}", end="")
        return 0
    folder = Path(args.out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".h", module.header), (".c", module.source)):
        path = folder / f"{module.prefix}{suffix}"
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


def _successors(spec: Spec, names: list[str]) -> list[str]:
    """The successor modules of ``names``' requests in the explorer's scope with one instance
    name, declines included (each distinct module once)."""
    try:
        from ..explore.scope import ExploreScope, scope_requests
    except ImportError as err:  # networkx is in the .[explore] extra
        raise CliError(f"--emit successor needs the explorer's extra: .[explore] ({err})") from err
    parts: list[str] = []
    seen: set[str] = set()
    for request in scope_requests(spec, ExploreScope(instances=1, declines=True)):
        if request.op not in names:
            continue
        try:
            text, constants = successor_source(spec, spec.ops[request.op], request)
        except Unsupported as err:
            text, constants = (
                f"# operation {request.op!r}: interpreted, not generated ({err})\n",
                {},
            )
        if text not in seen:
            seen.add(text)
            listed = "".join(f"# {key} = {value!r}\n" for key, value in constants.items())
            parts.append(listed + text)
    return parts
