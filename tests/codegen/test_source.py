"""The generated source: built from the AST alone, readable, and used by the engine by default."""

from __future__ import annotations

import ast
import builtins
import logging
import re
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, load_spec, parse_spec
from mostate.codegen import Unsupported, source
from mostate.codegen.build import successor_source
from mostate.codegen.runtime import NAMESPACE, interned_values
from mostate.explore import ExploreScope
from mostate.explore.scope import scope_requests

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "specs" / "ccs.toml",
    *sorted(p for p in (ROOT / "specs" / "mutants").glob("*.toml") if p.name != "manifest.toml"),
]
# The generator's own local names: the request's service and target, views, loop variables.
LOCALS = re.compile(
    r"(state|request|check|valid|S|N|svcs|sv|pre|dec|args|res|after|out|broken|ok|err|why"
    r"|a\d+|[nrsvx]\d+|c\d+|cf\d+|_k\d+)"
)


def _names(text: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_name_in_generated_source_is_the_generators_own(path: Path) -> None:
    spec = load_spec(path)
    for op in spec.ops.values():
        try:
            text, constants = source(spec, op)
        except Unsupported:
            continue
        for name in _names(text):
            assert name in NAMESPACE or LOCALS.fullmatch(name) or hasattr(builtins, name), (
                op.name,
                name,
            )
        assert set(constants) <= {f"_k{i}" for i in range(len(constants))}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_name_in_a_successor_is_the_generators_own(path: Path) -> None:
    """The explorer's successor form too: one module per concrete request of a scope."""
    spec = load_spec(path)
    own = set(NAMESPACE) | set(interned_values())
    checked = 0
    for request in scope_requests(spec, ExploreScope.of(2, 2, services=2, declines=True)):
        try:
            text, constants = successor_source(spec, spec.ops[request.op], request)
        except Unsupported:
            continue
        for name in _names(text):
            assert name in own or LOCALS.fullmatch(name) or hasattr(builtins, name), name
        assert "state" not in _names(text) and "request" not in _names(text)
        assert set(constants) <= {f"_k{i}" for i in range(len(constants))}
        checked += 1
    assert checked > 0


def test_argument_values_reach_a_successor_only_as_repr_literals() -> None:
    spec = load_spec(FILES[0])
    hostile = 'x"); import os; os.system("true'
    request = Request.from_json(
        {
            "actor": "user",
            "op": "replace",
            "service": "MMS",
            "instance": "a",
            "param": "p",
            "value": hostile,
        }
    )
    text, _ = successor_source(spec, spec.ops["replace"], request)
    assert "import os" not in "".join(_names(text))
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(hostile not in line or repr(hostile) in line for line in body)


def test_spec_text_reaches_the_source_only_as_repr_literals() -> None:
    # Names and docs full of quotes and newlines: they may only appear inside repr'd literals.
    text = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")
    hostile = 'x"); import os; os.system("true'
    text = text.replace('name = "missing"', f"name = {hostile!r}".replace("'", "'''"), 1)
    spec = parse_spec(text, "hostile.toml")
    generated, _ = source(spec, spec.ops["delete"])
    assert "import os" not in "".join(_names(generated))
    assert all(
        hostile not in line or repr(f"not found: delete: {hostile}") in line
        for line in generated.splitlines()
    )
    engine = Engine(spec)
    missing = Request.from_json(
        {"actor": "user", "op": "delete", "service": "MMS", "instance": "a"}
    )
    assert engine.apply(DeviceState(), missing).clause.name == f"delete: {hostile}"


def test_the_shipped_spec_is_generated_whole(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(load_spec())
    with caplog.at_level(logging.INFO, logger="mostate.engine"):
        for op in engine.spec.ops:
            engine.evaluate(DeviceState(), Request.from_json({"actor": "user", "op": op}))
    assert not [r for r in caplog.records if "interpreted" in r.getMessage()]


def test_an_operation_beyond_the_generator_is_interpreted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = load_spec(ROOT / "specs" / "mutants" / "switch-over-device.toml")
    engine = Engine(spec)
    request = Request.from_json(
        {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a", "value": True}
    )
    start = DeviceState.from_json({"MMS": {"a": {}}, "WAP": {"b": {"active": True}}})
    with caplog.at_level(logging.INFO, logger="mostate.engine"):
        outcome = engine.apply(start, request)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(logged) == 1 and "set_active is interpreted" in logged[0]
    assert outcome == Engine(spec, backend="interpreted").apply(start, request)
    engine.apply(start, request)  # logged once, not per request
    assert len([r for r in caplog.records if r.levelno == logging.INFO]) == 1


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="backend"):
        Engine(load_spec(), backend="jit")
