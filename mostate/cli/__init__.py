"""The ``mostate`` command line: one module per family of subcommands.

Exit codes are the same for every command: 0 all is well, 1 a property is violated (or a device
log diverges from the spec), 2 usage or spec errors, 3 a check stayed UNKNOWN. The library
itself prints nothing; only this package speaks.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import shtab

from .. import __version__
from . import errors, interrupts
from .common import EXIT_INTERRUPTED, EXIT_USAGE, CliError, SpecFailure, forget_stdin
from .parser import Parser

_FAMILIES = (
    "run",
    "explain",
    "verify",
    "diff",
    "explore",
    "conform",
    "dm",
    "mutate",
    "compile",
    "campaign",
    "fmt",
    "lsp",
)
"""The modules of subcommands, in the order ``mostate --help`` lists them."""

EXTRAS = {
    "z3": "verify",
    "cvc5": "cross-check",
    "networkx": "explore",
    "hypothesis": "conform",
    "aiohttp": "wire",
    "pygls": "lsp",
    "lsprotocol": "lsp",
}
"""What each optional package is installed with: ``pip install 'mostate[EXTRA]'``."""

_COMMANDS = {"explore": ("explore", "plan")}
"""The subcommands of a family whose name is not its module's."""


class _Missing:
    """A family whose optional package is not installed: its commands are listed and, run,
    say what to install (exit 2)."""

    def __init__(self, family: str, package: str) -> None:
        self.family, self.package = family, package

    def register(self, commands: Any) -> None:
        hint = needs(self.package)
        for name in _COMMANDS.get(self.family, (self.family,)):
            sub = commands.add_parser(name, help=f"(not installed: {hint})", add_help=False)
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            sub.set_defaults(handler=self.refuse, command_name=name)

    def refuse(self, args: argparse.Namespace) -> int:
        raise CliError(f"{args.command_name} {needs(self.package)}")


def needs(package: str) -> str:
    """``needs z3: pip install 'mostate[verify]'``."""
    return f"needs {package}: pip install 'mostate[{EXTRAS[package]}]'"


def _family(name: str) -> ModuleType | _Missing:
    try:
        return importlib.import_module(f".{name}", __package__)
    except ModuleNotFoundError as err:
        if err.name not in EXTRAS:
            raise
        return _Missing(name, err.name)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mostate",
        description=(
            "A formal rules engine for OMA-DM Configuration Context Status "
            "(Active, Default, Locked): run, check, prove and explore spec files."
        ),
    )
    parser.add_argument("--version", action="version", version=f"mostate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _FAMILIES:
        _family(name).register(commands)
    # Shell completion generated from this very parser by shtab (a small, pure-Python, well-kept
    # library), so it never falls behind a new option: `mostate --print-completion bash`.
    shtab.add_argument_to(
        parser, "--print-completion", help="print a completion script for SHELL and exit"
    )
    _complete_paths(parser)
    return parser


_FILES = (".json", ".jsonl", ".xml", ".toml", ".sqlite", ".dot", "SPEC", "FILE", "PACKAGE")
_DIRS = ("DIR",)


def _complete_paths(parser: argparse.ArgumentParser) -> None:
    """Tell shtab which arguments name files or folders, by their metavar (STATE.json, SPEC,
    DIR...), so that the shell completes paths there and nowhere else."""
    for sub in (parser, *subcommands(parser).values()):
        for action in sub._actions:
            shown = str(action.metavar or action.dest or "")
            if any(shown.endswith(d) for d in _DIRS):
                action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
            elif any(mark in shown for mark in _FILES) or action.dest in (
                "spec",
                "spec_file",
                "store",
            ):
                action.complete = shtab.FILE  # type: ignore[attr-defined]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser by name (nested ones as ``"dm process"``)."""
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in subcommands(sub).items()})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it).

    Whatever the command, a reader that goes away (``| head``) ends it with exit 141 and no
    traceback, and Ctrl-C with exit 130 (after what the command had to show of its work).
    """
    started = time.monotonic()  # a command's --time-limit counts from here, parsing included
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        with interrupts.answered():
            try:
                code = _dispatch(words, started)
            finally:  # --help and usage errors leave through SystemExit: flush them here too
                sys.stdout.flush()  # here, where a closed pipe is still ours to answer
        return code
    except BrokenPipeError:
        return _broken_pipe()
    except (KeyboardInterrupt, ctypes.ArgumentError) as err:
        if not interrupts.is_interrupt(err):
            raise
        print("mostate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(words: list[str], started: float) -> int:
    forget_stdin()
    parser = build_parser()
    args, extra = parser.parse_known_args(words)
    if extra and not hasattr(args, "command_name"):  # a missing extra says so, below
        # Say it with the subcommand's own usage (and options), not the top level's.
        _chosen(parser, words).error(f"unrecognized arguments: {' '.join(extra)}")
    args.started = started
    try:
        code: int = args.handler(args)
    except SpecFailure as err:
        if getattr(args, "format", "text") == "json":
            print(json.dumps(errors.to_json(err.error), indent=2))
        else:
            print(errors.render(err.error), file=sys.stderr)
        return EXIT_USAGE
    except CliError as err:
        print(f"mostate: {err}", file=sys.stderr)
        return err.code if err.code is not None else EXIT_USAGE
    except ModuleNotFoundError as err:
        if err.name not in EXTRAS:
            raise
        print(f"mostate: {args.command} {needs(err.name)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        raise
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        print(f"mostate: cannot use{where}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    return code


def _broken_pipe() -> int:
    """The reader went away: nothing more to write, and nothing left for Python to flush at
    exit (which would print a traceback of its own)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a C tool killed by a closed pipe exits with."""


def _chosen(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    """The parser of the deepest subcommand ``words`` name (``dm process`` in
    ``mostate dm process x --nope``), or the top level's."""
    subs = subcommands(parser)
    path: list[str] = []
    for word in words:
        if " ".join([*path, word]) in subs:
            path.append(word)
    return subs.get(" ".join(path), parser)


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
