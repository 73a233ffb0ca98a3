"""The ``mostate`` command line: one module per family of subcommands.

Exit codes are the same for every command: 0 all is well, 1 a property is violated (or a device
log diverges from the spec), 2 usage or spec errors, 3 a check stayed UNKNOWN. The library
itself prints nothing; only this package speaks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import conform, diff, dm, explore, mutate, run, verify
from .common import EXIT_USAGE, CliError

_FAMILIES = (run, verify, diff, explore, conform, dm, mutate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mostate",
        description=(
            "A formal rules engine for OMA-DM Configuration Context Status "
            "(Active, Default, Locked): run, check, prove and explore spec files."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for family in _FAMILIES:
        family.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CliError as err:
        print(f"mostate: {err}", file=sys.stderr)
        return err.code if err.code is not None else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
