"""``mostate lsp``: the language server for spec files, over standard input and output."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_OK


def register(commands: Any) -> None:
    """Add ``mostate lsp`` to the parser."""
    lsp = commands.add_parser(
        "lsp",
        help="a language server for spec files (editors start it; needs mostate[lsp])",
        description=(
            "Speak the Language Server Protocol over standard input and output: every error "
            "of a spec file as a diagnostic, hover documentation, go to definition, "
            "formatting, and a code lens that verifies one operation (with mostate[verify]). "
            "An editor starts it; see the README for the settings of a few."
        ),
    )
    lsp.set_defaults(handler=_lsp)


def _lsp(args: argparse.Namespace) -> int:
    from ..langserver import serve  # pygls only when the server runs: a missing extra says so

    serve()
    return EXIT_OK
