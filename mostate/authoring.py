"""What an editor asks of a spec file: its errors, what a word means, where a name is defined.

The language server (:mod:`mostate.langserver`) answers with these; they need no editor and no
LSP library, so they are tested directly. Positions are 0-based (line, character), as editors
count; :class:`~mostate.errors.Location` is 1-based, as people do.

* :func:`problems`: every error of the text (the loader recovers and goes on), each with the
  range of its culprit;
* :func:`hover`: the documentation of an operation, invariant, property, argument, built-in
  name, function or domain under the cursor;
* :func:`definition`: where the operation, invariant, property or argument under the cursor is
  declared.
"""

from __future__ import annotations

import re

import attrs

from .errors import SpecError
from .printer import show
from .rules import Operation, Refusal, Spec
from .spec import parse_spec
from .tomlpos import locate


@attrs.frozen
class Span:
    """A range of one line: 0-based ``line``, characters ``start`` to ``end`` (exclusive)."""

    line: int
    start: int
    end: int


@attrs.frozen
class Problem:
    """An error of the file, where it is, and the name probably meant."""

    span: Span
    message: str
    suggestion: str | None = None


def check(text: str, source: str) -> tuple[Spec | None, tuple[Problem, ...]]:
    """The spec ``text`` holds and no problem, or None and every problem found.

    >>> text = '[ops.a]\\n[[ops.a.steps]]\\nrefuse = 404\\nwhen = "activ(target)"\\n'
    >>> spec, found = check(text, "s.toml")
    >>> spec, [(p.span, p.suggestion) for p in found]
    (None, [(Span(line=3, start=8, end=13), 'active')])
    """
    try:
        return parse_spec(text, source), ()
    except SpecError as err:
        lines = text.split("\n")
        return None, tuple(_problem(e, lines) for e in err.errors)


def problems(text: str, source: str) -> tuple[Problem, ...]:
    """Every error of spec ``text`` (none for a spec that loads)."""
    return check(text, source)[1]


def _problem(error: SpecError, lines: list[str]) -> Problem:
    line = max(error.location.line, 1) - 1
    text = lines[line] if line < len(lines) else ""
    start = max(error.location.column - 1, 0)
    length = 1
    culprit = error.culprit
    if culprit:
        if not text.startswith(culprit, start) and culprit in text:
            start = text.index(culprit)
        length = len(culprit)
    return Problem(Span(line, start, start + length), error.message, error.suggestion)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*'?")


def word_at(text: str, line: int, character: int) -> tuple[str, Span] | None:
    """The name under a 0-based position, and its span.

    >>> word_at('when = "locked(target)"', 0, 10)
    ('locked', Span(line=0, start=8, end=14))
    """
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    for match in _WORD.finditer(lines[line]):
        if match.start() <= character <= match.end():
            return match.group().rstrip("'"), Span(line, match.start(), match.end())
    return None


BUILTINS: dict[str, str] = {
    "exists": "exists(x): whether instance x exists (before the step; exists'(x) after it).",
    "active": "active(x): whether x is the Active instance of its service (active'(x): after).",
    "default": "default(x): whether x is the Default instance of its service (default'(x): after).",
    "locked": "locked(x): whether x is Locked: a user may change neither its parameters nor "
    "its flags (locked'(x): after).",
    "params": "params(x): x's parameter map (params'(x): after). As an argument type: a map.",
    "unchanged": "unchanged(x): every field of x is the same after the step as before.",
    "with": 'with(m, k, v): the parameter map m with k set to v, e.g. with(params(i), "MMSC", v).',
    "without": "without(m, k): the parameter map m with no value for k.",
    "all": "all(i [in DOMAIN], body): body holds for every instance of the domain.",
    "any": "any(i [in DOMAIN], body): body holds for some instance of the domain.",
    "count": "count(i [in DOMAIN], body): how many instances of the domain satisfy body (an int; "
    "compared with an integer it is proved for any number of instances).",
    "the": "the(i [in DOMAIN], body): the one instance satisfying body, or none (a step where "
    "several qualify breaks the obligation unique_the).",
    "service": "DOMAIN service (the default): the instances of the target's service.",
    "others": "DOMAIN others: the instances of every other service.",
    "device": "DOMAIN device: every instance of every service.",
    "target": "target: the instance the request names (an operation with target = false has none).",
    "actor": "actor: who sent the request, user or server.",
    "user": "user: the device's user (may not set Locked, nor change a Locked instance).",
    "server": "server: the DM server (never refused because of Locked).",
    "status": "status: the status the step answered (200, 215, 404, 418, 425...); transition "
    "properties only.",
    "result": "result: a query's answer (an instance, or none); transition properties of queries.",
    "declined": "declined: the request reached the confirmation point with the user's 'no', so "
    "it stopped there with 215; transition properties only.",
    "declines": "declines: a server's request carries the user's 'no' to a confirmation, whether "
    "or not the operation asks for one; transition properties only.",
    "none": "none: no instance (the value of an instance? that names none).",
    "i": "i: in an effect, the instance whose next value the expression gives.",
}
"""What each built-in name, function and domain of the expression language means."""


