"""Generated code against the interpreter: the same answer to every request, on random traces.

For the shipped spec, every seeded-bug file under ``specs/mutants/``, a spec with extra
properties that exercise what the shipped one does not (``the`` in a property, quantifiers over
other services, ``count`` of a fresh name), and a sample of the mutants ``mostate mutate`` makes,
each step is taken by both back ends and everything is compared: the raw transition of
:meth:`Engine.evaluate` (status, next state, clause, result, reason, and every clause the step
breaks, in order) and the outcome of :meth:`Engine.apply`, monitored (every 500 and the property
it names) and not.

Each back end also follows its own states (``assert_same_chains``): generated code told that a
service keeps the invariants (the engine's own previous state) checks only what a step changed
(the target of a point effect), and that path is held to the interpreter's whole checks too.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mostate import (
    DeviceState,
    Engine,
    FrozenMap,
    Instance,
    Request,
    Service,
    Spec,
    load_spec,
    parse_spec,
)
from mostate.mutation import generate
from mostate.testing import requests

ROOT = Path(__file__).resolve().parents[2]
CCS = ROOT / "specs" / "ccs.toml"
FILES = [
    CCS,
    *sorted(p for p in (ROOT / "specs" / "mutants").glob("*.toml") if p.name != "manifest.toml"),
]

EXTRA = """
[properties.the_active_target]
doc = "Reads a the() over the device in a property (evaluated as written, ambiguity and all)."
expr = "the(i in device, active'(i) and i == target) == none or status == 200"

[properties.others_keep_their_count]
expr = "count(i in others, active(i)) == count(i in others, active'(i))"

[properties.a_lock_somewhere_stays]
expr = "any(i in device, locked(i)) -> any(i in device, locked'(i)) or not exists'(target)"
ops = ["delete", "replace", "set_active", "set_default", "set_locked"]

[properties.unnamed_instances_stay_blank]
expr = '''
count(i, not exists'(i)) > 0 and count(i in device, active'(i)) < count(i in device, not active(i))
'''

[properties.in_use_is_the_only_candidate]
ops = ["in_use"]
expr = "result == the(i, active(i) or default(i)) or declined"
"""
EXTRA_SPEC = parse_spec(CCS.read_text(encoding="utf-8") + EXTRA, "ccs-extra.toml")


def _instances() -> st.SearchStrategy[Instance]:
    flag = st.sampled_from((False, False, True))
    params = st.dictionaries(st.sampled_from(("MMSC", "proxy")), st.just("x"), max_size=1)
    return st.builds(Instance, flag, flag, flag, params.map(FrozenMap))


def raw_states() -> st.SearchStrategy[DeviceState]:
    """Any state, invariants broken or not: the monitor's 500s come from such states too."""
    service = st.dictionaries(st.sampled_from("abc"), _instances(), min_size=1, max_size=3)
    services = st.dictionaries(st.sampled_from(("MMS", "WAP")), service.map(FrozenMap).map(Service))
    return services.map(lambda s: DeviceState(FrozenMap(s)))


SHIPPED = load_spec(CCS)
_SPECS: dict[Path, Spec] = {}


_ENGINES: dict[int, tuple[Spec, list[tuple[Engine, Engine]]]] = {}


def _engines(spec: Spec) -> list[tuple[Engine, Engine]]:
    """Generated and interpreted engines, monitored and not, built once per spec."""
    if id(spec) not in _ENGINES:
        pairs = [
            (Engine(spec, monitor=monitor), Engine(spec, monitor=monitor, backend="interpreted"))
            for monitor in (True, False)
        ]
        _ENGINES[id(spec)] = (spec, pairs)  # the spec is kept, so its id is not reused
    return _ENGINES[id(spec)][1]


def assert_same_answers(spec: Spec, start: DeviceState, trace: list[Request]) -> None:
    """Take ``trace`` from ``start`` through both back ends, comparing every answer."""
    engines = _engines(spec)
    state = start
    for request in trace:
        generated, interpreted = (
            engines[0][0].evaluate(state, request),
            engines[0][1].evaluate(state, request),
        )
        assert generated == interpreted, request
        for fast, reference in engines:
            assert fast.apply(state, request) == reference.apply(state, request), request
        state = interpreted.outcome.state


_CHAINED: dict[int, tuple[Spec, Engine, Engine]] = {}


