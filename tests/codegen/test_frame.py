"""Frame reasoning in generated code: effects that change the target alone, and checks of what
a step changed on a service known to keep the invariants.

The differential tests hold every path to the interpreter on random traces; the cases here are
the ones a random trace rarely builds: a point effect that breaks an invariant at the target of a
large service, an effect that is not a point update breaking one at another instance, and a
state that breaks an invariant somewhere the step does not touch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, load_spec, parse_spec
from mostate.codegen import source
from mostate.frozenmap import FrozenMap

ROOT = Path(__file__).resolve().parents[2]
CCS_TEXT = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")
SHIPPED = load_spec(ROOT / "specs" / "ccs.toml")


@pytest.fixture(autouse=True)
def _quiet_monitor() -> None:
    logging.getLogger("mostate.engine").setLevel(logging.ERROR)


def _mutant(old: str, new: str) -> str:
    assert CCS_TEXT.count(old) == 1, old
    return CCS_TEXT.replace(old, new)


def _server(op: str, instance: str, **args: object) -> Request:
    return Request.from_json(
        {"actor": "server", "op": op, "service": "MMS", "instance": instance, **args}
    )


def _chain(spec_text: str, start: DeviceState, requests: list[Request]) -> None:
    """Both back ends, each on its own states, give the same outcomes."""
    spec = parse_spec(spec_text, "mutant.toml")
    fast, reference = Engine(spec), Engine(spec, backend="interpreted")
    mine = theirs = start
    for request in requests:
        got, expected = fast.apply(mine, request), reference.apply(theirs, request)
        assert got == expected, request
        mine, theirs = got.state, expected.state


def _many(count: int) -> list[Request]:
    return [_server("add", f"i{k}") for k in range(count)]


@pytest.mark.parametrize("op", ["add", "delete", "replace", "delete_param", "set_locked"])
def test_point_effects_are_written_for_the_target_alone(op: str) -> None:
    text, _ = source(SHIPPED, SHIPPED.ops[op])
    assert "_rewrite_point(state, S, c1, N)" in text
    assert "for n" not in text.split("c1 =")[1].split("after =")[0]  # no walk to build c1


def test_a_switch_is_not_a_point_effect() -> None:
    # ``active(i) and not value`` changes the other instances: every record is rewritten.
    text, _ = source(SHIPPED, SHIPPED.ops["set_active"])
    assert "_rewrite(state, S, c1)" in text and "_rewrite_point" not in text


def test_add_checks_no_invariant_on_a_known_service() -> None:
    text, _ = source(SHIPPED, SHIPPED.ops["add"])
    server = text.split("def _server")[1]
    # The new instance's flags are known constants (all false): no count can grow and it
    # exists, so on a service known to keep the invariants none is checked; else all are.
    whole = server.split("if not valid:")[1]
    assert whole.count("sum(") == server.count("sum(") == 2
    assert whole.count("all(") == server.count("all(") == 1
    assert "if valid:" not in server


def test_a_point_effect_breaking_a_count_at_the_target_is_caught() -> None:
    # add makes the new instance Active: one_active breaks where another one already is (the
    # property that add creates a blank instance is left to users, so that it does not fire
    # first on a server's add).
    text = _mutant(
        'effect.exists = "exists(i) or i == target"',
        'effect.exists = "exists(i) or i == target"\neffect.active = "active(i) or i == target"',
    ).replace(
        "[properties.add_creates_a_blank_instance]",
        '[properties.add_creates_a_blank_instance]\nactors = ["user"]',
    )
    start = DeviceState.from_json({"MMS": {"a": {}}})
    _chain(text, start, [*_many(30), _server("add", "z")])
    spec = parse_spec(text, "mutant.toml")
    engine = Engine(spec)
    state = DeviceState()
    state = engine.apply(state, _server("add", "first")).state  # the first Active one is fine
    assert int(engine.apply(state, _server("add", "second")).status) == 500
    outcome = engine.apply(state, _server("add", "y"))
    assert int(outcome.status) == 500 and outcome.clause.name == "one_active"
    assert outcome.state is state


def test_an_effect_breaking_an_invariant_off_the_target_is_caught() -> None:
    # replace also makes every instance Default: not a point effect, one_default breaks at
    # instances the request does not name.
    text = _mutant(
        'effect.params = "if i == target then with(params(i), param, value) else params(i)"',
        'effect.params = "if i == target then with(params(i), param, value) else params(i)"\n'
        'effect.default = "exists(i)"',
    )
    replace = _server("replace", "i3", param="p", value="v")
    _chain(text, DeviceState(), [*_many(5), replace])
    engine = Engine(parse_spec(text, "mutant.toml"))
    state = DeviceState()
    for request in _many(5):
        state = engine.apply(state, request).state
    outcome = engine.apply(state, replace)
    assert int(outcome.status) == 500 and outcome.clause.name == "one_default"


def test_a_state_that_breaks_an_invariant_elsewhere_is_checked_whole() -> None:
    # Two Active instances before the step: a point step on a third still breaks one_active,
    # and the engine does not take the state for one that keeps the invariants.
    start = DeviceState.from_json({"MMS": {"a": {"active": True}, "b": {"active": True}}})
    engine = Engine(SHIPPED)
    for _ in range(2):
        outcome = engine.apply(start, _server("add", "c"))
        assert int(outcome.status) == 500 and outcome.clause.name == "one_active"
    _chain(CCS_TEXT, start, [_server("add", "c"), _server("add", "d")])


def test_a_package_of_adds_keeps_the_instances_in_name_order() -> None:
    engine = Engine(SHIPPED)
    state = DeviceState()
    names = [f"i{k}" for k in range(25)]
    for request in [_server("add", n) for n in names]:
        state = engine.apply(state, request).state
    assert list(state.service("MMS").instances) == sorted(names)
    assert state == DeviceState.from_json({"MMS": {n: {} for n in names}})
    assert state.service("MMS").instances == FrozenMap({n: state.instance("MMS", n) for n in names})


def test_an_invariant_the_step_cannot_touch_is_not_checked_on_a_valid_state() -> None:
    # set_active writes Active alone: one_default (a count of Default) holds after the step
    # as it held before, so only the check for a state not known to keep it counts Default.
    text, _ = source(SHIPPED, SHIPPED.ops["set_active"])
    server = text.split("def _server")[1]
    quick, whole = server.split("if valid:")[1].split("else:")
    assert quick.count("sum(") == 1 and "default)) <= 1" not in quick
    assert whole.split("if not ((c1.get")[0].count("sum(") == 2 and "default)) <= 1" in whole


def test_a_copy_nothing_reads_is_dropped_and_its_block_kept_whole() -> None:
    from mostate.codegen.python import print_module
    from mostate.codegen.residual import (
        PRE,
        TARGET,
        AddedTo,
        Copied,
        Exit,
        Function,
        Has,
        If,
        Let,
        Local,
        Module,
        Stmt,
        Store,
    )
    from mostate.codegen.unused import without_unused_copies
    from mostate.model import Clause, Status

    c1, c2, c3, x2, x3 = map(Local, ("c1", "c2", "c3", "x2", "x3"))

    def printed(*body: Stmt) -> list[str]:
        module = Module("m", (Function("_step", True, body),), ())
        return print_module(module).splitlines()[2:]

    def end(records: Local, point: bool) -> Exit:
        return Exit(Status.OK, Clause("effect", "e"), records, point, x3, None, None, ())

    copies = (
        If(Has(PRE, TARGET), (Let(c1, Copied(PRE)), Store(c1, TARGET, x2))),
        Let(c2, AddedTo(PRE, TARGET, x3)),
        Let(c3, Copied(c2)),
    )
    out = without_unused_copies((*copies, end(c2, True)), True)
    assert printed(*out) == [
        "def _step(svcs, S, N, pre):",
        "    if (N in pre):",
        "        pass",
        "    return (N, x3), ()",
    ]
    compile("\n".join(printed(*out)), "<test>", "exec")
    kept = without_unused_copies((*copies, end(c3, False)), True)  # c3 is read, so is c2
    assert printed(*kept) == [
        "def _step(svcs, S, N, pre):",
        "    if (N in pre):",
        "        pass",
        "    c2 = _add(pre, N, x3)",
        "    c3 = dict(c2)",
        "    return c3, ()",
    ]
