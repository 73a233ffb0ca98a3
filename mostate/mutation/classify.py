"""The verdict on one mutant: killed (by which properties), equivalent, survived, or unknown.

A mutant is **killed** when the Z3 verifier (:class:`mostate.symbolic.Verifier`, no trace
search) finds some check of the mutated operation VIOLATED: an invariant, a transition property,
an independence or an obligation every spec must meet. A violation is a counterexample the engine
has replayed, so a kill is never a solver artefact. By default the first check that breaks, in
the verifier's order (obligations first), names the kill, as PIT names the first killing test;
``every=True`` runs every check and names all that break (slower: a mutant that breaks an
obligation, say one whose effect creates every other name, leaves the solver searching for the
steps that keep it, which only finite models have). A mutant no check kills is compared with the
original by :func:`mostate.symbolic.diff.diff_specs` on the mutated operation: **equivalent** when
every branch is proved to behave the same for any number of instances (no property could kill
it), **survived** when diff gives a witness (a state and a request on which the two specs answer
differently, both outcomes replayed) that no property notices. Anything the solver gave up on is
**unknown**, never read as killed or equivalent.
"""

from __future__ import annotations

import time
from typing import Any, assert_never

import attrs

from ..errors import ReplayError
from ..rules import Spec
from ..symbolic import Budget, Undecided, Verifier, Violated, diff
from ..symbolic.diff import Different, Witness, diff_specs
from ..symbolic.verifier import DEFAULT_BUDGET, Check
from .mutants import Mutant

Z3 = "z3"
"""The checker name of a kill by :class:`mostate.symbolic.Verifier`."""


@attrs.frozen
class Killed:
    """Some check breaks: ``by`` holds (checker, property) pairs, sorted."""

    by: tuple[tuple[str, str], ...]

    @property
    def properties(self) -> frozenset[str]:
        return frozenset(name for _, name in self.by)


@attrs.frozen
class Equivalent:
    """Proved to behave as the original on the mutated operation, for any number of instances."""


@attrs.frozen
class Survived:
    """Behaves differently on ``witness`` (state, request, both outcomes) and no check kills it."""

    witness: Witness


@attrs.frozen
class Unknown:
    """Neither killed nor decided (the solver gave up, or a checker disagreed with the engine)."""

    reason: str


Verdict = Killed | Equivalent | Survived | Unknown


def label(verdict: Verdict) -> str:
    """The verdict's word: ``killed``, ``equivalent``, ``survived`` or ``unknown``.

    >>> label(Equivalent()), label(Killed((("z3", "one_active"),)))
    ('equivalent', 'killed')
    """
    match verdict:
        case Killed():
            return "killed"
        case Equivalent():
            return "equivalent"
        case Survived():
            return "survived"
        case Unknown():
            return "unknown"
        case _:
            assert_never(verdict)


@attrs.frozen
class Outcome:
    """A mutant with its verdict and how long classifying it took."""

    mutant: Mutant
    verdict: Verdict
    seconds: float = attrs.field(eq=False, default=0.0)

    def to_json(self) -> dict[str, Any]:
        """The row as a JSON object (the witness of a survivor included)."""
        m, v = self.mutant, self.verdict
        out: dict[str, Any] = {
            "id": m.id,
            "operator": m.operator,
            "op": m.op,
            "location": m.where,
            "description": m.description,
            "verdict": label(v),
            "seconds": round(self.seconds, 4),
        }
        if isinstance(v, Killed):
            out["killed_by"] = [{"checker": c, "property": p} for c, p in v.by]
        elif isinstance(v, Survived):
            out["witness"] = v.witness.to_json()
        elif isinstance(v, Unknown):
            out["reason"] = v.reason
        return out


def kill(
    spec: Spec, op: str | None = None, budget: Budget = DEFAULT_BUDGET, *, every: bool = False
) -> Killed | Unknown | None:
    """The checks ``spec`` breaks under Z3 (only those of operation ``op`` if given): Killed by
    the first that breaks (by every one with ``every``); Unknown when none breaks but some
    stayed undecided; None when every one is proved.

    Looking for the first kill, every check is first given a small budget (:data:`QUICK`): a
    mutant that breaks some check cheaply is not kept waiting on one the solver finds hard (a
    mutant whose condition only finite models satisfy, say). Only when none breaks is every check
    asked again with ``budget``. A kill is a replayed counterexample whatever the budget was, so
    the first pass can only save time, never change a verdict.

    >>> from mostate import load_spec
    >>> kill(load_spec(), "add") is None
    True
    """
    if not every:
        quick = attrs.evolve(
            budget,
            timeout_ms=min(budget.timeout_ms, QUICK.timeout_ms),
            rlimit=min(budget.rlimit, QUICK.rlimit),
        )
        found = _checks(spec, op, quick, every=False)
        if isinstance(found, Unknown) or any(isinstance(c.verdict, Violated) for c in found):
            return _verdict(found)
        if not any(isinstance(c.verdict, Undecided) for c in found):
            return None
    checks = _checks(spec, op, budget, every=every)
    return _verdict(checks)


