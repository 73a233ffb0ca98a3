"""Generated modules: an operation's two functions as residual values, printed and compiled.

:func:`specialise` specialises one module per operation (a function per role, see
:mod:`mostate.codegen.operation`), :func:`source` prints it (:mod:`.python`), and
:func:`compile_operation` compiles the source with ``compile()`` and runs it in a fresh
namespace holding only :data:`~mostate.codegen.runtime.NAMESPACE` and the module's own
constants. That is the one place mostate executes code it did not import: code it wrote itself
from the checked AST, in which every name and literal went through ``repr`` or a generated
name. The source is registered with :mod:`linecache`, so a traceback through generated code
shows its lines. A successor keeps its residual function too: the explorer runs it over arrays
(:mod:`mostate.explore.evaluator`) and reads its locality from it (:mod:`.locality`).
"""

from __future__ import annotations

import linecache
from collections.abc import Hashable, Mapping
from typing import Any, Protocol

from ..model import DeviceState, Instance, Request, Role, Service
from ..rules import Operation, Spec
from .context import Unit
from .locality import reads_target_only
from .operation import emit_function, fixed
from .python import print_module
from .residual import Function, Module
from .runtime import NAMESPACE, Answer, Successor, interned_values


class Step(Protocol):
    """A generated function: ``(state, request, check, valid=False) -> (outcome, broken
    clauses)``. ``valid`` tells it the request's service keeps every invariant in ``state``,
    so that its checks may look at what the step changed alone."""

    def __call__(
        self, state: DeviceState, request: Request, check: bool, valid: bool = False, /
    ) -> Answer: ...


class SuccessorStep(Protocol):
    """A generated function in the explorer's lighter form, for one concrete request's role,
    arguments and answer to the confirmation: ``(svcs, S, N, pre) ->``
    :data:`~mostate.codegen.runtime.Successor`, given a state's services (``svcs``, the dict
    of :attr:`DeviceState.services <mostate.model.DeviceState.services>`), the request's
    service and instance, and that service's dict of records (``pre``, empty when the state
    has none). The state must keep every invariant; the step is always checked, and no
    outcome is built."""

    target_only: bool
    """Whether its answer depends on the target's record alone (:mod:`.locality`): the same
    for every state that gives the target the same record."""

    source: str
    """The module it was compiled from (what ``mostate compile --emit python`` prints)."""

    constants: Mapping[str, Any]
    """The objects the module's constants (``_k0``, ...) name."""

    residual: Function
    """The function it was printed from (:mod:`.residual`)."""

    def __call__(
        self, svcs: dict[str, Service], S: str, N: str | None, pre: dict[str, Instance], /
    ) -> Successor: ...


_ROLES = (Role.USER, Role.SERVER)


def specialise(spec: Spec, op: Operation) -> Module:
    """The module for ``op``, a function ``_user`` and a function ``_server``, as residual
    values. Raises :class:`~mostate.codegen.values.Unsupported` when the operation cannot be
    generated.

    >>> from mostate import load_spec
    >>> spec = load_spec()
    >>> [f.name for f in specialise(spec, spec.ops["get"]).functions]
    ['_user', '_server']
    """
    unit = Unit()
    header = f"operation {op.name!r} of spec {spec.name!r}, written by mostate.codegen"
    functions = tuple(emit_function(spec, op, role, unit, f"_{role.value}") for role in _ROLES)
    return Module(header, functions, tuple(unit.namespace.values()))


def source(spec: Spec, op: Operation) -> tuple[str, dict[str, Any]]:
    """The module for ``op`` (a function ``_user`` and a function ``_server``) printed as
    Python, and the objects its constants name. Raises
    :class:`~mostate.codegen.values.Unsupported` when the operation cannot be generated.

    >>> from mostate import load_spec
    >>> spec = load_spec()
    >>> text, constants = source(spec, spec.ops["get"])
    >>> text.count("def _user(state, request, check, valid=False):"), "_k0" in constants
    (1, True)
    """
    module = specialise(spec, op)
    return print_module(module), _named(module)


