"""The engine's own stateful test: random request sequences, every property checked per step.

:func:`engine_machine` builds a Hypothesis ``RuleBasedStateMachine`` for a spec. Each example
starts from a state the spec reaches (:func:`~mostate.testing.strategies.states`) and applies
requests drawn from the spec (:func:`~mostate.testing.strategies.requests`). After every step it
checks, all derived from the spec through the engine:

* ``Transition.violations`` of :meth:`Engine.evaluate` (invariants and transition properties);
* :meth:`Engine.independence_violations` (the two-run properties);
* that a refused or declined request leaves the state as it was (kit check
  ``refusal_changed_state``, which holds for any spec, whatever properties it declares).

A failure raises :class:`PropertyViolation`, whose ``trace`` is a replayable
:class:`~mostate.trace.Trace`; Hypothesis shrinks it before it is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, cast

from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from ..engine import Engine
from ..model import Clause, DeviceState, Request, Status
from ..rules import Spec
from ..spec import load_spec
from ..trace import Trace
from .strategies import AIMS, DEFAULT_POOLS, Pools, aim, malformed_requests, requests_for, states

KIT_CHECKS = ("refusal_changed_state",)
"""The names of the checks the kit adds to a spec's own properties."""

_REFUSAL_CHANGED = Clause("kit", "refusal_changed_state")


class PropertyViolation(AssertionError):
    """A step broke a property; ``trace`` replays it and ``broken`` names what it broke."""

    def __init__(self, trace: Trace, broken: tuple[Clause, ...]) -> None:
        names = ", ".join(f"{c.kind} {c.name}" for c in broken)
        super().__init__(
            f"step {len(trace.requests)} breaks {names}; replay with `mostate run`:\n"
            + trace.to_jsonl()
        )
        self.trace = trace
        self.broken = broken

    @property
    def names(self) -> frozenset[str]:
        """The names of the broken properties of the spec (the kit's own checks left out)."""
        return frozenset(c.name for c in self.broken if c.kind != "kit")


def as_spec(spec: Spec | str | Path | None) -> Spec:
    """A loaded spec from a spec, a path, or None (the shipped ccs.toml).

    >>> as_spec(None).name
    'ccs'
    """
    return spec if isinstance(spec, Spec) else load_spec(spec)


class StepChecker:
    """Checks one step of a spec with every property it declares (or the chosen ones).

    >>> from mostate import Request
    >>> checker = StepChecker(Engine(load_spec()))
    >>> add = Request.from_json({"actor": "server", "op": "add", "service": "S", "instance": "a"})
    >>> checker.check(DeviceState(), add)
    ()
    """

    def __init__(self, engine: Engine, properties: Iterable[str] | None = None) -> None:
        self.engine = engine
        known = set(engine.spec.property_names()) | set(KIT_CHECKS)
        chosen = None if properties is None else frozenset(properties)
        unknown = sorted((chosen or frozenset()) - known)
        if unknown:
            raise ValueError(
                f"spec {engine.spec.name!r} has no property {unknown[0]!r} "
                f"(it has: {', '.join(sorted(known))})"
            )
        self.properties = chosen

    def check(self, state: DeviceState, request: Request) -> tuple[Clause, ...]:
        """Every chosen property the step from ``state`` breaks (empty when it keeps them all)."""
        step = self.engine.evaluate(state, request)
        broken = list(step.violations)
        broken.extend(self.engine.independence_violations(state, request))
        if step.outcome.status is not Status.OK and step.outcome.state != state:
            broken.append(_REFUSAL_CHANGED)
        if self.properties is not None:
            broken = [c for c in broken if c.name in self.properties]
        return tuple(broken)

    def next_state(self, state: DeviceState, request: Request) -> DeviceState:
        """The state after a step that broke nothing."""
        return self.engine.evaluate(state, request).outcome.state


