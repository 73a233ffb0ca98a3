"""The C printer held to the engine: ``compile --emit c`` builds clean under strict warnings
(gcc, and clang where present), and the C functions answer every request as ``Engine.apply``
does, for the shipped spec, every shipped mutant and a sample of ``mostate mutate``'s mutants,
both actors, confirmations and declines, states that keep the invariants and states that do not.
Each shipped mutant's C is also found to differ from the shipped spec's engine: the differential
test would catch that bug in a C client.

``MOSTATE_C_SANITIZE=1`` builds every library with AddressSanitizer and
UndefinedBehaviorSanitizer (the process must preload their runtimes):
``test_the_differential_tests_pass_under_sanitizers`` runs this module so.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mostate import DeviceState, Engine, Request, Spec, load_spec, parse_spec
from mostate.alphabet import Alphabet
from mostate.alphabet import requests as alphabet_requests
from mostate.codegen import Unsupported
from mostate.codegen.cmodule import emit_c
from mostate.mutation import generate
from mostate.testing import requests
from tests.codegen.test_differential import raw_states
from tests.conftest import CCS, MUTANTS, ROOT

cffi = pytest.importorskip("cffi", reason="cffi (the .[c] extra) is not installed")
from mostate.clib import (  # noqa: E402 (after the skip: it imports cffi)
    CapacityError,
    CEngine,
    CompilerMissing,
    HostError,
    NotRepresentable,
    build,
    compiler,
    sanitizer_runtime,
)

try:
    CC = compiler()
except CompilerMissing as err:  # pragma: no cover - CI has gcc
    pytest.skip(f"no C compiler here: {err}", allow_module_level=True)

SANITIZE = os.environ.get("MOSTATE_C_SANITIZE") == "1"
SHIPPED = load_spec(CCS)
NO_C_FORM = {"switch-over-device": "an effect beyond the target's service"}
"""Shipped mutants the C printer refuses, with why (the engine interprets them)."""
MUTANT_FILES = sorted(p for p in MUTANTS.glob("*.toml") if p.name != "manifest.toml")
C_MUTANTS = [p for p in MUTANT_FILES if p.stem not in NO_C_FORM]
# Under the sanitizers every build takes seconds: a third of the mutants (each operation's C
# is printed by the same code paths), the shipped spec in full.
SANITIZED_MUTANTS = C_MUTANTS[::3] if SANITIZE else C_MUTANTS
GENERATED = generate(SHIPPED)
SAMPLE = GENERATED[:: max(1, len(GENERATED) // 5)]


@pytest.fixture(scope="session")
def c_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of built libraries per session: each spec is compiled once."""
    return tmp_path_factory.mktemp("c-builds")


_C: dict[tuple[int, bool], tuple[Spec, CEngine]] = {}


def c_engine(spec: Spec, cache: Path, *, check: bool = True) -> CEngine:
    """The C of ``spec`` built (unoptimised: the tests run little and build much) and loaded
    once per session."""
    key = (id(spec), check)
    if key not in _C:
        built = build(emit_c(spec, "ccs"), sanitize=SANITIZE, optimise="-O0", cache=cache)
        _C[key] = (spec, CEngine(spec, built, check=check))  # the spec kept: its id stays its own
    return _C[key][1]


_ENGINES: dict[tuple[int, bool], tuple[Spec, Engine]] = {}


def engine(spec: Spec, monitor: bool = True) -> Engine:
    key = (id(spec), monitor)
    if key not in _ENGINES:
        _ENGINES[key] = (spec, Engine(spec, monitor=monitor))
    return _ENGINES[key][1]


@pytest.fixture(autouse=True)
def _quiet_monitor() -> None:
    logging.getLogger("mostate.engine").setLevel(logging.ERROR)


def assert_same(spec: Spec, cache: Path, start: DeviceState, trace: list[Request]) -> int:
    """Take ``trace`` from ``start`` through the C and the engine, monitored and not, comparing
    every outcome (status, clause and its location, reason, result, next state); the number of
    requests C could carry."""
    state, compared = start, 0
    for request in trace:
        expected = engine(spec).apply(state, request)
        try:
            got = c_engine(spec, cache).apply(state, request)
        except NotRepresentable:
            continue  # a request C's types rule out (a bool as a string, NUL in a string)
        compared += 1
        assert _comparable(got) == _comparable(expected), request
        unmonitored = c_engine(spec, cache, check=False).apply(state, request)
        assert _comparable(unmonitored) == _comparable(engine(spec, False).apply(state, request))
        state = expected.state
    return compared