def _named(module: Module) -> dict[str, Any]:
    """The objects a module's constants name, by name."""
    return {f"_k{index}": value for index, value in enumerate(module.constants)}


def compile_operation(spec: Spec, op: Operation) -> tuple[Step, Step]:
    """The generated functions of ``op``, indexed by ``role is Role.SERVER``.

    >>> from mostate import load_spec, DeviceState, Request
    >>> spec = load_spec()
    >>> user, server = compile_operation(spec, spec.ops["add"])
    >>> add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    >>> outcome, broken = server(DeviceState(), add, True)
    >>> int(outcome.status), sorted(outcome.state.to_json()["MMS"]), broken
    (200, ['a'], ())
    """
    text, constants = source(spec, op)
    namespace = _run(text, constants, f"<mostate.codegen {spec.name!r} {op.name!r}>")
    return namespace["_user"], namespace["_server"]


def specialise_successor(spec: Spec, op: Operation, request: Request) -> Module:
    """The module of the successor form of ``op`` for ``request``'s role, arguments and
    answer to the confirmation (one function, ``_step``), as residual values; raises
    :class:`~mostate.codegen.values.Unsupported` for an operation that cannot be generated,
    ValueError for a malformed request."""
    fixes = fixed(op, request)
    if fixes is None:
        raise ValueError(f"a malformed {op.name} request: the engine answers it")
    unit = Unit(successor=True)
    header = (
        f"operation {op.name!r} of spec {spec.name!r} for {request.actor.role.value}, "
        f"arguments {dict(fixes.args)!r}, declines: {fixes.declines}; successor form, "
        "written by mostate.codegen"
    )
    function = emit_function(spec, op, request.actor.role, unit, "_step", fixes)
    return Module(header, (function,), tuple(unit.namespace.values()))


def successor_source(spec: Spec, op: Operation, request: Request) -> tuple[str, dict[str, Any]]:
    """:func:`specialise_successor` printed as Python, and the objects its constants name."""
    module = specialise_successor(spec, op, request)
    return print_module(module), _named(module)


def compile_successor(
    spec: Spec,
    op: Operation,
    request: Request,
    shared: dict[Hashable, SuccessorStep] | None = None,
) -> SuccessorStep:
    """The successor form of ``op`` for the requests that fix what ``request`` fixes (its
    role, arguments and answer to the confirmation): the explorer's step. With ``shared``,
    a function already in it whose code and constants are the same is returned instead
    (a query for the user and for a server, say): the explorer runs it once for both.

    >>> from mostate import load_spec, DeviceState, Request
    >>> spec = load_spec()
    >>> add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    >>> (name, record), broken = compile_successor(spec, spec.ops["add"], add)({}, "MMS", "a", {})
    >>> name, record.locked, broken
    ('a', False, ())
    """
    module = specialise_successor(spec, op, request)
    text, constants = print_module(module), _named(module)
    key = _body_key(text, constants)
    if shared is not None and key is not None and key in shared:
        return shared[key]
    fixes = fixed(op, request)
    assert fixes is not None
    filename = (
        f"<mostate.codegen {spec.name!r} {op.name!r} successor {request.actor.role.value}"
        f" {sorted(fixes.args.items())!r} {fixes.declines}>"
    )
    step: SuccessorStep = _run(text, {**constants, **interned_values()}, filename)["_step"]
    step.target_only = reads_target_only(module.functions[0])
    step.source, step.constants, step.residual = text, constants, module.functions[0]
    if shared is not None and key is not None:
        shared[key] = step
    return step


def _body_key(text: str, constants: dict[str, Any]) -> Hashable | None:
    """What makes two successor modules the same function: the code below the header that
    names the request, and the objects its constants name (``None`` if one is unhashable)."""
    key = (text.split("\n", 1)[1], tuple(constants.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _run(text: str, constants: dict[str, Any], filename: str) -> dict[str, Any]:
    """The namespace of a generated module, run (registered with linecache first)."""
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace: dict[str, Any] = {**NAMESPACE, **constants}
    exec(compile(text, filename, "exec"), namespace)  # our own source, written from the AST
    return namespace