def engine_machine(
    spec: Spec | str | Path | None = None,
    *,
    properties: Iterable[str] | None = None,
    pools: Pools = DEFAULT_POOLS,
    malformed: bool = True,
) -> type[RuleBasedStateMachine]:
    """A state machine that checks ``spec`` with random request sequences.

    ``properties`` restricts the check to the named properties (default: all of them, and the
    kit's own :data:`KIT_CHECKS`); ``malformed=False`` leaves out the rule that sends
    requests the engine must answer 400. Use ``engine_machine(path).TestCase`` as a pytest
    test class, or :func:`hypothesis.stateful.run_state_machine_as_test`.

    >>> from hypothesis import settings
    >>> from hypothesis.stateful import run_state_machine_as_test
    >>> run_state_machine_as_test(engine_machine(), settings=settings(max_examples=5))
    """
    loaded = as_spec(spec)
    namespace: dict[str, Any] = {"checker": StepChecker(Engine(loaded), properties)}
    namespace["begin"] = initialize(start=states(loaded, pools))(_starter())
    namespace.update(send_rules(loaded, pools, malformed))
    machine = type(f"SpecMachine_{ident(loaded.name)}", (_SpecMachineBase,), namespace)
    return cast(type[RuleBasedStateMachine], machine)


def send_rules(spec: Spec, pools: Pools, malformed: bool) -> dict[str, Any]:
    """One Hypothesis rule per operation of ``spec`` (and one for malformed requests), each
    calling ``self.send(request, pick)`` on the machine it is put in.

    One rule per operation lets Hypothesis's swarm testing leave some operations out of some
    examples, which makes long runs of the others (and deep states) likely.

    >>> sorted(send_rules(load_spec(), Pools(), False))[:2]
    ['send_add', 'send_delete']
    """
    rules: dict[str, Any] = {}
    for name, op in sorted(spec.ops.items()):
        rule_name = f"send_{ident(name)}"
        rules[rule_name] = rule(request=requests_for(op, pools), pick=AIMS)(_sender(rule_name))
    if malformed:
        bad = malformed_requests(spec, pools)
        rules["send_malformed"] = rule(request=bad, pick=AIMS)(_sender("send_malformed"))
    return rules


class _Sender(Protocol):
    def send(self, request: Request, pick: int) -> None: ...


def _starter() -> Callable[[_SpecMachineBase, DeviceState], None]:
    # Hypothesis marks the function object itself, so each rule needs a function of its own.
    def begin(self: _SpecMachineBase, start: DeviceState) -> None:
        self.check_empty_device()
        self.start_from(start)

    return begin


def _sender(name: str) -> Callable[[_Sender, Request, int], None]:
    def send(self: _Sender, request: Request, pick: int) -> None:
        self.send(request, pick)

    send.__name__ = send.__qualname__ = name  # what Hypothesis prints for the step
    return send


def ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


class _SpecMachineBase(RuleBasedStateMachine):
    """What every spec machine does; :func:`engine_machine` adds the rules."""

    checker: StepChecker

    def __init__(self) -> None:
        super().__init__()
        self.start = DeviceState()
        self.state = self.start
        self.sent: list[Request] = []

    def start_from(self, start: DeviceState) -> None:
        self.start = self.state = start

    def check_empty_device(self) -> None:
        """The empty device must keep the invariants: breaking one is a violation of no request."""
        broken = self.checker.engine.state_violations(DeviceState())
        if self.checker.properties is not None:
            broken = tuple(c for c in broken if c.name in self.checker.properties)
        if broken:
            raise PropertyViolation(Trace(DeviceState(), (), broken[0].name), broken)

    def send(self, request: Request, pick: int) -> None:
        self.apply(aim(self.checker.engine, self.state, request, pick))

    def apply(self, request: Request) -> None:
        self.sent.append(request)
        broken = self.checker.check(self.state, request)
        if broken:
            names = [c.name for c in broken if c.kind != "kit"]
            trace = Trace(self.start, tuple(self.sent), names[0] if names else None)
            raise PropertyViolation(trace, broken)
        self.state = self.checker.next_state(self.state, request)