def assert_same_chains(spec: Spec, start: DeviceState, trace: list[Request]) -> None:
    """Take ``trace`` from ``start`` through monitored engines of both back ends, each on the
    states it produced itself: from the second step on, the generated engine knows the services
    it checked, and checks only what a step changes in them."""
    if id(spec) not in _CHAINED:
        _CHAINED[id(spec)] = (spec, Engine(spec), Engine(spec, backend="interpreted"))
    _, fast, reference = _CHAINED[id(spec)]
    mine = theirs = start
    for request in trace:
        got, expected = fast.apply(mine, request), reference.apply(theirs, request)
        assert got == expected, request
        assert got.state.to_json() == expected.state.to_json()
        assert list(got.state.to_json().get(str(request.service), {})) == list(
            expected.state.to_json().get(str(request.service), {})
        )  # name order, though generated code appends new instances
        mine, theirs = got.state, expected.state


def traces(spec: Spec) -> st.SearchStrategy[tuple[DeviceState, list[Request]]]:
    # Drawn flag by flag, without filtering: states that keep the invariants and states that
    # do not (the monitor's 500s), at a fraction of the cost of the kit's filtered states.
    start = st.one_of(raw_states(), st.just(DeviceState()))
    return st.tuples(start, st.lists(requests(spec), max_size=15))


@pytest.fixture(autouse=True)
def _quiet_monitor() -> None:
    # Mutants break properties on purpose: the engine's warning per refused step is noise here.
    logging.getLogger("mostate.engine").setLevel(logging.ERROR)


@pytest.mark.slow  # a few seconds per spec
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@settings(max_examples=40)
@given(data=st.data())
def test_shipped_specs_and_mutants(path: Path, data: st.DataObject) -> None:
    spec = _SPECS.setdefault(path, load_spec(path))
    start, trace = data.draw(traces(spec))
    assert_same_answers(spec, start, trace)


@settings(max_examples=15)
@given(trace=traces(SHIPPED))
def test_shipped_spec_quick(trace: tuple[DeviceState, list[Request]]) -> None:
    assert_same_answers(SHIPPED, *trace)


@settings(max_examples=25)
@given(trace=traces(SHIPPED))
def test_shipped_spec_chained(trace: tuple[DeviceState, list[Request]]) -> None:
    assert_same_chains(SHIPPED, *trace)


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@settings(max_examples=40)
@given(data=st.data())
def test_shipped_specs_and_mutants_chained(path: Path, data: st.DataObject) -> None:
    spec = _SPECS.setdefault(path, load_spec(path))
    start, trace = data.draw(traces(spec))
    assert_same_chains(spec, start, trace)


@pytest.mark.slow
@settings(max_examples=100)
@given(trace=traces(EXTRA_SPEC))
def test_properties_the_shipped_spec_does_not_use(trace: tuple[DeviceState, list[Request]]) -> None:
    assert_same_answers(EXTRA_SPEC, *trace)
    assert_same_chains(EXTRA_SPEC, *trace)


GENERATED = generate(SHIPPED)
SAMPLE = GENERATED[:: max(1, len(GENERATED) // 40)]


@pytest.mark.slow  # about 1 s per mutant
@pytest.mark.parametrize("mutant", SAMPLE, ids=lambda m: m.id)
@settings(max_examples=15)
@given(data=st.data())
def test_generated_mutants(mutant: object, data: st.DataObject) -> None:
    spec = mutant.spec  # type: ignore[attr-defined]
    start, trace = data.draw(traces(spec))
    assert_same_answers(spec, start, trace)
    assert_same_chains(spec, start, trace)


def test_the_sample_covers_every_mutation_operator() -> None:
    # A sample of one operator only would leave the generator untested on the others.
    assert len({m.operator for m in SAMPLE}) >= len({m.operator for m in GENERATED}) // 2


def test_a_target_an_effect_writes_on_one_branch_is_read_from_the_view_after_it() -> None:
    # set_active without its 404: the switch rewrites every held instance in a loop, and an
    # absent target in a branch of its own. The check of set_active_switches read the
    # target's Active flag from that branch's local, unbound when the target was held
    # (UnboundLocalError), since a mutant sample of mutate's new operators took this one.
    missing = (
        '[[ops.set_active.steps]]\nname = "missing"\nrefuse = 404\nwhen = "not exists(target)"\n\n'
    )
    text = CCS.read_text(encoding="utf-8")
    assert missing in text
    spec = parse_spec(text.replace(missing, "", 1), "no-404.toml")
    state = DeviceState.from_json({"MMS": {"a": {}}})
    for value in (True, False):
        ask = {"actor": "server", "op": "set_active", "service": "MMS", "instance": "a"}
        assert_same_answers(spec, state, [Request.from_json({**ask, "value": value})])