def hover(text: str, spec: Spec | None, line: int, character: int) -> str | None:
    """Markdown documentation of the name under the position, or None.

    >>> from mostate import load_spec, default_spec_path
    >>> text = default_spec_path().read_text()
    >>> number = text.split("\\n").index("[ops.set_locked]")
    >>> print(hover(text, load_spec(), number, 6).splitlines()[0])
    **operation set_locked** (target; args: value: bool)
    """
    found = word_at(text, line, character)
    if found is None:
        return None
    word = found[0]
    if spec is not None:
        described = _describe(spec, word)
        if described is not None:
            return described
    return BUILTINS.get(word)


def _describe(spec: Spec, word: str) -> str | None:
    if word in spec.ops:
        return _operation(spec.ops[word])
    for inv in spec.invariants:
        if inv.name == word:
            return f"**invariant {inv.name}**\n\n{inv.doc}\n\n`{show(inv.expr)}`"
    for prop in spec.properties:
        if prop.name == word:
            ops = ", ".join(sorted(prop.ops)) if prop.ops is not None else "every operation"
            actors = ", ".join(sorted(r.value for r in prop.roles))
            return (
                f"**property {prop.name}** ({ops}; {actors})\n\n{prop.doc}\n\n`{show(prop.expr)}`"
            )
    for op in spec.ops.values():
        for decl in op.args:
            if decl.name == word:
                kind = "name" if decl.is_name else decl.type.value
                return f"**argument {word}**: {kind}{'?' if decl.optional else ''} ({op.name})"
    return None


def _operation(op: Operation) -> str:
    args = ", ".join(f"{a.name}: {a.type.value}{'?' if a.optional else ''}" for a in op.args)
    head = f"**operation {op.name}** ({'target' if op.has_target else 'no target'}"
    head += f"; args: {args})" if args else ")"
    steps = []
    for step in op.steps:
        if isinstance(step, Refusal):
            steps.append(f"- refuse {int(step.status)} when `{show(step.when)}`")
        else:
            steps.append(f"- {type(step).__name__.lower()} {step.name.split(': ', 1)[-1]}")
    result = f"\n\nresult: `{show(op.result)}`" if op.result is not None else ""
    return f"{head}\n\n{op.doc}{result}\n\n" + "\n".join(steps)


def definition(text: str, source: str, line: int, character: int) -> Span | None:
    """Where the operation, invariant, property or argument under the position is declared
    (its table header, or its ``args`` entry), or None.

    >>> from mostate import default_spec_path
    >>> text = default_spec_path().read_text()
    >>> number = next(n for n, l in enumerate(text.split("\\n")) if 'ops = ["add"]' in l)
    >>> definition(text, "ccs.toml", number, 9).line == text.split("\\n").index("[ops.add]")
    True
    """
    found = word_at(text, line, character)
    if found is None:
        return None
    word = found[0]
    locations = locate(text, source)
    for section in ("ops", "invariants", "properties", "independence"):
        where = locations.get((section, word))
        if where is not None:
            return Span(where.line - 1, 0, len(text.split("\n")[where.line - 1]))
    for path, where in locations.items():
        if len(path) == 4 and path[0] == "ops" and path[2] == "args" and path[3] == word:
            row = text.split("\n")[where.line - 1]
            start = row.find(word)
            return Span(where.line - 1, max(start, 0), max(start, 0) + len(word))
    return None


def operation_headers(text: str, source: str) -> dict[str, int]:
    """Each operation's name and the 0-based line of its ``[ops.NAME]`` header."""
    return {
        str(path[1]): where.line - 1
        for path, where in locate(text, source).items()
        if len(path) == 2 and path[0] == "ops"
    }
