"""Why a request got its answer: every step of its operation, in order, with each condition's
value and the step that decided (``mostate explain``, after ``opa eval --explain``).

The engine decides; this module shows its reasons. It walks the operation's steps as
:class:`~mostate.engine.Engine` runs them (refusals for the request's actor, the confirmation
point, effects), evaluating each refusal's condition with the engine's own interpreter
(:func:`mostate.concrete.compile_expr`) on the state the step sees, and every part of the
condition too (the operands of ``and``/``or``/``not``/``->``, both sides of a comparison, the
instances that make a quantifier true or false). The state after an effect is the engine's own
answer to the operation cut after that effect. The step the walk finds deciding must be the
clause the engine names, else :class:`~mostate.errors.ReplayError`: two readings of the spec
that disagree are a bug in mostate, never an explanation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, assert_never

import attrs

from .concrete import FRESH, Ambiguous, Env, View, compile_expr, domain_refs
from .engine import Engine
from .errors import ReplayError, RequestError
from .frozenmap import FrozenMap
from .model import Confirm, DeviceState, Outcome, Request, Role
from .patch import state_changes
from .printer import show
from .rules import (
    Arg,
    BoolOp,
    Builtin,
    Compare,
    Confirmation,
    Count,
    Effect,
    Expr,
    Ite,
    Lit,
    Not,
    Operation,
    Quant,
    Quantifier,
    Read,
    Refusal,
    Spec,
    The,
    Unchanged,
    Var,
    WithoutParam,
    WithParam,
)

DEPTH = 4
"""How many levels of a condition's parts are shown (the top is level 1)."""


@attrs.frozen
class Condition:
    """An expression, its value on the state the step saw, and its parts, each evaluated."""

    text: str
    value: Any
    parts: tuple[Condition, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expr": self.text, "value": self.value}
        if self.note:
            out["note"] = self.note
        if self.parts:
            out["parts"] = [p.to_json() for p in self.parts]
        return out


@attrs.frozen
class StepReason:
    """One step of the operation: what it is, whether the request reached it and what it did.

    ``verdict`` is ``fires`` (a refusal that answers, the confirmation that stops a declined
    request), ``passes`` (a refusal whose condition is false, a confirmation not declined),
    ``skipped`` (a refusal for the other actor), ``applied`` (an effect) or ``not reached``.
    """

    kind: str
    name: str
    where: str
    verdict: str
    status: int | None = None
    actors: tuple[str, ...] = ()
    condition: Condition | None = None
    changes: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "where": self.where,
            "verdict": self.verdict,
        }
        if self.status is not None:
            out["status"] = self.status
        if self.actors:
            out["actors"] = list(self.actors)
        if self.condition is not None:
            out["condition"] = self.condition.to_json()
        if self.changes is not None:
            out["changes"] = self.changes
        return out


@attrs.frozen
class Explanation:
    """The steps of one request's operation, and the engine's answer."""

    request: Request
    before: DeviceState
    outcome: Outcome
    steps: tuple[StepReason, ...]
    result: Condition | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request": self.request.to_json(),
            "before": self.before.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "answer": self.outcome.to_json(with_state=False),
            "changes": state_changes(self.before, self.outcome.state),
        }
        if self.result is not None:
            out["result_expr"] = self.result.to_json()
        return out

    def lines(self) -> Iterator[str]:
        """The explanation as text, one step a line and its condition's parts below it."""
        yield f"{_request_text(self.request)}"
        for number, step in enumerate(self.steps, start=1):
            head = f"{number}. {step.kind} {step.name!r}"
            if step.status is not None:
                head += f" ({step.status}; {', '.join(step.actors)})"
            yield f"  {head}: {step.verdict}"
            if step.condition is not None:
                yield from _condition_lines(step.condition, "       ")
            if step.changes:
                yield f"       changes: {_json(step.changes)}"
        if self.result is not None:
            yield from _condition_lines(self.result, "  result: ")
        answer = self.outcome.to_json(with_state=False)
        why = f" ({answer['reason']})" if answer["reason"] else ""
        yield f"answer: {answer['status']}{why}, decided by {answer['clause']}"


