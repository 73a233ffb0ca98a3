"""The ``mostate`` command line: one module per family of subcommands.

Exit codes are the same for every command: 0 all is well, 1 a property is violated (or a device
log diverges from the spec), 2 usage or spec errors, 3 a check stayed UNKNOWN. The library
itself prints nothing; only this package speaks.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from . import conform, diff, dm, explore, mutate, run, verify
from .common import EXIT_INTERRUPTED, EXIT_USAGE, CliError

_FAMILIES = (run, verify, diff, explore, conform, dm, mutate)


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
    for family in _FAMILIES:
        family.register(commands)
    return parser


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
    if extra:
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