def _comparable(outcome: Any) -> Any:
    """An outcome as C gives it: a 400's reason names no value (C does not repr a string)."""
    reason = outcome.reason if int(outcome.status) != 400 or "missing" in outcome.reason else None
    return (outcome.status, outcome.clause, reason, outcome.result, outcome.state)


def traces(spec: Spec) -> st.SearchStrategy[tuple[DeviceState, list[Request]]]:
    start = st.one_of(raw_states(), st.just(DeviceState()))
    return st.tuples(start, st.lists(requests(spec), max_size=12))


# -- the build -----------------------------------------------------------------------------------


def _syntax(cc: str, spec: Spec, folder: Path) -> subprocess.CompletedProcess[str]:
    module = emit_c(spec, "ccs")
    (folder / "ccs.h").write_text(module.header)
    (folder / "ccs.c").write_text(module.source)
    strict = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fsyntax-only"]
    return subprocess.run([cc, *strict, str(folder / "ccs.c")], capture_output=True, text=True)


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_the_shipped_spec_builds_clean_under_strict_warnings(cc: str, tmp_path: Path) -> None:
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not installed here")
    done = _syntax(cc, SHIPPED, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow  # a compile per mutant
def test_every_shipped_mutant_builds_clean_or_is_refused_by_name(tmp_path: Path) -> None:
    for path in MUTANT_FILES:
        spec = load_spec(path)
        if path.stem in NO_C_FORM:
            with pytest.raises(Unsupported, match=NO_C_FORM[path.stem]):
                emit_c(spec)
            continue
        done = _syntax(CC, spec, tmp_path)
        assert done.returncode == 0, (path.stem, done.stderr)


def test_names_and_strings_are_printed_safely(tmp_path: Path) -> None:
    # A string literal with a quote, a backslash, a trigraph, a comment's end and non-ASCII
    # text: the C says the same, and builds clean.
    odd = 'a"b\\??=*/é'
    step = '[[ops.replace.steps]]\nname = "locked"\nrefuse = 425\nactors = ["user"]\n'
    text = CCS.read_text(encoding="utf-8").replace(
        step + 'when = "locked(target)"',
        step + 'when = \'locked(target) or value == "a\\"b\\\\??=*/é"\'',
    )
    assert text.count("??=") == 1
    spec = parse_spec(text, "odd.toml")
    done = _syntax(CC, spec, tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"a\\"b\\\\\\?\\?=*/\\303\\251"' in (tmp_path / "ccs.c").read_text()
    built = c_engine(spec, tmp_path)
    state = DeviceState.from_json({"MMS": {"x": {}}})
    base = {"actor": "user", "op": "replace", "service": "MMS", "instance": "x", "param": "p"}
    for value in (odd, "plain"):
        request = Request.from_json({**base, "value": value})
        assert built.apply(state, request) == engine(spec).apply(state, request)
    refused = built.apply(state, Request.from_json({**base, "value": odd}))
    # The literal matched (the refusal fired, which the spec's property then calls a bug).
    assert (int(refused.status), refused.clause.name) == (500, "user_keeps_off_locked_instances")


def test_the_cli_writes_a_header_and_a_source(tmp_path: Path) -> None:
    from mostate.cli import main

    assert main(["compile", "--emit", "c", "--out-dir", str(tmp_path), str(CCS)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ccs.c", "ccs.h"]
    assert main(["compile", "--emit", "c", str(MUTANTS / "switch-over-device.toml")]) == 2
    assert main(["compile", "--emit", "c", "--prefix", "not a name"]) == 2


def test_a_service_beyond_the_built_maximum_is_refused_cleanly(tmp_path: Path) -> None:
    built = build(emit_c(SHIPPED, "ccs"), optimise="-O0", cache=tmp_path,
                  extra=("-DCCS_MAX_INSTANCES=2",))  # fmt: skip
    small = CEngine(SHIPPED, built)
    two = DeviceState.from_json({"MMS": {"a": {}, "b": {}}})
    add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "c"})
    with pytest.raises(CapacityError):
        small.apply(two, add)
    get = Request.from_json({"actor": "user", "op": "get", "service": "MMS", "instance": "a"})
    assert small.apply(two, get) == engine(SHIPPED).apply(two, get)
    three = DeviceState.from_json({"MMS": {"a": {}, "b": {}, "c": {}}})
    with pytest.raises(CapacityError):
        small.apply(three, get)


def test_a_failing_host_callback_decides_nothing(c_cache: Path) -> None:
    c = CEngine(SHIPPED, build(emit_c(SHIPPED, "ccs"), optimise="-O0", cache=c_cache))
    failing = c.ffi.callback(
        "int(void *, ccs_params, const char *, const char *, ccs_params *)", lambda *_: 1
    )
    setattr(c._host, "with", failing)  # `with` is a Python keyword
    state = DeviceState.from_json({"MMS": {"a": {}}})
    replace = Request.from_json({"actor": "server", "op": "replace", "service": "MMS",
                                 "instance": "a", "param": "p", "value": "v"})  # fmt: skip
    with pytest.raises(HostError):
        c.apply(state, replace)
    get = Request.from_json({"actor": "server", "op": "get", "service": "MMS", "instance": "a"})
    assert c.apply(state, get) == engine(SHIPPED).apply(state, get)  # no map edited: decided


# -- held to the engine ----------------------------------------------------------------------------


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=traces(SHIPPED))
def test_the_shipped_spec_in_c_answers_as_the_engine(
    c_cache: Path, trace: tuple[DeviceState, list[Request]]
) -> None:
    assert_same(SHIPPED, c_cache, *trace)


@pytest.mark.slow  # a build and a few hundred requests per spec
@pytest.mark.parametrize("path", SANITIZED_MUTANTS, ids=lambda p: p.stem)
@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_shipped_mutant_in_c_answers_as_its_engine(
    c_cache: Path, path: Path, data: st.DataObject
) -> None:
    spec = _spec(path)
    assert_same(spec, c_cache, *data.draw(traces(spec)))


@pytest.mark.slow
@pytest.mark.parametrize("mutant", SAMPLE, ids=lambda m: m.id)
@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_sample_of_generated_mutants_in_c(
    c_cache: Path, mutant: Any, data: st.DataObject
) -> None:
    spec = mutant.spec
    try:
        emit_c(spec, "ccs")
    except Unsupported:
        assert mutant.operator == "widen_domain"  # an effect over the device: interpreted
        return
    assert_same(spec, c_cache, *data.draw(traces(spec)))


@pytest.mark.slow
@pytest.mark.parametrize("path", C_MUTANTS, ids=lambda p: p.stem)
def test_the_differential_test_finds_every_shipped_mutant(c_cache: Path, path: Path) -> None:
    """The mutant's C, run where the shipped engine runs, differs on some request: a C client
    built from a buggy spec is caught by holding it to the right one. Every request of a
    small world, from every state the shipped spec reaches in it, nearest first."""
    mutant, right = c_engine(_spec(path), c_cache), engine(SHIPPED)
    world = Alphabet(("MMS",), ("a", "b", "c"), ("p",), ("v",), declines=True)
    alphabet = alphabet_requests(SHIPPED, world)
    seen, frontier = {DeviceState()}, [DeviceState()]
    while frontier:
        following = []
        for state in frontier:
            for request in alphabet:
                expected = right.apply(state, request)
                if _comparable(mutant.apply(state, request)) != _comparable(expected):
                    return
                if expected.state not in seen:
                    seen.add(expected.state)
                    following.append(expected.state)
        frontier = following
    pytest.fail(f"{path.stem}: its C answers as the shipped spec in {len(seen)} states")


def test_the_sample_spans_operators() -> None:
    assert len({m.operator for m in SAMPLE}) >= 4


_SPECS: dict[Path, Spec] = {}


def _spec(path: Path) -> Spec:
    return _SPECS.setdefault(path, load_spec(path))


# -- under the sanitizers ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(SANITIZE, reason="this is the sanitized run itself")
def test_the_differential_tests_pass_under_sanitizers(tmp_path: Path) -> None:
    """This module again, every library built with -fsanitize=address,undefined (any report
    aborts the run), the shipped spec and the shipped mutants."""
    runtimes = sanitizer_runtime()
    if len(runtimes) < 2:
        pytest.skip(f"{CC} names no ASan/UBSan runtime to preload (libasan, libubsan)")
    env = {
        **os.environ,
        "MOSTATE_C_SANITIZE": "1",
        "LD_PRELOAD": " ".join(runtimes),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        "HYPOTHESIS_PROFILE": "dev",
    }
    env.pop("CI", None)  # the dev profile: fewer examples, the point is the sanitizers
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         f"{Path(__file__)}", "-k", "answers_as", "--basetemp", str(tmp_path / "run")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "ERROR: AddressSanitizer" not in done.stderr
