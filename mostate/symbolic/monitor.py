"""The run-time check of :meth:`mostate.engine.Engine.apply`, as terms: what a device checks
before it answers.

``Engine.apply`` runs a step and, before it answers, checks it: a step that breaks an obligation
(:data:`~mostate.rules.CREATES_ONLY_TARGET`, :data:`~mostate.rules.UNIQUE_THE`), an invariant on
some service of the state after it, or a transition property that speaks of it is answered 500
(``COMMAND_FAILED``) with the state as it was and no result. :func:`guards` gives each of those
checks of one symbolic step as a :class:`Guard`; the step passes when every guard holds.
``mostate diff`` compares answers, so it asks where two specs' guards disagree, one by one.
"""

from __future__ import annotations

import attrs

from ..rules import Expr
from ._z3 import Bool, Session, Term
from .compiler import Compiled
from .queries import obligations
from .transition import CompiledSpec, SStep
from .values import SState, every_service


@attrs.frozen(eq=False)
class Guard:
    """One check the engine makes before it answers: ``holds`` on the step, with the
    definitions (of ``the``) it needs in ``side``, which only name the instance a ``the``
    picks and are asserted as facts. ``key`` says what is checked, the same for the same check
    in two specs: an obligation by its name, an invariant or a property by its expression."""

    key: tuple[str, str | Expr]
    holds: Bool
    side: tuple[Bool, ...] = ()


def guards(compiled: CompiledSpec, z: Session, step: SStep) -> list[Guard]:
    """Every check ``Engine.apply`` makes of ``step``: its obligations, each invariant on every
    service after it, and each property of its operation and role.

    >>> from mostate import load_spec
    >>> from mostate.model import Role
    >>> from mostate.symbolic.transition import Branch, fresh_request, fresh_state
    >>> spec = load_spec(); compiled = CompiledSpec(spec); z = Session()
    >>> req = fresh_request(z, spec.ops["add"], Branch(Role.SERVER))
    >>> [g.key[0] for g in guards(compiled, z, compiled.run_step(z, fresh_state(z), req))][:5]
    ['obligation', 'invariant', 'invariant', 'invariant', 'property']
    """
    out = [
        Guard(("obligation", name), z.not_(broken)) for name, broken in obligations(z, step).items()
    ]
    out += [_invariant(compiled, z, step.post, inv.expr, fn) for inv, fn in compiled.invariants]
    request = step.request
    for prop, fn in compiled.properties_for(request.op.name, request.branch.role):
        holds, needs = compiled.property_holds(z, step, fn)
        out.append(Guard(("property", prop.expr), holds, tuple(needs)))
    return out


def _invariant(
    compiled: CompiledSpec, z: Session, state: SState, expr: Expr, fn: Compiled
) -> Guard:
    """One invariant on every service of ``state``, as ``Engine.apply`` checks it after a step."""
    side: list[Bool] = []

    def on(service: Term, variables: tuple[Term, ...]) -> Bool:
        holds, needs = compiled.invariant(z, state, service, fn, variables)
        side.extend(needs)
        return holds

    holds = every_service(z, on)
    return Guard(("invariant", expr), holds, tuple(side))


def passes(z: Session, checks: list[Guard]) -> tuple[Bool, list[Bool]]:
    """When every guard holds (the engine lets the step through), and their definitions."""
    return z.and_(*(g.holds for g in checks)), [fact for g in checks for fact in g.side]
