"""Spec errors as a person reads them (the line, a caret under the culprit, "did you mean") and as
a machine reads them (``--format json``: file, line, column, message, suggestion).

Every command that loads a spec raises :class:`~mostate.cli.common.SpecFailure`;
:func:`mostate.cli.main` prints it with :func:`render` or :func:`to_json`, whichever
``--format`` the command was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SpecError


def render(error: SpecError, text: str | None = None) -> str:
    """Each error of ``error`` with the line it is on and a caret under the culprit.

    ``text`` is the spec's text (read from the error's file when None; without it, the
    message alone).

    >>> from mostate.errors import Location
    >>> err = SpecError("unknown function 'activ'; did you mean 'active'?",
    ...                 Location("s.toml", 2, 9), culprit="activ", suggestion="active")
    >>> print(render(err, '[x]\\nwhen = "activ(target)"\\n'))
    s.toml:2:9: unknown function 'activ'; did you mean 'active'?
      |
    2 | when = "activ(target)"
      |         ^^^^^
    """
    if text is None:
        text = _read(error.location.file)
    lines = text.split("\n") if text is not None else []
    return "\n".join(_one(e, lines) for e in error.errors)


def _one(error: SpecError, lines: list[str]) -> str:
    head = str(error)
    number = error.location.line
    if number < 1:  # the file as a whole (one that cannot be read): said like other errors
        return f"mostate: {head}"
    if number > len(lines):
        return head
    line = lines[number - 1].rstrip("\r")
    start, length = _span(line, error.location.column - 1, error.culprit)
    gutter = " " * len(str(number))
    return "\n".join(
        [
            head,
            f"{gutter} |",
            f"{number} | {line}",
            f"{gutter} | {' ' * start}{'^' * length}",
        ]
    )


def _span(line: str, column: int, culprit: str | None) -> tuple[int, int]:
    """Where to put the caret: under the culprit at the column, or where it first stands on the
    line (an unknown key's column is its value's), else one caret at the column."""
    column = max(0, min(column, len(line)))
    if culprit:
        if line.startswith(culprit, column):
            return column, len(culprit)
        found = line.find(culprit)
        if found >= 0:
            return found, len(culprit)
    return column, 1


def _read(file: str) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def to_json(error: SpecError) -> dict[str, Any]:
    """``{"errors": [{"file", "line", "column", "message", "suggestion"}, ...]}``.

    >>> from mostate.errors import Location
    >>> err = SpecError("unknown name 'targt'", Location("s.toml", 3, 9), suggestion="target")
    >>> sorted(to_json(err)["errors"][0].items())[:3]
    [('column', 9), ('file', 's.toml'), ('line', 3)]
    """
    return {
        "errors": [
            {
                "file": e.location.file,
                "line": e.location.line,
                "column": e.location.column,
                "message": e.message,
                "suggestion": e.suggestion,
            }
            for e in error.errors
        ]
    }
