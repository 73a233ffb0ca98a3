"""The conformance kit: compare a DM implementation of your own with the spec, step by step.

You write an *adapter*: an object with ``apply(request) -> Answer`` (send one request to your
implementation, return its status and query result in mostate's JSON form) and ``observe()``
(read back the device's state as a state document, only the part you can see, or ``None`` when
you can see nothing). A *factory* returns a fresh adapter on an empty device; it is called once
per example. :func:`conformance_test` turns the factory into a pytest-collectable test class::

    from mostate.testing import Answer, conformance_test

    class MyAdapter:
        def __init__(self):
            self.device = MyDevice()
        def apply(self, request):
            status, result = self.device.handle(request.to_json())
            return Answer(status, result)
        def observe(self):
            return self.device.dump()

    TestMyDevice = conformance_test(MyAdapter)

Each step sends the same request to the reference engine and to the adapter and compares the
status, the result, and the observed state (a field an observed instance record leaves out is
not compared; instance names always are). Before any random sequence, the kit sends the
edge-complete suite of a small scope (:meth:`Universe.suite`: every request in every state of
one service with two instance names), so a device wrong on a single transition there fails on
every seed. The first divergence fails the test with a :class:`Divergence`, minimised to a
1-minimal trace in JSON lines whose ``expect`` fields hold what the device answered, so
``mostate check`` reports it again.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeAlias, cast

import attrs
from hypothesis import Phase
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, run_state_machine_as_test

from ..engine import Engine
from ..model import FLAGS, DeviceState, Outcome, Request
from ..rules import Spec
from ..trace import Trace
from .coverage import DEFAULT_SCOPE, Coverage, Scope, Universe
from .reach import path_to
from .stateful import as_spec, ident, send_rules
from .strategies import DEFAULT_POOLS, Pools, aim, drawn_states

_FIELDS = frozenset({*FLAGS, "params"})

FIND = (Phase.explicit, Phase.reuse, Phase.generate)
"""The Hypothesis phases the kit runs by default: no shrink phase. Hypothesis's shrinker can
take minutes on a long stateful failure; :func:`minimise` (dropping requests while a fresh
device still diverges) takes well under a second and gives a 1-minimal trace."""


@attrs.frozen
class Answer:
    """What an implementation answered: a status code and, for a query, its result.

    ``result`` is in mostate's JSON form: an instance name (or None) for ``get_active`` and
    ``in_use``, an instance record ``{"active", "default", "locked", "params"}`` for ``get``
    (fields you cannot see may be left out), None for commands.

    >>> Answer(200, "a").status
    200
    """

    status: int
    result: Any = None


class Adapter(Protocol):
    """The glue between the kit and an implementation under test.

    An adapter may also have a ``close()`` method; it is called at the end of each example.
    """

    def apply(self, request: Request) -> Answer:
        """Send one request to the implementation and return its answer."""

    def observe(self) -> dict[str, Any] | None:
        """The device's state as a state document (services -> instances -> fields), only
        the part the implementation shows; None when it shows none."""


AdapterFactory = Callable[[], Adapter]


class Divergence(AssertionError):
    """The implementation answered differently from the spec at the last step of ``trace``.

    ``jsonl`` is the trace with the device's answers as ``expect`` fields: save it and run
    ``mostate check`` on it to see the divergence again.
    """

    def __init__(self, trace: Trace, jsonl: str, mismatches: tuple[str, ...]) -> None:
        step = len(trace.requests)
        super().__init__(
            f"step {step}: " + "; ".join(mismatches) + "\nreplay with `mostate check`:\n" + jsonl
        )
        self.trace = trace
        self.jsonl = jsonl
        self.mismatches = mismatches


@attrs.frozen
class Step:
    """One compared step: the request, the spec's outcome, the device's answer and state."""

    request: Request
    expected: Outcome
    answer: Answer
    observed: dict[str, Any] | None


def project(reference: dict[str, Any], observed: dict[str, Any]) -> dict[str, Any]:
    """The reference state (or instance record) cut down to what the device shows: an observed
    instance record that leaves a field out hides that field of the reference.

    >>> ref = {"MMS": {"a": {"active": True, "default": False, "locked": False, "params": {}}}}
    >>> project(ref, {"MMS": {"a": {"active": True}}})
    {'MMS': {'a': {'active': True}}}
    """
    if reference.keys() <= _FIELDS and observed.keys() <= _FIELDS:
        return {k: v for k, v in reference.items() if k in observed}
    out: dict[str, Any] = {}
    for sname, instances in reference.items():
        seen = observed.get(sname) or {}
        out[sname] = {
            iname: project(record, seen[iname]) if isinstance(seen.get(iname), dict) else record
            for iname, record in instances.items()
        }
    return out


def _drop_empty(state: dict[str, Any]) -> dict[str, Any]:
    return {sname: insts for sname, insts in state.items() if insts}


def compare(expected: Outcome, answer: Answer, observed: dict[str, Any] | None) -> list[str]:
    """Every way the device's answer and state differ from the spec's outcome (empty: none).

    >>> from mostate import Engine, load_spec, Request
    >>> req = Request.from_json({"actor": "user", "op": "get_active", "service": "MMS"})
    >>> out = Engine(load_spec()).apply(DeviceState(), req)
    >>> compare(out, Answer(200, None), {}), compare(out, Answer(404, None), None)
    ([], ['status: device 404, spec 200'])
    """
    out = []
    if int(answer.status) != int(expected.status):
        why = f" ({expected.reason})" if expected.reason else ""
        out.append(f"status: device {answer.status}, spec {int(expected.status)}{why}")
    spec_result = expected.to_json(with_state=False)["result"]
    if isinstance(answer.result, dict) and isinstance(spec_result, dict):
        spec_result = project(spec_result, answer.result)
    if answer.result != spec_result:
        out.append(f"result: device {answer.result!r}, spec {spec_result!r}")
    if observed is not None:
        device = _drop_empty(observed)
        spec_state = project(expected.state.to_json(), device)
        if device != spec_state:
            out.append(f"state: device {json.dumps(device)}, spec {json.dumps(spec_state)}")
    return out


def _complete(obj: Any) -> bool:
    """Whether an observed state or record shows every field (so `mostate check` can take it)."""
    if not isinstance(obj, dict):
        return True
    if obj and obj.keys() <= _FIELDS:
        return obj.keys() == _FIELDS
    return all(_complete(record) for insts in obj.values() for record in insts.values())


def divergence_jsonl(start: DeviceState, steps: list[Step]) -> str:
    """A trace in JSON lines whose ``expect`` fields hold what the device answered.

    The status is on every line, the result on query lines, and the device's state on the last
    line when the device shows all of it.
    """
    lines = [json.dumps({"start": start.to_json()})]
    for index, step in enumerate(steps):
        expect: dict[str, Any] = {"status": step.answer.status}
        query = step.answer.result is not None or step.expected.result is not None
        if query and _complete(step.answer.result):
            expect["result"] = step.answer.result
        last = index == len(steps) - 1
        if last and step.observed is not None and _complete(step.observed):
            expect["state"] = _drop_empty(step.observed)
        lines.append(json.dumps({**step.request.to_json(), "expect": expect}))
    return "\n".join(lines) + "\n"


Outcomes: TypeAlias = dict[tuple[DeviceState, Request], Outcome]
"""The engine's outcomes already computed, by state and request: the sequences of a suite share
their prefixes, so a suite asks the engine each step once."""


class Comparison:
    """One device under test beside the reference engine (one example of a conformance run)."""

    def __init__(
        self,
        engine: Engine,
        device: Adapter,
        coverage: Coverage | None = None,
        outcomes: Outcomes | None = None,
    ) -> None:
        self.engine = engine
        self.device = device
        self.coverage = coverage
        self.outcomes = outcomes
        self.state = DeviceState()
        self.steps: list[Step] = []

    def expect(self, request: Request) -> Outcome:
        """The spec's outcome of ``request`` in the current state (remembered in
        ``outcomes`` when the comparison was given a dictionary)."""
        if self.outcomes is None:
            return self.engine.apply(self.state, request)
        key = (self.state, request)
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = self.engine.apply(self.state, request)
        return found

    def send(self, request: Request) -> None:
        """Send ``request`` to both; raise :class:`Divergence` when they disagree."""
        expected = self.expect(request)
        answer = self.device.apply(request)
        if not isinstance(answer, Answer):
            raise TypeError(f"the adapter's apply() must return an Answer, not {answer!r}")
        observed = self.device.observe()
        self.steps.append(Step(request, expected, answer, observed))
        if self.coverage is not None:
            self.coverage.record(expected.state, request, expected.status)
        mismatches = compare(expected, answer, observed)
        if mismatches:
            trace = Trace(DeviceState(), tuple(s.request for s in self.steps))
            raise Divergence(trace, divergence_jsonl(DeviceState(), self.steps), tuple(mismatches))
        self.state = expected.state

    def close(self) -> None:
        close = getattr(self.device, "close", None)
        if callable(close):
            close()


def replay(
    engine: Engine,
    factory: AdapterFactory,
    requests: Iterable[Request],
    coverage: Coverage | None = None,
    outcomes: Outcomes | None = None,
) -> Comparison:
    """Send a fixed sequence of requests to a fresh device; raise :class:`Divergence` at the
    first disagreement. Returns the finished comparison."""
    comparison = Comparison(engine, factory(), coverage, outcomes)
    try:
        for request in requests:
            comparison.send(request)
    finally:
        comparison.close()
    return comparison


def run_suite(
    engine: Engine,
    factory: AdapterFactory,
    sequences: Iterable[Sequence[Request]],
    coverage: Coverage | None = None,
) -> Divergence | None:
    """Send each request sequence to a fresh device (an edge-complete suite from
    :meth:`Universe.suite`, say); the first divergence, minimised, or None when there is none.

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> globex = load_factory("examples/adapters.py:GlobexAdapter")
    >>> found = run_suite(engine, globex, Universe(engine).suite())
    >>> [(r.actor.role.value, r.op, r.instance) for r in found.trace.requests][-1]
    ('user', 'set_active', 'b')
    """
    outcomes: Outcomes = {}
    for requests in sequences:
        try:
            replay(engine, factory, requests, coverage, outcomes)
        except Divergence as err:
            return minimise(engine, factory, err)
    return None


def conformance_machine(
    factory: AdapterFactory,
    spec: Spec | str | Path | None = None,
    *,
    pools: Pools = DEFAULT_POOLS,
    malformed: bool = True,
    coverage: Coverage | None = None,
) -> type[RuleBasedStateMachine]:
    """A state machine that drives a fresh device from ``factory`` and the reference engine
    with the same random requests (drawn from ``spec``), comparing them after every step.

    >>> from hypothesis.stateful import run_state_machine_as_test
    >>> class Mirror:  # an "implementation" that is the engine itself
    ...     def __init__(self):
    ...         self.engine, self.state = Engine(as_spec(None)), DeviceState()
    ...     def apply(self, request):
    ...         out = self.engine.apply(self.state, request)
    ...         self.state = out.state
    ...         return Answer(int(out.status), out.to_json()["result"])
    ...     def observe(self):
    ...         return self.state.to_json()
    >>> run_state_machine_as_test(conformance_machine(Mirror), settings=Settings(max_examples=3))
    """
    loaded = as_spec(spec)
    engine = Engine(loaded)

    drawn = drawn_states(loaded, pools)
    setup = st.integers(0, 3).flatmap(lambda n: st.just(DeviceState()) if n == 3 else drawn)
    namespace: dict[str, Any] = {
        "engine": engine,
        "factory": staticmethod(factory),
        "coverage": coverage,
        # The device starts empty; server requests (compared like any other step) take it to a
        # drawn state, so that every operation is then tried on instances with flags and locks.
        "set_up": initialize(goal=setup)(_set_up()),
        **send_rules(loaded, pools, malformed),
    }
    name = ident(getattr(factory, "__name__", "Adapter"))
    machine = type(f"Conform_{name}", (_ConformanceBase,), namespace)
    return cast(type[RuleBasedStateMachine], machine)


def _set_up() -> Callable[[_ConformanceBase, DeviceState], None]:
    # Hypothesis marks the function object itself, so each machine needs a function of its own.
    def set_up(self: _ConformanceBase, goal: DeviceState) -> None:
        self.reach(goal)

    return set_up


class _ConformanceBase(RuleBasedStateMachine):
    engine: Engine
    factory: AdapterFactory
    coverage: Coverage | None

    def __init__(self) -> None:
        super().__init__()
        self.comparison = Comparison(self.engine, self.factory(), self.coverage)

    def reach(self, goal: DeviceState) -> None:
        for request in path_to(self.engine, goal):
            self.comparison.send(request)

    def send(self, request: Request, pick: int) -> None:
        self.comparison.send(aim(self.engine, self.comparison.state, request, pick))

    def teardown(self) -> None:
        self.comparison.close()


def conformance_test(
    factory: AdapterFactory,
    spec: Spec | str | Path | None = None,
    *,
    settings: Settings | None = None,
    pools: Pools = DEFAULT_POOLS,
    malformed: bool = True,
    scope: Scope | None = DEFAULT_SCOPE,
) -> type[Any]:
    """A ``unittest.TestCase`` class (pytest collects it) comparing the implementation behind
    ``factory`` with ``spec`` (default: the shipped ccs.toml): first on the edge-complete suite
    of ``scope`` (None: no suite), then on random request sequences.

    >>> conformance_test(lambda: None).__name__
    'TestConformance'
    """
    machine = conformance_machine(factory, spec, pools=pools, malformed=malformed)
    engine = Engine(as_spec(spec))
    budget = Settings(phases=FIND) if settings is None else settings

    def run_test(self: Any) -> None:
        if scope is not None:
            found = run_suite(engine, factory, Universe(engine, scope).suite())
            if found is not None:
                raise found
        try:
            run_state_machine_as_test(machine, settings=budget)
        except Divergence as err:
            raise minimise(engine, factory, err) from None

    case: type[Any] = type("TestConformance", (machine.TestCase,), {"runTest": run_test})
    return case


def load_factory(ref: str) -> AdapterFactory:
    """The adapter factory named by ``MODULE:FACTORY``: a dotted module (imported with the
    current folder on the path) or a ``.py`` file (its folder is put on the path, so that the
    adapter can import the implementation beside it). Raises ValueError saying what is wrong.

    >>> load_factory("mostate.testing.conformance:Answer") is Answer
    True
    >>> load_factory("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: expected MODULE:FACTORY, got 'nowhere'
    """
    module_ref, sep, attr = ref.rpartition(":")
    if not sep or not module_ref or not attr:
        raise ValueError(f"expected MODULE:FACTORY, got {ref!r}")
    try:
        module = _import(module_ref)
    except ImportError as err:
        raise ValueError(f"cannot import {module_ref!r}: {err}") from None
    except SyntaxError as err:
        raise ValueError(f"{module_ref!r} has a syntax error: {err}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"{module_ref!r} has no callable {attr!r}")
    return cast(AdapterFactory, factory)


def _import(module_ref: str) -> ModuleType:
    if module_ref.endswith(".py"):
        path = Path(module_ref).resolve()
        if not path.is_file():
            raise ImportError(f"no file {module_ref}")
        _on_path(str(path.parent))
        spec = importlib.util.spec_from_file_location(f"_mostate_adapter_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {module_ref}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    _on_path(os.getcwd())
    return importlib.import_module(module_ref)


def _on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)


def minimise(engine: Engine, factory: AdapterFactory, found: Divergence) -> Divergence:
    """A 1-minimal form of a divergence: requests are dropped one at a time (last first) while
    a fresh device still diverges on the final request. Hypothesis shrinks the random choices;
    this removes the steps it could not (for example no-op requests that kept a name in use).
    """
    requests = list(found.trace.requests)
    best = found
    index = len(requests) - 2
    while index >= 0:
        trial = requests[:index] + requests[index + 1 :]
        result = _diverges_at_end(engine, factory, trial)
        if result is not None:
            requests, best = trial, result
        index -= 1
    return best


def _diverges_at_end(
    engine: Engine, factory: AdapterFactory, requests: list[Request]
) -> Divergence | None:
    try:
        replay(engine, factory, requests)
    except Divergence as err:
        return err if len(err.trace.requests) == len(requests) else None
    return None
