"""The generated C run from Python: :class:`CEngine` answers a request as ``Engine.apply``
does, by calling the spec's C function for it through cffi (ABI mode: the library is
``dlopen``-ed, its declarations read from the generated header).

It is the differential tests' and the benchmark's view of the C: a request and a state go in
as the C structs a client would fill (names as UTF-8 strings, a parameter map as a handle into
a table of :class:`~mostate.frozenmap.FrozenMap` values that the host callbacks read and
extend), the outcome comes back as mostate's own :class:`~mostate.model.Outcome`. A request C
cannot carry (an argument of the wrong Python type, a string with NUL in it, an operation the
spec does not have) raises :class:`NotRepresentable`: a C caller's types rule it out.
"""

from __future__ import annotations

import re
from typing import Any

import cffi

from ..errors import Location, MostateError
from ..frozenmap import FrozenMap
from ..model import (
    EMPTY_PARAMS,
    Clause,
    Confirm,
    DeviceState,
    Instance,
    Outcome,
    Request,
    Role,
    Service,
    Status,
)
from ..rules import ARG_TYPES, Field, Spec, Type
from .build import Built

_CHECK, _VALID = 1, 2


class NotRepresentable(MostateError, ValueError):
    """A request or state that the C interface has no way to express."""


class CapacityError(MostateError, RuntimeError):
    """The C function refused the step: the service would hold more than
    ``PREFIX_MAX_INSTANCES`` instances (``PREFIX_E_CAPACITY``)."""


class HostError(MostateError, RuntimeError):
    """A host callback failed and the C function decided nothing (``PREFIX_E_HOST``)."""


def cdef(header: str) -> str:
    """The declarations of a generated header as cffi reads them: its typedefs, prototypes
    and integer constants, without the preprocessor's guards.

    >>> cdef("#ifndef A_H\\n#define A_H\\n#define A_OK 0 /* fine */\\nint f(void);\\n#endif")
    '#define A_OK 0\\nint f(void);'
    """
    lines = []
    for line in header.splitlines():
        if line.startswith("#"):
            match = re.fullmatch(r"#define (\w+) (-?\d+)\b.*", line)
            if match:
                lines.append(f"#define {match[1]} {match[2]}")
            continue
        lines.append(line)
    return "\n".join(lines).strip()


class _Params:
    """The host's parameter maps: handle ``k`` (from 1) is the ``k``-th distinct map."""

    def __init__(self) -> None:
        self.maps: list[FrozenMap[str, str]] = []
        self.index: dict[FrozenMap[str, str], int] = {}

    def handle(self, params: FrozenMap[str, str]) -> int:
        found = self.index.get(params)
        if found is None:
            for key, value in params.items():
                _utf8(key), _utf8(value)
            self.maps.append(params)
            found = self.index[params] = len(self.maps)
        return found

    def get(self, handle: int) -> FrozenMap[str, str]:
        return self.maps[handle - 1]


