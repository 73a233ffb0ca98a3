"""Where each value of a TOML file starts, so that errors inside spec strings get a line and column.

``tomllib`` parses the document but forgets positions. This scanner walks the same text line by
line and records, for each key path (``("ops", "delete", "steps", 1, "when")``), the location of
the first character of its value (inside the quotes for a string). It understands the TOML that
spec files use: table and array-of-table headers, bare, quoted and dotted keys, one-line inline
tables, and multi-line strings. Where it cannot tell, callers fall back to the enclosing table.
"""

from __future__ import annotations

import re

from .errors import Location

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
_ASSIGN = re.compile(rf"^\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*=\s*")
_INLINE_KEY = re.compile(rf"({_KEY})\s*=\s*")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(_KEY, text)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def locate(text: str, file: str) -> dict[KeyPath, Location]:
    """Map each key path of a TOML document to where its value starts.

    >>> doc = '[ops.add]\\nresult = "x"\\n[[ops.add.steps]]\\nwhen = "a" \\n'
    >>> locs = locate(doc, "f.toml")
    >>> str(locs[("ops", "add", "result")]), str(locs[("ops", "add", "steps", 0, "when")])
    ('f.toml:2:11', 'f.toml:4:9')
    """
    found: dict[KeyPath, Location] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith(("#",)) and "=" not in line.split("]")[0]:
            path = _split_key(header.group(2))
            if header.group(1) == "[[":
                index = counters.get(path, -1) + 1
                counters[path] = index
                table = (*path, index)
            else:
                table = path
            found.setdefault(table, Location(file, number, 1))
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        key = (*table, *_split_key(assign.group(1)))
        start = assign.end()
        found[key] = _value_location(lines, number, start, file)
        rest = line[start:]
        if rest.startswith("{"):
            for inner in _INLINE_KEY.finditer(rest):
                col = start + inner.end()
                col += 1 if rest[inner.end() : inner.end() + 1] in ('"', "'") else 0
                found[(*key, *_split_key(inner.group(1)))] = Location(file, number, col + 1)
        if rest.startswith(('"""', "'''")) and rest.count(rest[:3]) < 2:
            number = _skip_multiline(lines, number, rest[:3])
    return found


def _value_location(lines: list[str], number: int, start: int, file: str) -> Location:
    rest = lines[number - 1][start:]
    if rest.startswith(('"""', "'''")):
        if rest[3:].strip() == "" and number < len(lines):
            return Location(file, number + 1, 1)
        return Location(file, number, start + 4)
    if rest.startswith(('"', "'")):
        return Location(file, number, start + 2)
    return Location(file, number, start + 1)


def _skip_multiline(lines: list[str], number: int, quote: str) -> int:
    while number < len(lines) and quote not in lines[number]:
        number += 1
    return number + 1
