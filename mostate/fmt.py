"""``mostate fmt``: one canonical layout for spec files, comments kept.

What the layout is:

* tables: ``[a.b]`` / ``[[a.b]]`` with no inner spaces, one blank line before each (before the
  comment block right above it, if any), none after;
* keys: ``key = value``, dotted keys without spaces, values written one way (basic strings,
  ``["a", "b"]``, ``{ k = "v" }``, ``true``, ``418``); blank lines between keys collapse to one;
* expressions (a step's ``when``, an effect's fields, a query's ``result``, an invariant's or a
  property's ``expr``) printed by :mod:`mostate.printer`: on the key's line when they fit in
  :data:`WIDTH` columns, else in a ``\"\"\"`` string, broken at the top-level connectives;
* every comment, on its own line or after a value, where it was; the file ends in one newline.

Why not a TOML library: tomllib forgets comments; tomlkit keeps them but is a round-tripper,
not a formatter (we would re-print each of its items ourselves). The spec files use a small part
of TOML, which this module scans by itself; anything it does not know how to re-print (a float,
a date, an array with comments inside) it keeps as written. Every result is checked before it is
returned: a spec must load to the same :class:`~mostate.rules.Spec` (locations aside), any other
TOML file to the same data, else :class:`FormatError` and nothing is written. Formatting twice
gives the same text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

import attrs

from .errors import MostateError
from .printer import layout, show
from .rules import Effect, Expr, Refusal, Spec
from .spec import parse_spec
from .tomlpos import KeyPath

WIDTH = 100
"""The longest line the layout writes where it has the choice (the project's line length)."""


class FormatError(MostateError, ValueError):
    """The formatted text would not mean what the original does (a bug in the formatter), or the
    file is not TOML the formatter can read."""


@attrs.frozen
class Formatted:
    """A file's text before and after formatting."""

    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def format_text(text: str, source: str = "<spec>") -> Formatted:
    """``text`` in the canonical layout; SpecError when it is a spec that does not load.

    >>> print(format_text('[spec]\\nname="x"\\n[ops.a]\\n[[ops.a.steps]]\\nrefuse=404\\n'
    ...                   'when = "not  (exists(target))"   # why\\n').after, end="")
    [spec]
    name = "x"
    <BLANKLINE>
    [ops.a]
    <BLANKLINE>
    [[ops.a.steps]]
    refuse = 404
    when = "not exists(target)"  # why
    """
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        parse_spec(text, source)  # raises the located TOML error
        raise
    spec = parse_spec(text, source) if _is_spec(data) else None
    exprs = dict(expressions(spec)) if spec is not None else {}
    after = _Writer(exprs).write(_items(text))
    _check_same(text, after, data, spec, source)
    return Formatted(text, after)


def _is_spec(data: dict[str, Any]) -> bool:
    """A spec is a TOML file with operations or a ``[spec]`` header; any other TOML file (the
    mutants' manifest) gets the layout without the expressions."""
    return "ops" in data or "spec" in data


def expressions(spec: Spec) -> Iterator[tuple[KeyPath, Expr]]:
    """Each expression of ``spec`` with the TOML key path it was written at.

    >>> from mostate import load_spec
    >>> paths = dict(expressions(load_spec()))
    >>> show(paths[("invariants", "one_active", "expr")])
    'count(i, active(i)) <= 1'
    """
    for name, op in spec.ops.items():
        if op.result is not None:
            yield ("ops", name, "result"), op.result
        for index, step in enumerate(op.steps):
            at: KeyPath = ("ops", name, "steps", index)
            if isinstance(step, Refusal):
                yield (*at, "when"), step.when
            elif isinstance(step, Effect):
                yield from (((*at, "effect", f.value), e) for f, e in step.updates)
    for inv in spec.invariants:
        yield ("invariants", inv.name, "expr"), inv.expr
    for prop in spec.properties:
        yield ("properties", prop.name, "expr"), prop.expr


def _check_same(
    before: str, after: str, data: dict[str, Any], spec: Spec | None, source: str
) -> None:
    try:
        again = tomllib.loads(after)
    except tomllib.TOMLDecodeError as err:
        raise FormatError(f"{source}: the formatted text is not TOML ({err})") from None
    if spec is not None:
        if parse_spec(after, source) != spec:
            raise FormatError(f"{source}: formatting would change what the spec means")
    elif again != data:
        raise FormatError(f"{source}: formatting would change the data")


# -- scanning the file into items ---------------------------------------------------------------

_KEY = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')"
_HEADER = re.compile(rf"\[(\[?)\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]\]?")
_ASSIGN = re.compile(rf"({_KEY}(?:\s*\.\s*{_KEY})*)\s*=[ \t]*")
_KEY_PART = re.compile(_KEY)


@attrs.frozen
class _Item:
    """One logical line of the file: ``blank``, ``comment``, ``header`` (``text`` the dotted
    name, ``array`` for ``[[...]]``) or ``value`` (``key``, the raw value ``text``)."""

    kind: str
    text: str = ""
    key: tuple[str, ...] = ()
    array: bool = False
    comment: str = ""
    commented: bool = False  # a value with comments inside it (a multi-line array)


def _items(text: str) -> list[_Item]:
    items: list[_Item] = []
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        stripped = text[pos:end].strip()
        start = pos + len(text[pos:end]) - len(text[pos:end].lstrip())
        if not stripped:
            items.append(_Item("blank"))
        elif stripped.startswith("#"):
            items.append(_Item("comment", stripped))
        elif stripped.startswith("["):
            items.append(_header(text[start:end]))
        else:
            item, end = _assignment(text, start)
            items.append(item)
        pos = end + 1
    return items


def _header(line: str) -> _Item:
    match = _HEADER.match(line)
    if match is None:
        raise FormatError(f"cannot read the table header {line!r}")
    return _Item(
        "header",
        key=_key(match.group(2)),
        array=bool(match.group(1)),
        comment=_comment(line, match.end()),
    )


def _assignment(text: str, start: int) -> tuple[_Item, int]:
    match = _ASSIGN.match(text, start)
    if match is None:
        line = text[start:].split("\n", 1)[0]
        raise FormatError(f"cannot read the line {line!r}")
    end, commented = _value_end(text, match.end())
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    value = text[match.end() : end].rstrip()
    comment = _comment(text[:line_end], end)
    return _Item(
        "value", value, _key(match.group(1)), comment=comment, commented=commented
    ), line_end


def _key(text: str) -> tuple[str, ...]:
    return tuple(_KEY_PART.findall(text))


def _comment(line: str, start: int) -> str:
    rest = line[start:].strip()
    if rest and not rest.startswith("#"):
        raise FormatError(f"unexpected {rest!r} after a value")
    return rest


def _value_end(text: str, pos: int) -> tuple[int, bool]:
    """Where the TOML value starting at ``pos`` ends (strings of every kind, and arrays or
    inline tables however deep, may span lines), and whether it holds a comment."""
    depth, commented = 0, False
    while pos < len(text):
        char = text[pos]
        if text.startswith(('"""', "'''"), pos):
            close = text.find(text[pos : pos + 3], pos + 3)
            while close >= 0 and text[pos] == '"' and _escaped(text, close):
                close = text.find('"""', close + 1)
            if close < 0:
                raise FormatError("a multi-line string is not closed")
            pos = close + 3
            while pos < len(text) and text[pos] == text[pos - 1]:  # """a"""" ends in a quote
                pos += 1
            continue
        if char in "\"'":
            pos = _string_end(text, pos)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char in "#\n" and depth == 0:
            return pos, commented
        elif char == "#":
            commented = True
            pos = text.find("\n", pos)
            pos = len(text) if pos < 0 else pos
            continue
        pos += 1
    return pos, commented


def _escaped(text: str, index: int) -> bool:
    slashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return slashes % 2 == 1


def _string_end(text: str, pos: int) -> int:
    quote, pos = text[pos], pos + 1
    while pos < len(text) and text[pos] != quote and text[pos] != "\n":
        pos += 2 if quote == '"' and text[pos] == "\\" else 1
    return pos + 1


# -- writing the items back -----------------------------------------------------------------------


class _Writer:
    """Writes items in the canonical layout, knowing the key path of every value."""

    def __init__(self, exprs: dict[KeyPath, Expr]) -> None:
        self.exprs = exprs
        self.lines: list[str] = []
        self.table: KeyPath = ()
        self.counters: dict[tuple[str, ...], int] = {}

    def write(self, items: list[_Item]) -> str:
        for item in items:
            match item.kind:
                case "blank":
                    if self.lines and self.lines[-1] != "" and not _is_header(self.lines[-1]):
                        self.lines.append("")
                case "comment":
                    self.lines.append(item.text)
                case "header":
                    self.header(item)
                case "value":
                    self.value(item)
                case _:
                    raise AssertionError(item.kind)
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def header(self, item: _Item) -> None:
        name = ".".join(item.key)
        path = tuple(_unquote(k) for k in item.key)
        if item.array:
            index = self.counters[path] = self.counters.get(path, -1) + 1
            self.table = (*path, index)
        else:
            self.table = path
        block = 0  # the comment lines right above the header belong to it
        while block < len(self.lines) and self.lines[-1 - block].startswith("#"):
            block += 1
        at = len(self.lines) - block
        if at > 0 and self.lines[at - 1] != "":
            self.lines.insert(at, "")
        text = f"[[{name}]]" if item.array else f"[{name}]"
        self.lines.append(_with_comment(text, item.comment))

    def value(self, item: _Item) -> None:
        key = ".".join(item.key)
        path = (*self.table, *(_unquote(k) for k in item.key))
        if item.commented:
            lines = item.text.split("\n")
        else:
            lines = self.render(item.text, path, len(key) + 3, inline=False)
        lines[0] = f"{key} = {lines[0]}"
        lines[-1] = _with_comment(lines[-1], item.comment)
        self.lines.extend(lines)

    def render(self, raw: str, path: KeyPath, used: int, *, inline: bool) -> list[str]:
        """The value's lines; ``used`` columns of the first are taken by ``key = ``; ``inline``
        inside an inline table, which must stay on one line."""
        value = tomllib.loads(f"v = {raw}")["v"]
        expr = self.exprs.get(path)
        if expr is not None and isinstance(value, str):
            flat = _basic(show(expr))
            if inline or used + len(flat) <= WIDTH:
                return [flat]
            return ['"""', *(_escape(line) for line in layout(expr, WIDTH)), '"""']
        if isinstance(value, dict):
            return [self.inline_table(value, raw, path)]
        return [_toml(value) or raw]

    def inline_table(self, value: dict[str, Any], raw: str, path: KeyPath) -> str:
        if not all(_bare_key(k) and _toml(v) for k, v in value.items()):
            return raw
        parts = [
            f"{k} = {self.render(_toml(v), (*path, k), 0, inline=True)[0]}"
            for k, v in value.items()
        ]
        return "{ " + ", ".join(parts) + " }" if parts else "{}"


def _is_header(line: str) -> bool:
    return line.startswith("[")


def _with_comment(text: str, comment: str) -> str:
    return f"{text}  {comment}" if comment else text


def _unquote(key: str) -> str:
    if key[:1] == '"':
        value: str = tomllib.loads(f"k = {key}")["k"]
        return value
    return key[1:-1] if key[:1] == "'" else key


def _bare_key(key: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]+", key) is not None


def _toml(value: Any) -> str:
    """``value`` in TOML, one line, the one way; "" for what is kept as written (floats,
    dates, nested tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _multi(value) if "\n" in value else _basic(value)
    if isinstance(value, list):
        parts = [_toml(v) for v in value]
        return "[" + ", ".join(parts) + "]" if all(parts) else ""
    return ""


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\f": "\\f", "\r": "\\r"}


def _escape(text: str) -> str:
    """``text`` escaped for a TOML basic string (no newlines in it)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def _basic(text: str) -> str:
    return f'"{_escape(text)}"'


def _multi(text: str) -> str:
    return '"""\n' + "\n".join(_escape(line) for line in text.split("\n")) + '"""'
