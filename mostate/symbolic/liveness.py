"""No dead rules: a witness that every refusal, confirmation point and effect of a spec can fire,
and that the premise ``A`` of every transition property ``A -> B`` can hold.

A proof says nothing about a rule that never fires: a refusal whose condition is always true
shadows the rest of its operation, and a property whose premise never holds is proved vacuously.
:func:`check_liveness` asks, for each rule, the question opposite to a proof: is there a
well-formed state that satisfies the invariants, and a request, on which the rule *fires*?

* a refusal fires when its ``when`` holds and it decides the request for an actor in its
  ``actors`` (no earlier refusal fired): the engine answers its status, naming it;
* a confirmation point fires when a server request carrying ``confirm: decline`` reaches it
  (no earlier refusal fired): 215, naming it;
* an effect fires when it is *reached*: the request gets past every earlier refusal and
  confirmation. Reached is the minimum a rule must do to mean anything; whether the effect then
  changes a field is what the properties speak of;
* a premise fires when ``A`` holds on the step, for every implication ``A -> B`` of a property
  or an invariant at any depth (:func:`premises`): one inside ``all(i, ...)`` holds for some
  instance ``i``, one on the right of another implication together with that one's premise, one
  in a branch of an ``if`` together with the branch's condition. An invariant's premise is asked
  of the state before a step.

The conditions are the ``fired`` terms of :meth:`CompiledSpec.run_step`, so the question is one
more query over the same symbolic step the proofs use. Unsatisfiable: the rule is :class:`Dead`
(for any number of instances, or within ``--bound``). Satisfiable: the model is decoded and
replayed through the engine, whose outcome must name the same clause (a premise is evaluated by
the engine itself, as a property ``not A`` it must report broken); a witness the engine does not
confirm raises :class:`~mostate.errors.ReplayError`. Then bounded model checking looks for a trace
from the empty device whose last step fires the rule (:meth:`Searcher.search_each`, one unrolling
for every rule). A rule with a witness only from states not reached within the depth is still
:class:`Live`, with ``reachable`` false: the proofs take every state that satisfies the
invariants as a possible state, and liveness takes the same states, so that no rule is at once
dead and able to break a property.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import assert_never

import attrs

from ..engine import Engine, Transition
from ..errors import ReplayError
from ..model import Clause, Confirm, Role, Status
from ..rules import (
    BoolOp,
    Confirmation,
    Connective,
    Count,
    Effect,
    Expr,
    Ite,
    Not,
    Property,
    Quant,
    Quantifier,
    Refusal,
    Spec,
    The,
    children,
)
from ..trace import Trace
from ._z3 import Bool, Budget, Sat, Session, Solver, Unknown
from .bmc import Gaveup, Goal, Reach, Searcher
from .compiler import Compiled, compile_expr
from .decode import Names, decode_request, decode_state
from .transition import (
    Branch,
    CompiledSpec,
    SStep,
    branches,
    fresh_request,
    fresh_state,
    well_formed,
)
from .values import NeedsBound
from .verifier import DEFAULT_BUDGET, Undecided

RULE_KINDS = ("refusal", "confirmation", "effect")
"""The kinds of step a rule can be; a premise is the fourth kind of :class:`Liveness`."""


@attrs.frozen
class Live:
    """The rule fires on the last step of ``witness`` (replayed by the engine). ``reachable``:
    the witness starts from the empty device; otherwise from a state that satisfies the
    invariants, none being found within the depth from the empty device, or the search for one
    stopped short (``gave_up`` says why: the solver, or the run's time limit)."""

    witness: Trace
    reachable: bool
    gave_up: str | None = None


@attrs.frozen
class Dead:
    """No state that satisfies the invariants and no request make the rule fire."""


LiveVerdict = Live | Dead | Undecided


@attrs.frozen
class Liveness:
    """One row of the rules table: a step of ``op`` (``rule`` is its name, ``kind`` one of
    :data:`RULE_KINDS`) or the premise of the property ``rule`` (``kind`` ``"premise"``).
    ``op`` and ``branch`` say which request fires it (empty when none does)."""

    rule: str
    kind: str
    op: str
    branch: str
    verdict: LiveVerdict


@attrs.frozen(eq=False)
class _Target:
    """A rule to find a witness for: which requests may fire it, and when they do (a premise:
    ``when``, the expression that holds on a step where it does, and ``premise`` compiled)."""

    rule: str
    kind: str
    op: str
    candidates: tuple[tuple[str, Branch], ...]
    index: int = -1
    premise: Compiled | None = None
    when: Expr | None = None


def check_liveness(
    spec: Spec,
    *,
    bound: int | None = None,
    depth: int = 4,
    budget: Budget = DEFAULT_BUDGET,
    proved: bool = False,
) -> list[Liveness]:
    """Every rule of ``spec`` (steps in spec order, then premises), each LIVE with a replayed
    witness, DEAD, or undecided; ``depth`` bounds the search from the empty device. ``proved``
    says that :class:`~mostate.symbolic.Verifier` proved every check of ``spec`` for any number
    of instances, which makes the search much cheaper (:meth:`Searcher.search_each`).

    >>> from mostate import load_spec
    >>> rows = check_liveness(load_spec(), depth=2)
    >>> sorted({type(r.verdict).__name__ for r in rows}), rows[0].rule, rows[0].kind
    (['Live'], 'add: already exists', 'refusal')
    >>> rows[0].verdict.reachable, len(rows[0].verdict.witness.requests)
    (True, 2)
    """
    return _Checker(spec, bound, depth, budget, proved).run()


def undecided_rules(spec: Spec, reason: str) -> list[Liveness]:
    """Every rule of ``spec`` as a row left undecided for ``reason`` (a run cut short).

    >>> from mostate import load_spec
    >>> rows = undecided_rules(load_spec(), "time limit of 1 s reached")
    >>> rows[0].verdict
    Undecided(reason='time limit of 1 s reached')
    """
    return [Liveness(t.rule, t.kind, t.op, "", Undecided(reason)) for t in targets(spec)]


def targets(spec: Spec) -> list[_Target]:
    """The rules of a spec: every step of every operation, then every premise of every
    property and invariant."""
    out: list[_Target] = []
    for op in spec.ops.values():
        for index, step in enumerate(op.steps):
            match step:
                case Refusal():
                    roles = step.roles
                    kind = "refusal"
                case Confirmation():
                    roles = frozenset({Role.SERVER})
                    kind = "confirmation"
                case Effect():
                    roles = frozenset(Role)
                    kind = "effect"
                case _:
                    assert_never(step)
            candidates = tuple(
                (op.name, branch)
                for branch in branches(op)
                if branch.role in roles
                if kind != "confirmation" or branch.confirm is Confirm.DECLINE
            )
            out.append(_Target(step.name, kind, op.name, candidates, index))
    for prop in spec.properties:
        candidates = tuple(
            (op.name, branch)
            for op in spec.ops.values()
            if prop.ops is None or op.name in prop.ops
            for branch in branches(op)
            if branch.role in prop.roles
        )
        out += _premise_targets(prop.name, prop.expr, candidates)
    # An invariant's premise speaks of a state: the state before any one request will do.
    first = next(iter(spec.ops.values()), None)
    anyone = () if first is None else ((first.name, branches(first)[0]),)
    for inv in spec.invariants:
        out += _premise_targets(inv.name, inv.expr, anyone)
    return out


def _premise_targets(
    name: str, expr: Expr, candidates: tuple[tuple[str, Branch], ...]
) -> list[_Target]:
    """A target per premise of ``expr``: the top-level one named ``name`` as the property is,
    the others ``name`` with the premise's place in the spec (``one_active@12:7``)."""
    out = []
    for when, premise in premises(expr):
        rule = (
            name
            if premise is _top_premise(expr)
            else f"{name}@{premise.loc.line}:{premise.loc.column}"
        )
        compiled = compile_expr(when)
        out.append(_Target(rule, "premise", "", candidates, premise=compiled, when=when))
    return out


def _top_premise(expr: Expr) -> Expr | None:
    """``A`` of an expression ``A -> B`` (a top-level implication), else ``None``."""
    if isinstance(expr, BoolOp) and expr.op is Connective.IMPLIES:
        return expr.left
    return None


Context = Callable[[Expr], Expr]


def premises(expr: Expr) -> list[tuple[Expr, Expr]]:
    """Every premise ``A`` of an implication ``A -> B`` in ``expr``, at any depth, with the
    condition under which it holds where it is evaluated: ``A`` under the quantifiers around
    it (each read as ``any``: some instance makes it hold), and with the premises of the
    implications and the conditions of the ``if`` branches it sits in.

    >>> from mostate import load_spec
    >>> props = {p.name: p.expr for p in load_spec().properties}
    >>> [type(when).__name__ for when, _ in premises(props["user_respects_lock"])]
    ['Quant']
    >>> [type(when).__name__ for when, _ in premises(props["set_locked_locks_the_target_alone"])]
    ['Compare', 'BoolOp']
    """
    out: list[tuple[Expr, Expr]] = []
    _collect(expr, lambda e: e, out)
    return out


def _collect(expr: Expr, context: Context, out: list[tuple[Expr, Expr]]) -> None:
    """Add the premises of ``expr`` to ``out``; ``context`` wraps an expression in the
    conditions that hold where ``expr`` is evaluated."""
    match expr:
        case BoolOp(op=Connective.IMPLIES, left=premise, right=rest):
            out.append((context(premise), premise))
            _collect(premise, context, out)
            _collect(rest, lambda e: context(BoolOp(Connective.AND, premise, e, e.loc)), out)
        case Ite(cond=cond, then=then, orelse=orelse):
            _collect(cond, context, out)
            _collect(then, lambda e: context(BoolOp(Connective.AND, cond, e, e.loc)), out)
            otherwise = Not(cond, cond.loc)
            _collect(orelse, lambda e: context(BoolOp(Connective.AND, otherwise, e, e.loc)), out)
        case (
            Quant(var=var, domain=domain)
            | Count(var=var, domain=domain)
            | The(var=var, domain=domain)
        ):
            some: Context = lambda e: context(Quant(Quantifier.ANY, var, domain, e, e.loc))  # noqa: E731 - one context per binder
            _collect(expr.body, some, out)
        case _:
            for child in children(expr):
                _collect(child, context, out)


class _Checker:
    """One liveness run: the compiled spec, a session for the one-step queries, the engine that
    confirms every witness and an engine that evaluates the premises."""

    def __init__(
        self, spec: Spec, bound: int | None, depth: int, budget: Budget, proved: bool
    ) -> None:
        self.spec = spec
        self.proved = proved
        self.compiled = CompiledSpec(spec)
        self.engine = Engine(spec)
        self.targets = targets(spec)
        self.premises = _premise_engine(spec, [t for t in self.targets if t.when is not None])
        self.budget = budget
        self.depth = depth
        self.z = Session(bound)

    def run(self) -> list[Liveness]:
        witnesses, unknown = self._one_step()
        gave_up: dict[int, str] = {}
        live = [k for k in range(len(self.targets)) if k in witnesses]
        reached = self._reachable(live, gave_up)
        rows = []
        for k, target in enumerate(self.targets):
            verdict: LiveVerdict
            op, branch = target.op, ""
            if k in reached or k in witnesses:
                trace = reached.get(k, witnesses.get(k))
                assert trace is not None
                last = trace.requests[-1]
                op, branch = last.op, str(Branch(last.actor.role, last.confirm))
                verdict = Live(trace, k in reached, gave_up.get(k))
            elif k in unknown:
                verdict = Undecided(unknown[k])
            else:
                verdict = Dead()
            rows.append(Liveness(target.rule, target.kind, op, branch, verdict))
        return rows

    def facts(self, target: _Target, z: Session, step: SStep) -> list[Bool]:
        """When the step fires ``target`` (a step whose ``the(...)`` is ambiguous fires nothing:
        the engine answers it 500)."""
        unambiguous = z.not_(step.ambiguous)
        if target.premise is None:
            return [step.fired[target.index][1], unambiguous, *step.side]
        holds, side = self.compiled.property_holds(z, step, target.premise)
        return [holds, unambiguous, *side, *step.side]

    def _one_step(self) -> tuple[dict[int, Trace], dict[int, str]]:
        """A witness from a state that satisfies the invariants, for each target that has one."""
        witnesses: dict[int, Trace] = {}
        unknown: dict[int, str] = {}
        for op in self.spec.ops.values():
            for branch in branches(op):
                wanted = [
                    k
                    for k, t in enumerate(self.targets)
                    if k not in witnesses and (op.name, branch) in t.candidates
                ]
                if wanted:
                    self._group(op.name, branch, wanted, witnesses, unknown)
        return witnesses, unknown

    def _group(
        self,
        op: str,
        branch: Branch,
        wanted: Sequence[int],
        witnesses: dict[int, Trace],
        unknown: dict[int, str],
    ) -> None:
        z = self.z
        if self.budget.expired():
            unknown.update((k, self.budget.time_up()) for k in wanted)
            return
        try:
            pre = fresh_state(z)
            request = fresh_request(z, self.spec.ops[op], branch)
            step = self.compiled.run_step(z, pre, request)
            solver = Solver(z, self.budget)
            solver.add(
                well_formed(z, pre),
                self.compiled.invariants_everywhere(z, pre),
            )
            solver.add(*request.facts, z.literals_distinct())
            facts = {k: self.facts(self.targets[k], z, step) for k in wanted}
        except NeedsBound as err:
            unknown.update((k, str(err)) for k in wanted)
            return
        for k in wanted:
            result = solver.check(facts[k])
            if isinstance(result, Sat):
                names = Names(z, result.model)
                start = decode_state(names, pre)
                trace = Trace(start, (decode_request(names, request),))
                self.confirm(self.targets[k], trace)
                witnesses[k] = trace
                unknown.pop(k, None)
            elif isinstance(result, Unknown):
                unknown[k] = result.reason

    def _reachable(self, live: Sequence[int], gave_up: dict[int, str]) -> dict[int, Trace]:
        """Traces from the empty device, within the depth, for the targets that have a witness
        (and in ``gave_up``, why the search stopped short for those it did)."""
        if self.depth < 1 or not live:
            return {}
        if self.budget.expired():
            gave_up.update((k, self.budget.time_up()) for k in live)
            return {}
        searcher = Searcher(self.compiled, self.budget, self.depth, services=1)
        groups = [self._goals(self.targets[k]) for k in live]
        out: dict[int, Trace] = {}
        found = searcher.search_each(groups, proved=self.proved)
        for k, search in zip(live, found, strict=True):
            if isinstance(search, Reach):
                self.confirm(self.targets[k], search.trace)
                out[k] = search.trace
            elif isinstance(search, Gaveup):
                gave_up[k] = search.reason
        return out

    def _goals(self, target: _Target) -> list[Goal]:
        def facts(z: Session, step: SStep) -> list[Bool]:
            return self.facts(target, z, step)

        return [Goal(self.spec.ops[op], branch, facts) for op, branch in target.candidates]

    def confirm(self, target: _Target, trace: Trace) -> Transition:
        """Replay ``trace``; its last step must fire ``target``, or mostate has a bug."""
        engine = self.engine if target.premise is None else self.premises
        steps = trace.replay(engine)
        last = steps[-1]
        for step in steps[:-1]:
            if step.violations and target.premise is None:
                raise ReplayError(
                    f"a step on the way to {target.rule!r} breaks {step.violations[0]}, which "
                    "the search assumed no step could"
                )
        if not _fires(self.spec, target, last):
            outcome = last.outcome
            raise ReplayError(
                f"the engine does not see {target.kind} {target.rule!r} fire on the last step "
                f"(it answers {int(outcome.status)} from {outcome.clause})"
            )
        return last


def _fires(spec: Spec, target: _Target, last: Transition) -> bool:
    """Whether the replayed step fires the target, by the clause the engine names."""
    outcome = last.outcome
    if target.premise is not None:
        return any(c.kind == "property" and c.name == target.rule for c in last.violations)
    op = spec.ops[last.request.op]
    step = op.steps[target.index]
    match step:
        case Refusal():
            return outcome.clause == _clause(step) and outcome.status is step.status
        case Confirmation():
            return outcome.clause == _clause(step) and outcome.status is Status.NOT_EXECUTED
        case Effect():
            earlier = {_clause(s) for s in op.steps[: target.index] if not isinstance(s, Effect)}
            return outcome.clause.kind != "request" and outcome.clause not in earlier
        case _:
            assert_never(step)


def _clause(step: Refusal | Confirmation | Effect) -> Clause:
    """The clause the engine names when ``step`` decides an outcome."""
    match step:
        case Refusal():
            return Clause("refusal", step.name, step.loc)
        case Confirmation():
            return Clause("confirmation", step.name, step.loc)
        case Effect():
            return Clause("effect", step.name, step.loc)
        case _:
            assert_never(step)


def _premise_engine(spec: Spec, premises: list[_Target]) -> Engine:
    """An engine whose only properties are ``not A`` for every premise ``A`` (named as its
    row, speaking of the requests that may show it): the engine itself says whether a premise
    holds on a replayed step (it reports that property broken)."""
    negated = []
    for target in premises:
        assert target.when is not None
        ops = frozenset(op for op, _ in target.candidates)
        roles = frozenset(branch.role for _, branch in target.candidates)
        negated.append(
            Property(
                target.rule, Not(target.when, target.when.loc), ops, roles, loc=target.when.loc
            )
        )
    return Engine(attrs.evolve(spec, properties=tuple(negated)), optimise=False)
