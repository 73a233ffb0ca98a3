"""``mostate fmt``: rewrite spec files in the canonical layout, or ``--check`` that they are."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..fmt import FormatError, Formatted, format_text
from . import options
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATED,
    CliError,
    SpecFailure,
    print_json,
)


def register(commands: Any) -> None:
    """Add ``mostate fmt`` to the parser."""
    fmt = commands.add_parser(
        "fmt",
        parents=[options.FORMAT()],
        help="rewrite spec files in the canonical layout (comments kept)",
        description=(
            "Rewrite each spec file (each *.toml under a folder) in one canonical layout: "
            "tables, keys and values written one way, expressions printed by mostate and "
            "broken at their connectives when long, every comment kept. '-' reads standard "
            "input and writes standard output. The result is checked to mean what the file "
            "did before anything is written. Exit 0; with --check, 1 when some file is not "
            "formatted (nothing is written); 2 for a file that does not load."
        ),
    )
    fmt.add_argument(
        "paths",
        metavar="SPEC",
        nargs="*",
        default=["specs"],
        help="files or folders (default: specs)",
    )
    fmt.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if some file would change"
    )
    fmt.add_argument("--diff", action="store_true", help="print what would change as a diff")
    fmt.set_defaults(handler=_fmt)


def _fmt(args: argparse.Namespace) -> int:
    if args.paths == ["-"]:
        return _stdin(args)
    results: list[dict[str, Any]] = []
    changed, failures = 0, list[Exception]()
    for path in _files(args.paths):
        try:
            done = format_text(path.read_text(encoding="utf-8-sig"), str(path))
        except (SpecError, FormatError, UnicodeDecodeError) as err:
            failures.append(err)
            results.append({"file": str(path), "error": str(err)})
            continue
        changed += done.changed
        results.append({"file": str(path), "changed": done.changed})
        _report(args, path, done)
    if failures and args.format == "text":
        _raise_first(failures)
    if args.format == "json":
        print_json({"files": results, "check": args.check})
    else:
        _summary(args.check, changed, len(results))
    if failures:
        return EXIT_USAGE
    return EXIT_VIOLATED if args.check and changed else EXIT_OK


def _report(args: argparse.Namespace, path: Path, done: Formatted) -> None:
    if not done.changed:
        return
    if args.diff:
        sys.stdout.writelines(
            difflib.unified_diff(
                done.before.splitlines(keepends=True),
                done.after.splitlines(keepends=True),
                str(path),
                f"{path} (formatted)",
            )
        )
    if args.check:
        if args.format == "text":
            print(f"would reformat {path}")
        return
    _write(path, done.after)
    if args.format == "text":
        print(f"reformatted {path}")


def _summary(check: bool, changed: int, total: int) -> None:
    same = total - changed
    verb = "would be reformatted" if check else "reformatted"
    print(f"{changed} file{'s' * (changed != 1)} {verb}, {same} already formatted")


def _raise_first(failures: list[Exception]) -> None:
    for err in failures:
        if isinstance(err, SpecError):
            raise SpecFailure(err)
    raise CliError(str(failures[0]))


def _stdin(args: argparse.Namespace) -> int:
    text = sys.stdin.buffer.read().decode("utf-8-sig", errors="strict")
    try:
        done = format_text(text, "<stdin>")
    except SpecError as err:
        raise SpecFailure(err) from None
    except FormatError as err:
        raise CliError(str(err)) from None
    if args.check:
        return EXIT_VIOLATED if done.changed else EXIT_OK
    sys.stdout.write(done.after)
    return EXIT_OK


def _files(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(path.rglob("*.toml"))
        elif path.is_file():
            yield path
        else:
            raise CliError(f"{name}: no such file or folder")


def _write(path: Path, text: str) -> None:
    """Replace ``path`` at once: a crash midway leaves the old file, never half of the new."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
