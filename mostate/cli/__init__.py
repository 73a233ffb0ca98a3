"""The ``mostate`` command line: one module per family of subcommands.

Exit codes are the same for every command: 0 all is well, 1 a property is violated (or a device
log diverges from the spec), 2 usage or spec errors, 3 a check stayed UNKNOWN. The library
itself prints nothing; only this package speaks.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import shtab

from .. import __version__
from .common import EXIT_INTERRUPTED, EXIT_USAGE, CliError

_FAMILIES = (
    "run",
    "verify",
    "diff",
    "explore",
    "conform",
    "dm",
    "mutate",
    "compile",
    "campaign",
)
"""The modules of subcommands, in the order ``mostate --help`` lists them."""

EXTRAS = {"z3": "verify", "networkx": "explore", "hypothesis": "conform", "aiohttp": "wire"}
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
    parser = argparse.ArgumentParser(
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
    """Run one command; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    _suggest(parser, words)
    args, extra = parser.parse_known_args(words)
    if extra and not hasattr(args, "command_name"):  # a missing extra says so, below
        # Say it with the subcommand's own usage, not the top level's.
        chosen = " ".join(w for w in (args.command, getattr(args, "dm_command", None)) if w)
        subcommands(parser).get(chosen, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code: int = args.handler(args)
    except CliError as err:
        print(f"mostate: {err}", file=sys.stderr)
        return err.code if err.code is not None else EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, and nothing more to write.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except ModuleNotFoundError as err:
        if err.name not in EXTRAS:
            raise
        print(f"mostate: {args.command} {needs(err.name)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        print(f"mostate: cannot use{where}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a C tool killed by a closed pipe exits with."""


def _suggest(parser: argparse.ArgumentParser, words: list[str]) -> None:
    """Exit 2 with "did you mean" for a mistyped subcommand (``verfy``)."""
    first = next((w for w in words if not w.startswith("-")), None)
    names = [n for n in subcommands(parser) if " " not in n]
    if first is None or first in names or words.index(first) != 0:
        return
    close = difflib.get_close_matches(first, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f" (one of: {', '.join(names)})"
    parser.error(f"unknown command '{first}'{hint}")


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
