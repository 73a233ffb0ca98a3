"""What one request can do toward a goal, proved: the facts the guided planner relies on, held
to the engine on every step of a small scope, for the shipped spec and for a spec whose one
request sets two flags at once."""

from __future__ import annotations

import itertools

import pytest

from mostate import DeviceState, Engine, Request, Role, Spec, load_spec, parse_spec
from mostate.bfs import Search, walk
from mostate.explore.plan import Goal, plan_requests
from mostate.progress import Progress
from mostate.rules import conjuncts
from mostate.symbolic import Budget
from mostate.symbolic.progress import prove_progress

from ..conftest import CCS

SPEC = load_spec()
FLAGS = ("active", "default", "locked")
THREE = "active(target) and default(target) and locked(target)"
GOALS = (
    "exists(target) and active(target)",
    "active(target) and locked(target)",
    THREE,
    "exists(target) and not (params(target) == {})",
    "exists(target) and count(i, exists(i)) == 1",
    "not any(i, locked(i)) and active(target) and not default(target)",
)
# set_active also locks the instance it activates: one request makes two flags true.
SWITCH = 'effect.active = "if i == target then value else active(i) and not value"\n'
LOCKING = parse_spec(
    CCS.read_text(encoding="utf-8").replace(
        SWITCH, SWITCH + 'effect.locked = "if i == target then value or locked(i) else locked(i)"\n'
    ),
    str(CCS),
)


def proved(spec: Spec, text: str) -> Progress:
    return prove_progress(spec, conjuncts(Goal.parse(text, "MMS", "new").expr))


def test_each_flag_is_its_own_group_and_only_its_own_request_to_the_target_advances_it() -> None:
    progress = proved(SPEC, THREE)
    assert progress.groups() == ((0,), (1,), (2,)) and progress.unproved == ()
    for k, flag in enumerate(FLAGS):
        advancing = {
            (op, on) for op in SPEC.ops for on in (True, False) if progress.may_advance(op, on, [k])
        }
        assert advancing == {(f"set_{flag}", True)}


def test_a_request_that_makes_two_conjuncts_true_joins_their_groups() -> None:
    # add with parameters creates the instance and gives it parameters in one request.
    assert proved(SPEC, GOALS[3]).groups() == ((0, 1),)
    # The mutant's set_active makes active and locked true at once; the shipped one cannot.
    assert proved(SPEC, "active(target) and locked(target)").groups() == ((0,), (1,))
    assert proved(LOCKING, "active(target) and locked(target)").groups() == ((0, 1),)


def test_a_query_the_solver_gives_up_on_proves_nothing() -> None:
    goal = Goal.parse(THREE, "MMS", "new")
    progress = prove_progress(SPEC, conjuncts(goal.expr), budget=Budget(timeout_ms=1, rlimit=1))
    assert progress.unproved and "gave up" in progress.unproved[0]
    assert progress.groups() == ((0, 1, 2),)
    for k, flag in enumerate(FLAGS):  # what the solver was asked stays possible, both ways
        assert all(progress.may_advance(op, on, [k]) for op in ("delete", f"set_{flag}")
                   for on in (True, False))  # fmt: skip
    # What needs no solver stays proved: set_active writes no Default flag, and a query writes
    # no field at all.
    assert not progress.may_advance("set_active", True, [1])
    assert not progress.may_advance("get", True, [0, 1, 2])


def scope_steps(spec: Spec) -> list[tuple[DeviceState, Request, DeviceState]]:
    """Every server step of the scope {a, new} (two parameter values), from every state the
    empty device reaches in it."""
    engine = Engine(spec)
    names = DeviceState.from_json({"MMS": {"a": {}}})
    goal = Goal.parse("exists(target)", "MMS", "new")
    requests = plan_requests(engine, names, goal, frozenset({Role.SERVER}), 2)
    search = Search([DeviceState()])
    walk(search, lambda _, s: ((r, engine.apply(s, q).state) for r, q in enumerate(requests)))
    return [
        (state, request, engine.apply(state, request).state)
        for state, request in itertools.product(search.states, requests)
    ]


@pytest.mark.slow  # about 2 s: every step of a small scope, for seven goals and two specs
def test_no_step_of_the_engine_contradicts_a_proved_fact() -> None:
    cases = [(SPEC, g) for g in GOALS] + [(LOCKING, "active(target) and locked(target)")]
    steps = {id(spec): scope_steps(spec) for spec in (SPEC, LOCKING)}
    for spec, text in cases:
        goal, progress = Goal.parse(text, "MMS", "new"), proved(spec, text)
        flips = 0
        for before, request, after in steps[id(spec)]:
            was, now = goal.met(before), goal.met(after)
            made = [k for k in range(progress.size) if now[k] and not was[k]]
            on = request.service == "MMS" and request.instance == "new"
            for k in made:
                assert progress.may_advance(request.op, on, [k]), (text, before, request, k)
            for a, b in itertools.combinations(made, 2):
                assert (a, b) not in progress.apart, (text, before, request, a, b)
            # The estimate a search takes from the facts drops by at most one a request.
            assert progress.estimate(was) <= progress.estimate(now) + 1, (text, before, request)
            flips += len(made)
        assert flips > 0, text  # conjuncts do become true in the scope
    assert min(len(s) for s in steps.values()) > 5_000  # the scope is walked
