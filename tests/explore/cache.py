"""A memo of the engine's steps, shared by equivalent steps: the explorer's one optimisation.

:class:`CachingEngine` is an :class:`~mostate.engine.Engine` whose :meth:`evaluate` looks a step
up under its canonical form (:func:`.symmetry.canonical_step`) and, the first time, asks the real
engine. An equivalent step gets the cached transition renamed back to its own names: the same
status, clause, violations and (renamed) next state and result. No rule is evaluated here.

Two kinds of work are saved: requests to interchangeable instances of one state (``delete i4``
and ``delete i5`` when neither exists) are run once, and the second runs that
:meth:`Engine.independence_violations` makes on states with one flag flipped are looked up,
since the explorer sends the same steps from those states anyway.

The memo keeps two generations (:meth:`CachingEngine.next_generation`, called by the explorer at
each new BFS depth): a flipped state is at most one step from the original, so its steps are
needed within two depths, and the memory stays proportional to the BFS frontier.
"""

from __future__ import annotations

from mostate.engine import Engine, Transition
from mostate.explore.symmetry import Form, canonical_step, form, inverse, rename_state
from mostate.model import Clause, DeviceState, Outcome, Request
from mostate.rules import Spec


class _Entry:
    """One cached step: the transition on canonical names, its canonical next state, and the
    independence verdict once asked."""

    __slots__ = ("independence", "next", "transition")

    def __init__(self, transition: Transition) -> None:
        self.transition = transition
        self.next: DeviceState | None = None
        self.independence: tuple[Clause, ...] | None = None


class CachingEngine(Engine):
    """An engine that runs each canonical step once (``names``: the interchangeable names; with
    none, steps are cached under their own names only).

    Renaming a step renames its outcome: no rule depends on a name's spelling, and a
    ``the(...)`` with several candidates is an error the engine answers 500 to (the obligation
    ``unique_the``), never a choice by name.

    >>> from mostate import Actor, load_spec
    >>> engine = CachingEngine(load_spec(), ("i1", "i2"))
    >>> add = Request(Actor.server(), "add", "MMS", "i2")
    >>> engine.evaluate(DeviceState(), add).outcome.state.to_json()["MMS"]["i2"]["locked"]
    False
    >>> other = engine.evaluate(DeviceState(), Request(Actor.server(), "add", "MMS", "i1"))
    >>> sorted(other.outcome.state.service("MMS").instances)
    ['i1']
    >>> engine.hits, engine.misses
    (1, 1)
    """

    def __init__(self, spec: Spec, names: tuple[str, ...] = ()) -> None:
        super().__init__(spec)
        self.names = names
        self.reuse = bool(names)
        self.hits = 0
        self.misses = 0
        self._current: dict[tuple[DeviceState, Request], _Entry] = {}
        self._previous: dict[tuple[DeviceState, Request], _Entry] = {}
        self._forms: dict[DeviceState, Form] = {}
        self._interned: dict[DeviceState, DeviceState] = {}

    def next_generation(self) -> None:
        """Forget the steps not used since the generation before this one."""
        self._previous, self._current = self._current, {}
        self._forms, self._interned = {}, {}

    def form(self, state: DeviceState) -> Form:
        """The state's canonical form, computed once per generation."""
        found = self._forms.get(state)
        if found is None:
            found = form(state, self.names)
            # one object per canonical state: the memo's key lookups then compare by identity
            canon = self._interned.setdefault(found.state, found.state)
            found = self._forms[state] = Form(canon, found.renaming, found.holder)
        return found

    def entry(self, state: DeviceState, request: Request) -> tuple[_Entry, dict[str, str]]:
        """The cached step for ``(state, request)`` and the renaming to its canonical names."""
        if self.reuse:
            canon, creq, renaming = canonical_step(state, request, self.names, self.form(state))
        else:
            canon, creq, renaming = state, request, {}
        key = (canon, creq)
        found = self._current.get(key)
        if found is None:
            found = self._previous.pop(key, None)
            if found is None:
                self.misses += 1
                found = _Entry(super().evaluate(canon, creq))
            else:
                self.hits += 1
            self._current[key] = found
        else:
            self.hits += 1
        return found, renaming

    def evaluate(self, state: DeviceState, request: Request) -> Transition:
        found, renaming = self.entry(state, request)
        step = found.transition
        if all(old == new for old, new in renaming.items()):
            return step
        back = inverse(renaming)
        return Transition(state, request, _rename_outcome(step.outcome, back), step.violations)

    def step(self, state: DeviceState, request: Request) -> tuple[Transition, DeviceState]:
        """The step from a canonical state, on canonical names, with its canonical next state."""
        found, _ = self.entry(state, request)
        if found.next is None:
            nxt = found.transition.outcome.state
            found.next = self.form(nxt).state if self.names else nxt
        return found.transition, found.next

    def independence(self, state: DeviceState, request: Request) -> tuple[Clause, ...]:
        """:meth:`Engine.independence_violations`, asked once per canonical step."""
        found, _ = self.entry(state, request)
        if found.independence is None:
            first = found.transition.outcome if state == found.transition.before else None
            found.independence = self.independence_violations(state, request, first)
        return found.independence


def _rename_outcome(outcome: Outcome, renaming: dict[str, str]) -> Outcome:
    result = outcome.result
    if isinstance(result, str):
        result = renaming.get(result, result)
    return Outcome(
        outcome.status,
        rename_state(outcome.state, renaming),
        outcome.clause,
        result,
        outcome.reason,
    )