def explain(engine: Engine, state: DeviceState, request: Request) -> Explanation:
    """Why ``engine`` answers ``request`` in ``state`` as it does.

    >>> from mostate import load_spec
    >>> engine = Engine(load_spec())
    >>> locked = DeviceState.from_json({"MMS": {"a": {"locked": True}}})
    >>> r = Request.from_json({"actor": "user", "op": "delete", "service": "MMS", "instance": "a"})
    >>> for line in explain(engine, locked, r).lines(): print(line)
    user delete MMS/a
      1. refusal 'missing' (404; user, server): passes
           not exists(target) = false
             exists(target) = true
      2. refusal 'locked' (425; user): fires
           locked(target) = true
      3. confirmation 'confirmation': not reached
      4. effect 'remove': not reached
    answer: 425 (permission denied: delete: locked), decided by refusal delete: locked (...)
    """
    outcome = engine.apply(state, request)
    op = engine.spec.ops.get(request.op)
    if op is None or request.service is None:
        return Explanation(request, state, outcome, ())
    try:
        env = _env(op, state, request)
    except RequestError:  # malformed: the engine's 400 says why; no step is reached
        return Explanation(request, state, outcome, ())
    steps = tuple(_walk(engine.spec, op, env, state, request))
    result = None
    if op.result is not None and int(outcome.status) == 200:
        env.reset(View(outcome.state), None, env.service)
        result = _condition(op.result, env, 1)
    explanation = Explanation(request, state, outcome, steps, result)
    _check_agrees(explanation)
    return explanation


def _env(op: Operation, state: DeviceState, request: Request) -> Env:
    assert request.service is not None
    env = Env(View(state), request.service, request.actor.role)
    if op.has_target:
        if request.instance is None:
            raise RequestError(f"{request.op}: 'instance' is missing")
        env.target = (request.service, request.instance)
    env.args.update(op.request_args(request))
    env.declines = request.actor.role is Role.SERVER and request.confirm is Confirm.DECLINE
    return env


def _walk(
    spec: Spec, op: Operation, env: Env, state: DeviceState, request: Request
) -> Iterator[StepReason]:
    """Each step as the engine runs it, until one decides; the rest "not reached"."""
    decided = False
    for index, step in enumerate(op.steps):
        where = str(step.loc)
        if decided:
            yield StepReason(_kind(step), _short(step.name), where, "not reached")
            continue
        match step:
            case Refusal():
                reason = _refusal(step, env, where)
                decided = reason.verdict == "fires"
                yield reason
            case Confirmation():
                decided = env.declines
                verdict = "fires: declined (215)" if decided else "passes: not declined"
                yield StepReason("confirmation", _short(step.name), where, verdict)
            case Effect():
                after = _after_prefix(spec, op, index, state, request)
                changes = state_changes(_state_of(env), after)
                env.reset(View(after), None, env.service)
                yield StepReason("effect", _short(step.name), where, "applied", changes=changes)
            case _:
                assert_never(step)


def _refusal(step: Refusal, env: Env, where: str) -> StepReason:
    actors = tuple(r.value for r in sorted(step.roles, key=lambda r: r is Role.SERVER))
    name, status = _short(step.name), int(step.status)
    if env.role not in step.roles:
        return StepReason(
            "refusal", name, where, f"skipped: not for a {env.role.value}", status, actors
        )
    condition = _condition(step.when, env, 1)
    verdict = "fires" if condition.value is True else "passes"
    return StepReason("refusal", name, where, verdict, status, actors, condition)


def _after_prefix(
    spec: Spec, op: Operation, index: int, state: DeviceState, request: Request
) -> DeviceState:
    """The state after the operation's steps up to ``index``, as the engine gives it (the
    operation cut there, run by the engine without its monitor)."""
    cut = attrs.evolve(op, steps=op.steps[: index + 1], result=None, result_type=None)
    prefix = attrs.evolve(spec, ops=FrozenMap({op.name: cut}))
    return Engine(prefix, monitor=False, backend="interpreted").apply(state, request).state


def _state_of(env: Env) -> DeviceState:
    return env.pre.base


def _condition(expr: Expr, env: Env, level: int) -> Condition:
    """``expr``'s value in ``env`` and, down to :data:`DEPTH`, its parts' values."""
    text = show(expr)
    try:
        value = _value(compile_expr(expr)(env))
    except Ambiguous:
        return Condition(text, None, note="ambiguous: several instances qualify")
    if level >= DEPTH:
        return Condition(text, value)
    parts = tuple(_condition(part, env, level + 1) for part in _parts(expr))
    return Condition(text, value, parts, _witness(expr, env, value))


