"""From a Z3 model back to the model's own values: states, requests and replayable traces.

Elements of the uninterpreted sorts get readable names in the order the model lists them:
services ``S1, S2, ...``, instances ``i1, i2, ...`` (in bounded mode, the enumeration's own
names), strings ``s1, s2, ...`` except string literals of the spec, which keep their text. Only
existing instances are written out: the pre-states the solver is given are well formed, so the
others have nothing to say. :func:`confirmed` replays every decoded trace through the engine
before anyone sees it.
"""

from __future__ import annotations

from ..engine import Engine, Transition
from ..frozenmap import FrozenMap
from ..model import (
    Actor,
    ArgValue,
    DeviceState,
    Params,
    Request,
    Role,
    Service,
    instance,
)
from ..rules import STATUS, Type
from ..trace import Trace
from ._z3 import Bool, Model, Session, Term
from .transition import SRequest
from .values import SState


class Names:
    """Readable names for the elements of one model, stable within it."""

    def __init__(self, z: Session, model: Model) -> None:
        self.z = z
        self.model = model
        self.services = self._name(model.universe(z.svc), "S")
        self.instances = self._name(model.universe(z.inst, z.inst_values()), "i")
        literals = {model.key(term): text for text, term in z.strings().items()}
        self.strings: dict[str, str] = {}
        fresh = (f"s{n}" for n in range(1, 10_000))
        for term in model.universe(z.str):
            key = model.key(term)
            if key in literals:
                self.strings[key] = literals[key]
            else:
                self.strings[key] = next(n for n in fresh if n not in literals.values())

    def _name(self, elements: list[Term], prefix: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for element in elements:
            key = self.model.key(element)
            if prefix == "i" and self.z.inst_values():
                out[key] = key
            else:
                out.setdefault(key, f"{prefix}{len(out) + 1}")
        return out

    def service(self, term: Term) -> str:
        return self.services.setdefault(self.model.key(term), f"S{len(self.services) + 1}")

    def instance(self, term: Term) -> str:
        return self.instances.setdefault(self.model.key(term), f"i{len(self.instances) + 1}")

    def string(self, term: Term) -> str:
        return self.strings.setdefault(self.model.key(term), f"s{len(self.strings) + 1}")

    def params(self, term: Term) -> Params:
        """The finite map an array term stands for, read at every string of the model."""
        out: dict[str, str] = {}
        for element in self.model.universe(self.z.str):
            cell = self.z.param(term, element)
            if self.model.bool(self.z.is_just(cell)):
                out[self.string(element)] = self.string(self.z.just_value(cell))
        return FrozenMap(out)


def decode_state(names: Names, state: SState) -> DeviceState:
    """The well-formed device state the model gives ``state``."""
    z, model = names.z, names.model
    services: dict[str, Service] = {}
    for svc in model.universe(z.svc):
        instances = {}
        for inst in model.universe(z.inst, z.inst_values()):
            if not model.bool(Bool(state.exists(svc, inst))):
                continue
            flags = (model.bool(Bool(state.field(f)(svc, inst))) for f in STATUS)
            instances[names.instance(inst)] = instance(flags, names.params(state.params(svc, inst)))
        if instances:
            services[names.service(svc)] = Service(FrozenMap(instances))
    return DeviceState(FrozenMap(services))


def decode_request(names: Names, request: SRequest) -> Request:
    """The concrete request the model gives ``request``."""
    model = names.model
    args: dict[str, ArgValue] = {}
    for decl in request.op.args:
        term = request.args[decl.name]
        if decl.type is Type.BOOL:
            args[decl.name] = model.bool(Bool(term))
        elif decl.type is Type.STR:
            args[decl.name] = names.string(term)
        else:
            args[decl.name] = names.params(term)
    role = request.branch.role
    return Request(
        Actor(role),
        request.op.name,
        names.service(request.service),
        names.instance(request.target.inst) if request.target is not None else None,
        FrozenMap(args),
        request.branch.confirm if role is Role.SERVER else None,
    )


def confirmed(trace: Trace, engine: Engine) -> Transition:
    """Replay ``trace`` through the engine; raises ReplayError when the engine does not see the
    violation the solver found (a bug in mostate, never a result about the spec).

    >>> from mostate import load_spec, DeviceState, Request
    >>> from mostate.errors import ReplayError
    >>> r = Request.from_json({"actor": "user", "op": "get_active", "service": "S1"})
    >>> try:
    ...     confirmed(Trace(DeviceState(), (r,), "one_active"), Engine(load_spec()))
    ... except ReplayError as err:
    ...     print(str(err)[:40])
    the engine does not see 'one_active' bro
    """
    return trace.confirm(engine)
