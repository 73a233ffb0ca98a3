"""The shape of the code, read from its source: no import cycle, no function over 60 lines, and
every ``match`` closed (a dispatcher over classes or enum members ends in
``case _: assert_never(...)``, any other match in an explicit ``case _:``).

The import graph counts every import a module makes, at its top, inside functions and under
``TYPE_CHECKING`` alike: a cycle is a cycle whether or not Python resolves it at run time.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mostate"
LONGEST = 60
sys.setrecursionlimit(10_000)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _imports(name: str) -> set[str]:
    """The modules of the package ``name`` imports (a submodule imported through its package,
    ``from . import x``, is an import of the submodule alone)."""
    package = name if MODULES[name].name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.add(target if target in MODULES else base)
    return {m for m in out if m in MODULES and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    graph = {name: _imports(name) for name in MODULES}
    assert graph["mostate.engine"], "the graph sees imports"
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def _functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield name, node


def test_no_function_is_over_60_lines() -> None:
    long = [
        f"{name}.{fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"  # type: ignore[operator]
        for name, fn in _functions()
        if fn.end_lineno - fn.lineno + 1 > LONGEST  # type: ignore[operator]
    ]
    assert long == []


def _dispatch(pattern: ast.pattern) -> bool:
    """Whether a case pattern dispatches on a class or an enum member, and no more."""
    match pattern:
        case ast.MatchClass(patterns=[], kwd_patterns=[]):
            return True
        case ast.MatchValue(value=ast.Attribute()):
            return True
        case ast.MatchOr(patterns=alternatives):
            return all(_dispatch(p) for p in alternatives)
        case _:
            return False


def _closed(match: ast.Match) -> str | None:
    """What is wrong with how a ``match`` ends (``None``: nothing)."""
    last = match.cases[-1]
    wildcard = isinstance(last.pattern, ast.MatchAs) and last.pattern.pattern is None
    if not wildcard or last.guard is not None:
        return "falls through without case _"
    cases = match.cases[:-1]
    dispatcher = all(c.guard is None and _dispatch(c.pattern) for c in cases)
    calls = {
        n.func.id
        for n in ast.walk(last)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    if dispatcher and "assert_never" not in calls:
        return "a dispatcher that does not end in assert_never"
    return None


def test_every_match_is_closed() -> None:
    wrong = [
        f"{name}:{node.lineno}: {why}"
        for name, tree in TREES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Match) and (why := _closed(node)) is not None
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("match x:\n    case A():\n        pass\n", "falls through"),
        ("match x:\n    case A():\n        pass\n    case _:\n        pass\n", "assert_never"),
        ("match x:\n    case A(b=1):\n        pass\n    case _:\n        pass\n", None),
        (
            "match x:\n    case A() | B():\n        f()\n    case _:\n        assert_never(x)\n",
            None,
        ),
    ],
)
def test_the_closing_rule(source: str, why: str | None) -> None:
    match = ast.parse(source).body[0]
    assert isinstance(match, ast.Match)
    found = _closed(match)
    assert (found is None) if why is None else (found is not None and why in found)


CLI = {name: tree for name, tree in TREES.items() if name.startswith("mostate.cli")}


def _handlers() -> Iterator[tuple[str, ast.FunctionDef]]:
    """Each function a command runs (``set_defaults(handler=...)``), with its module."""
    for name, tree in CLI.items():
        named = {
            kw.value.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "set_defaults"
            for kw in node.keywords
            if kw.arg == "handler" and isinstance(kw.value, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in named:
                yield name, node


def test_every_command_handler_is_under_40_lines() -> None:
    found = list(_handlers())
    assert len(found) > 20, "the handlers are found"
    long = [
        f"{name}.{fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"  # type: ignore[operator]
        for name, fn in found
        if fn.end_lineno - fn.lineno + 1 > 40  # type: ignore[operator]
    ]
    assert long == []


def _options_added(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value)


OWN = {("mostate.cli.campaign", "--format"): "campaign plan's has a third choice, syncml"}
"""Commands whose option of a shared name means something else, and what."""


def test_shared_options_are_declared_once_as_option_groups() -> None:
    shared = ("--spec", "--format", "--timeout", "--rlimit", "--flags-as", "--root")
    where: dict[str, list[str]] = {option: [] for option in shared}
    for name, tree in CLI.items():
        for option in _options_added(tree):
            if option in where and (name, option) not in OWN:
                where[option].append(name)
    assert all(len(modules) == 1 for modules in where.values()), where


def test_no_command_module_imports_anothers_private_names() -> None:
    private = [
        f"{name}: {node.module}.{alias.name}"
        for name, tree in CLI.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level and node.module
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []
