"""Proofs of what one request can do toward a goal: the facts of a
:class:`mostate.progress.Progress`, for any number of instances.

A goal is a conjunction of conditions on a state (:func:`mostate.rules.conjuncts`), its
``target`` the instance a campaign is about. For each operation, and each branch of it a request
of the given roles can take (a server's: accepted, declined), the step is the verifier's
symbolic step (:meth:`CompiledSpec.run_step`) from a well-formed state that keeps every
invariant, the states a planner walks; the goal's service and instance are fresh constants, and
each conjunct is compiled (:func:`mostate.symbolic.compiler.compile_expr`, from the goal's own
AST) on the state before the step and on the state the engine keeps after it (normalised).

One polarity, as every query here: a set of assertions unsatisfiable exactly when the fact
holds.

* ``(op, on_target, k)`` is in ``cannot`` when ``not k(before) and k(after)`` is unsatisfiable
  for every branch, the request's target being the goal's instance (``on_target``) or not;
* ``(a, b)`` is in ``apart`` when ``not a(before) and a(after) and not b(before) and b(after)``
  is unsatisfiable for every operation and branch.

A satisfiable query or one the solver gives up on only leaves its fact out (``unproved`` says
which gave up and why): nothing here reports a model, so none needs replaying. An operation
whose effects write none of the fields the conjuncts read cannot change them, which needs no
solver (every field counts as written when ``exists`` is: the engine drops the flags of an
instance that no longer exists). A conjunct with ``the(...)`` is left unproved (its meaning where
several instances qualify is an obligation of steps, not of goals).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs

from ..errors import Location
from ..model import Role
from ..progress import Progress
from ..rules import Effect, Expr, Field, Operation, Spec, Type, conjuncts, fields_read, has_the
from ..syntax import Scope, parse_expr
from ._z3 import Bool, Budget, Session, Solver, Unknown, Unsat
from .compiler import compile_expr
from .transition import (
    CompiledSpec,
    SRequest,
    branches,
    fresh_request,
    fresh_state,
    normalise,
    well_formed,
)
from .values import NeedsBound, SEnv, SRef

QUICK = Budget(timeout_ms=5_000, rlimit=20_000_000)
"""Each query's budget: the facts speed a search up, and one left out costs only speed."""


def prove_progress(
    spec: Spec,
    parts: Sequence[Expr],
    *,
    roles: frozenset[Role] = frozenset({Role.SERVER}),
    budget: Budget = QUICK,
) -> Progress:
    """The facts about a goal of ``parts`` (parsed with ``target``) that hold for every request
    of ``roles``.

    >>> from mostate import load_spec
    >>> from mostate.errors import Location
    >>> from mostate.rules import Type, conjuncts
    >>> from mostate.syntax import Scope, parse_expr
    >>> goal = parse_expr("active(target) and locked(target)", Scope(target=True),
    ...                   Location("<goal>", 1, 1), Type.BOOL)
    >>> p = prove_progress(load_spec(), conjuncts(goal))
    >>> p.groups(), p.may_advance("set_active", True, [1]), p.may_advance("set_locked", True, [1])
    (((0,), (1,)), False, True)
    """
    compiled, z = CompiledSpec(spec), Session()
    unproved: list[str] = []
    cannot: set[tuple[str, bool, int]] = set()
    together: set[tuple[int, int]] = set()
    every = set(itertools.product((True, False), range(len(parts))))
    for op in spec.ops.values():
        may: set[tuple[bool, int]] = set()
        for branch in (b for b in branches(op) if b.role in roles):
            query = _Query(compiled, z, op, str(branch), budget, unproved)
            flips, pairs = query.answer(fresh_request(z, op, branch), parts)
            may |= flips
            together |= pairs
        cannot |= {(op.name, on_target, k) for on_target, k in every - may}
    apart = {pair for pair in itertools.combinations(range(len(parts)), 2)} - together
    return Progress(len(parts), frozenset(cannot), frozenset(apart), tuple(unproved))


