"""``mostate compile``: print the Python the engine generates for a spec, for reading and debugging.

The engine writes and compiles this code itself on each operation's first request
(:mod:`mostate.codegen`); this command only shows it. Each operation's module is printed with
the objects its generated names stand for (``_k0 = ...``, as comments); an operation the
generator leaves to the interpreter is listed with the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..codegen import Unsupported, source
from .common import CliError, add_spec_argument, chosen_spec, spec_from


def register(commands: Any) -> None:
    """Add ``mostate compile`` to the parser."""
    compile_ = commands.add_parser(
        "compile",
        help="print the code the engine generates for a spec's operations",
        description=(
            "Print the Python source the engine generates for each operation of SPEC (a "
            "function per role) and runs in place of the interpreter. For reading and "
            "debugging: the engine generates it itself. Exit 0, or 2 for a usage or spec error."
        ),
    )
    add_spec_argument(compile_)
    compile_.add_argument(
        "--emit",
        choices=("python",),
        default="python",
        help="what to print (python: the engine's generated functions)",
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
    names = args.operation or list(spec.ops)
    unknown = [name for name in names if name not in spec.ops]
    if unknown:
        raise CliError(f"no operation {unknown[0]!r} in spec {spec.name!r}")
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