def _parts(expr: Expr) -> tuple[Expr, ...]:
    """The sub-expressions worth showing: operands of connectives and comparisons, an if's."""
    match expr:
        case BoolOp() | Compare():
            return tuple(p for p in (expr.left, expr.right) if not _plain(p))
        case Not():
            return () if _plain(expr.operand) else (expr.operand,)
        case Ite():
            return (expr.cond, expr.then, expr.orelse)
        case (
            Lit() | Var() | Arg() | Builtin() | Read() | Unchanged() | WithParam() | WithoutParam()
            | Quant() | Count() | The()
        ):  # fmt: skip
            return ()
        case _:
            assert_never(expr)


def _plain(expr: Expr) -> bool:
    """A literal or a name, whose value the text already shows."""
    return type(expr).__name__ in ("Lit", "Var")


def _witness(expr: Expr, env: Env, value: Any) -> str:
    """For a quantifier, the instances that decide it: those that make ``any`` true, ``all``
    false, or that ``count`` counts."""
    if not isinstance(expr, Quant | Count):
        return ""
    wanted = not (isinstance(expr, Quant) and expr.kind is Quantifier.ALL)
    if isinstance(expr, Quant) and value != wanted:
        return ""
    body = compile_expr(expr.body)
    names = []
    for ref in domain_refs(env, expr.domain):
        env.vars[expr.var] = ref
        try:
            if bool(body(env)) == wanted:
                names.append(_name(ref))
        except Ambiguous:
            continue
        finally:
            del env.vars[expr.var]
    verb = "holds for" if wanted else "fails for"
    return f"{verb} {', '.join(names)}" if names else ""


def _value(value: Any) -> Any:
    """A value as JSON shows it: an instance by its name, a map as an object."""
    if isinstance(value, tuple) and len(value) == 2:
        return _name(value)
    if isinstance(value, FrozenMap):
        return dict(value)
    if isinstance(value, Role):
        return value.value
    if isinstance(value, float) and math.isinf(value):
        return "infinitely many"
    return value


def _name(ref: tuple[str, str]) -> str:
    service, name = ref
    if name == FRESH:
        return "(any other instance)" if service != FRESH else "(any other service's)"
    return name


def _kind(step: Refusal | Confirmation | Effect) -> str:
    match step:
        case Refusal():
            return "refusal"
        case Confirmation():
            return "confirmation"
        case Effect():
            return "effect"
        case _:
            assert_never(step)


def _short(label: str) -> str:
    """A step's name without its operation's (``delete: locked`` -> ``locked``)."""
    return label.split(": ", 1)[1] if ": " in label else label


def _check_agrees(explanation: Explanation) -> None:
    """The step the walk says decides is the clause the engine names (a refusal or the
    confirmation); a success is decided by no refusal. ReplayError otherwise."""
    fired = [s for s in explanation.steps if s.verdict.startswith("fires")]
    clause = explanation.outcome.clause
    status = int(explanation.outcome.status)
    if status == 500 or status == 400:
        return  # a broken obligation or a malformed request: the engine's own checks decided
    if fired:
        step = fired[0]
        if clause.kind not in (step.kind, "confirmation") or _short(clause.name) != step.name:
            raise ReplayError(f"explain finds {step.kind} {step.name!r} deciding; engine: {clause}")
    elif clause.kind in ("refusal", "confirmation"):
        raise ReplayError(f"explain finds no step deciding; the engine: {clause}")


def _request_text(request: Request) -> str:
    target = f"{request.service}/{request.instance}" if request.instance else f"{request.service}"
    args = ", ".join(f"{k} {_json(v)}" for k, v in sorted(request.args.items()))
    confirm = f", confirm {request.confirm.value}" if request.confirm is not None else ""
    extra = f" ({args}{confirm})" if args or confirm else ""
    return f"{request.actor.role.value} {request.op} {target}{extra}"


def _condition_lines(condition: Condition, indent: str) -> Iterator[str]:
    note = f"  [{condition.note}]" if condition.note else ""
    yield f"{indent}{condition.text} = {_json(condition.value)}{note}"
    for part in condition.parts:
        yield from _condition_lines(part, " " * len(indent) + "  ")


def _json(value: Any) -> str:
    if isinstance(value, FrozenMap):
        value = dict(value)
    return json.dumps(value, sort_keys=True)