def prove_goal(spec: Spec, goal: str, *, budget: Budget = QUICK) -> Progress:
    """The facts about the goal ``goal`` (a campaign's, ``target`` its instance) for server
    requests, recorded with its text: what :class:`mostate.campaign.Campaign` carries to every
    planner (proved once, in the process that starts the campaign). SpecError for a goal that
    does not parse.

    >>> from mostate import load_spec
    >>> prove_goal(load_spec(), "active(target) and locked(target)").groups()
    ((0,), (1,))
    """
    expr = parse_expr(goal, Scope(target=True), Location("<goal>", 1, 1), Type.BOOL)
    return attrs.evolve(prove_progress(spec, conjuncts(expr), budget=budget), goal=goal)


def written(op: Operation) -> frozenset[Field]:
    """The fields an operation's effects may change: every field when one writes ``exists``
    (the engine then drops the flags and parameters of an instance that no longer exists).

    >>> from mostate import load_spec
    >>> sorted(f.value for f in written(load_spec().ops["set_locked"]))
    ['locked']
    """
    fields = {f for step in op.steps if isinstance(step, Effect) for f, _ in step.updates}
    return frozenset(Field) if Field.EXISTS in fields else frozenset(fields)


class _Query:
    """The queries of one operation and branch, on one symbolic step (not a value: it holds a
    solver)."""

    def __init__(
        self,
        compiled: CompiledSpec,
        z: Session,
        op: Operation,
        branch: str,
        budget: Budget,
        unproved: list[str],
    ) -> None:
        self.compiled, self.z, self.op, self.where = compiled, z, op, f"{op.name} ({branch})"
        self.budget, self.unproved = budget, unproved

    def answer(
        self, request: SRequest, parts: Sequence[Expr]
    ) -> tuple[set[tuple[bool, int]], set[tuple[int, int]]]:
        """Which (on_target, conjunct) flips and which pairs were not proved impossible."""
        opaque = {k for k, part in enumerate(parts) if has_the(part)}
        changed = written(self.op)
        moving = [
            k for k, part in enumerate(parts) if k not in opaque and fields_read(part) & changed
        ]
        flips = {(on, k) for on in (True, False) for k in opaque}
        pairs = {p for p in itertools.combinations(range(len(parts)), 2) if set(p) & opaque}
        if not moving:
            return flips, pairs
        try:
            made_true, on = self._step(request, parts, moving)
        except NeedsBound as err:
            self.unproved.append(f"{self.where}: {err}")
            flips |= {(on, k) for on in (True, False) for k in moving}
            return flips, pairs | set(itertools.combinations(range(len(parts)), 2))
        for k in moving:
            for on_target, relation in ((True, on), (False, self.z.not_(on))):
                if not self._impossible(made_true[k], relation):
                    flips.add((on_target, k))
        movers = sorted({k for _, k in flips} - opaque)
        for a, b in itertools.combinations(movers, 2):
            if not self._impossible(made_true[a], made_true[b]):
                pairs.add((a, b))
        return flips, pairs

    def _step(
        self, request: SRequest, parts: Sequence[Expr], moving: Sequence[int]
    ) -> tuple[dict[int, Bool], Bool]:
        """Each moving conjunct made true by the step, and "the request is sent to the goal's
        instance"; the step's facts go to the solver."""
        z, compiled = self.z, self.compiled
        pre = fresh_state(z)
        step = compiled.run_step(z, pre, request)
        post = normalise(z, step.post)
        service, name = z.const("goal_service", z.svc), z.const("goal_target", z.inst)
        target = SRef(z.true, service, name)
        before = SEnv(z, pre, service, Role.SERVER, target=target)
        after = SEnv(z, post, service, Role.SERVER, target=target)
        made_true: dict[int, Bool] = {}
        for k in moving:
            fn = compile_expr(parts[k])
            made_true[k] = z.and_(z.not_(fn(before)), fn(after))
        self.solver = Solver(z, self.budget)
        self.solver.add(well_formed(z, pre), compiled.invariants_everywhere(z, pre))
        self.solver.add(*request.facts, *step.side, *before.side, *after.side)
        sent = request.target
        on = (
            z.and_(sent.some, z.eq(sent.svc, service), z.eq(sent.inst, name))
            if sent is not None
            else z.false
        )
        return made_true, on

    def _impossible(self, *facts: Bool) -> bool:
        """Whether ``facts`` cannot all hold on the step (unsatisfiable)."""
        result = self.solver.check([*facts, self.z.literals_distinct()])
        if isinstance(result, Unknown):
            self.unproved.append(f"{self.where}: the solver gave up ({result.reason})")
        return isinstance(result, Unsat)