class CEngine:
    """The C functions of a built spec (:func:`~mostate.clib.build.build`) behind
    ``Engine.apply``'s signature.

    ``check`` passes ``PREFIX_CHECK``: the invariants and properties are checked as a
    monitored engine checks them (``Engine(spec, monitor=True)``, the default).
    """

    def __init__(self, spec: Spec, built: Built, *, check: bool = True) -> None:
        self.spec, self.built, self.p = spec, built, built.module.prefix
        self.flags = _CHECK if check else 0
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef(built.module.header))
        self.lib: Any = self.ffi.dlopen(str(built.path))
        self.params = _Params()
        self.empty = self.params.handle(EMPTY_PARAMS)
        self._host = self._make_host()

    def _make_host(self) -> Any:
        ffi, p, params = self.ffi, self.p, self.params

        def equal(_ctx: Any, a: Any, b: Any) -> int:
            return int(params.get(_int(ffi, a)) == params.get(_int(ffi, b)))

        def edited(out: Any, value: FrozenMap[str, str]) -> int:
            out[0] = ffi.cast(f"{p}_params", params.handle(value))
            return 0

        def with_(_ctx: Any, m: Any, k: Any, v: Any, out: Any) -> int:
            key, value = ffi.string(k).decode(), ffi.string(v).decode()
            return edited(out, params.get(_int(ffi, m)).set(key, value))

        def without(_ctx: Any, m: Any, k: Any, out: Any) -> int:
            return edited(out, params.get(_int(ffi, m)).remove(ffi.string(k).decode()))

        self._callbacks = (
            ffi.callback(f"int(void *, {p}_params, {p}_params)", equal),
            ffi.callback(
                f"int(void *, {p}_params, const char *, const char *, {p}_params *)", with_
            ),
            ffi.callback(f"int(void *, {p}_params, const char *, {p}_params *)", without),
        )
        host = ffi.new(f"{p}_host *")
        host.ctx = ffi.NULL
        host.empty = ffi.cast(f"{p}_params", self.empty)
        host.equal, host.without = self._callbacks[0], self._callbacks[2]
        setattr(host, "with", self._callbacks[1])  # `with` is a Python keyword
        return host

    def apply(self, state: DeviceState, request: Request, *, valid: bool = False) -> Outcome:
        """The outcome the C function for ``request`` gives on ``state``."""
        op = self.spec.ops.get(request.op)
        if op is None:
            raise NotRepresentable(f"operation {request.op!r} is not in spec {self.spec.name!r}")
        keep: list[Any] = []
        ffi, p = self.ffi, self.p
        fn = getattr(self.lib, f"{p}_{op.name}_{request.actor.role.value}")
        req = ffi.new(f"{p}_request *")
        req.service = self._str(request.service, keep)
        req.instance = self._str(request.instance if op.has_target else None, keep)
        req.declines = int(request.actor.role is Role.SERVER and request.confirm is Confirm.DECLINE)
        st = self._state(state, keep)
        post = ffi.new(f"{p}_slot[]", 256)
        out = ffi.new(f"{p}_outcome *")
        out.post, out.post_cap = post, 256
        flags = self.flags | (_VALID if valid else 0)
        if op.args:
            args = self._args(op.name, op.args, request, keep)
            rc = fn(self._host, st, req, args, flags, out)
        else:
            rc = fn(self._host, st, req, flags, out)
        if rc == 1:
            raise CapacityError(f"{p}_{op.name}: more instances than the C build holds")
        if rc != 0:
            raise HostError(f"{p}_{op.name}: the C function returned {rc}")
        return self._outcome(state, request, out)

    # -- into C ---------------------------------------------------------------------------------

    def _str(self, text: str | None, keep: list[Any]) -> Any:
        if text is None:
            return self.ffi.NULL
        made = self.ffi.new("char[]", _utf8(text))
        keep.append(made)
        return made

    def _state(self, state: DeviceState, keep: list[Any]) -> Any:
        ffi, p = self.ffi, self.p
        services = ffi.new(f"{p}_service[]", max(1, len(state.services)))
        keep.append(services)
        for index, (name, held) in enumerate(state.services.items()):
            slots = ffi.new(f"{p}_slot[]", max(1, len(held.instances)))
            keep.append(slots)
            for k, (inst_name, inst) in enumerate(held.instances.items()):
                slots[k].name = self._str(inst_name, keep)
                self._record(slots[k].rec, inst)
            services[index].name = self._str(name, keep)
            services[index].slots = slots
            services[index].n = len(held.instances)
        st = ffi.new(f"{p}_state *")
        st.services, st.n = services, len(state.services)
        keep.append(st)
        return st

    def _record(self, rec: Any, inst: Instance) -> None:
        for field in Field:
            if field is Field.PARAMS:
                rec.params = self.ffi.cast(f"{self.p}_params", self.params.handle(inst.params))
            else:
                setattr(rec, _member(field), int(bool(getattr(inst, field.value))))

    def _args(self, op: str, decls: Any, request: Request, keep: list[Any]) -> Any:
        args = self.ffi.new(f"{self.p}_{op}_args *")
        keep.append(args)
        for decl in decls:
            value = request.args.get(decl.name)
            member = _c_name(decl.name)
            if value is None:
                if decl.type is Type.BOOL:
                    raise NotRepresentable(f"{op}: a bool argument left out")
                setattr(args, member, self.ffi.NULL)
                continue
            if not isinstance(value, ARG_TYPES[decl.type]):
                raise NotRepresentable(f"{op}: {decl.name!r} of the wrong type")
            if isinstance(value, bool):
                setattr(args, member, int(value))
            elif isinstance(value, str):
                setattr(args, member, self._str(value, keep))
            else:
                handle = self.params.handle(value)
                setattr(args, member, self.ffi.cast(f"{self.p}_params", handle))
        return args

    # -- out of C -------------------------------------------------------------------------------

    def _outcome(self, state: DeviceState, request: Request, out: Any) -> Outcome:
        ffi = self.ffi
        clause = out.clause
        location = None
        if clause.file != ffi.NULL:
            location = Location(_text(ffi, clause.file), clause.line, clause.column)
        decided = Clause(_text(ffi, clause.kind), _text(ffi, clause.name), location)
        reason = None if out.reason == ffi.NULL else _text(ffi, out.reason)
        after = self._after(state, request.service, out)
        return Outcome(Status(out.status), after, decided, self._result(out), reason)

    def _after(self, state: DeviceState, service: str | None, out: Any) -> DeviceState:
        if service is None:
            return state
        records = {
            _text(self.ffi, out.post[i].name): self._instance(out.post[i].rec)
            for i in range(out.n_post)
        }
        before = state.services.get(service)
        if before is not None and dict(before.instances.items()) == records:
            return state
        return state.with_service(service, Service(FrozenMap(records)))

    def _instance(self, rec: Any) -> Instance:
        flags = {
            f.value: bool(getattr(rec, _member(f)))
            for f in Field
            if f not in (Field.PARAMS, Field.EXISTS)
        }
        return Instance(**flags, params=self.params.get(_int(self.ffi, rec.params)))

    def _result(self, out: Any) -> Any:
        kind = out.result_kind
        if kind == 0:
            return None
        name = _text(self.ffi, out.result_name)
        return name if kind == 1 else self._instance(out.result)


def _member(field: Field) -> str:
    return _c_name(field.value)


def _c_name(name: str) -> str:
    from ..codegen.c import C_KEYWORDS

    return f"{name}_" if name in C_KEYWORDS else name


def _int(ffi: Any, handle: Any) -> int:
    return int(ffi.cast("uintptr_t", handle))


def _text(ffi: Any, pointer: Any) -> str:
    return bytes(ffi.string(pointer)).decode("utf-8")


def _utf8(text: str) -> bytes:
    if "\x00" in text:
        raise NotRepresentable(f"{text!r} holds NUL, which a C string cannot")
    return text.encode("utf-8")