QUICK = Budget(timeout_ms=500, rlimit=2_500_000)
"""The first pass's budget per check when :func:`kill` looks for the first kill."""


def _checks(spec: Spec, op: str | None, budget: Budget, *, every: bool) -> list[Check] | Unknown:
    """The verifier's checks of ``op`` (of every operation if None), up to the first violation
    unless ``every``."""
    verifier = Verifier(spec, depth=0, budget=budget)
    checks = []
    try:
        for check in verifier.checks() if op is None else verifier.checks_for(op):
            checks.append(check)
            if not every and isinstance(check.verdict, Violated):
                break
    except ReplayError as err:
        return Unknown(f"internal error: the solver and the engine disagree: {err}")
    return checks


def _verdict(checks: list[Check] | Unknown) -> Killed | Unknown | None:
    if isinstance(checks, Unknown):
        return checks
    broken = sorted({(Z3, c.name) for c in checks if isinstance(c.verdict, Violated)})
    if broken:
        return Killed(tuple(broken))
    undecided = [c for c in checks if isinstance(c.verdict, Undecided)]
    if undecided:
        first = undecided[0]
        assert isinstance(first.verdict, Undecided)
        return Unknown(f"{first.name} on {first.op} as {first.branch}: {first.verdict.reason}")
    return None


def compare(original: Spec, mutant: Mutant, budget: Budget = DEFAULT_BUDGET) -> Verdict:
    """Equivalent, survived (with diff's witness) or unknown, for a mutant no check kills.

    >>> from mostate import load_spec
    >>> from mostate.mutation import generate
    >>> spec = load_spec()
    >>> compare(spec, attrs.evolve(generate(spec, ["drop_confirmation"])[0], spec=spec))
    Equivalent()
    """
    ops = None if mutant.op is None else [mutant.op]
    try:
        # No check of the mutated operation breaks (kill() proved them all), so on the states
        # compared neither spec's run-time check ever fires: the raw steps answer the same.
        rows = diff_specs(original, mutant.spec, budget=budget, ops=ops, monitored=False)
    except ReplayError as err:
        return Unknown(f"internal error: diff's witness does not replay: {err}")
    for row in rows:
        if isinstance(row.verdict, Different) and isinstance(row.verdict.witness, Witness):
            return Survived(row.verdict.witness)
    for row in rows:
        if isinstance(row.verdict, Different):
            return Unknown(f"{row.op} differs in its {row.verdict.reason}")
        if isinstance(row.verdict, Undecided):
            return Unknown(f"diff of {row.op} as {row.branch}: {row.verdict.reason}")
    assert all(isinstance(row.verdict, diff.Equivalent) for row in rows)
    return Equivalent()


def classify(
    original: Spec, mutant: Mutant, budget: Budget = DEFAULT_BUDGET, *, every: bool = False
) -> Outcome:
    """Kill ``mutant`` with Z3 (``every``: see :func:`kill`), else compare it with ``original``.

    >>> from mostate import load_spec
    >>> from mostate.mutation import generate
    >>> spec = load_spec()
    >>> dropped = [m for m in generate(spec, ["drop_refusal"]) if m.op == "set_locked"]
    >>> [(m.description, label(classify(spec, m).verdict)) for m in dropped]
    [('set_locked/missing: refusal dropped', 'killed'), \
('set_locked/user may not lock: refusal dropped', 'killed')]
    """
    start = time.perf_counter()
    if budget.expired():  # a run's deadline: not even the queries of a mutant left are built
        return Outcome(mutant, Unknown(f"not classified: {budget.time_up()}"))
    verdict: Verdict | None = kill(mutant.spec, mutant.op, budget, every=every)
    if verdict is None:
        verdict = compare(original, mutant, budget)
    return Outcome(mutant, verdict, time.perf_counter() - start)
