"""Counterexamples a person reads at once: what plays no part is taken out, names are familiar.

A solver's model is correct but noisy: a parameter map ``{"s5": "s10"}`` nobody asked for,
``"confirm": "accept"`` where no confirmation matters, services ``S1``, ``S2`` and instances
``i4``, ``i7``. :func:`tidy` tries one simplification at a time and keeps it only when the engine
still shows the same violation on the last step (and the start state still keeps the invariants),
so a tidied trace is as much a counterexample as the raw one. Names become those of the spec's
examples: services ``MMS``, ``WAP``, ``IMS`` (then ``S4``...), instances ``a``, ``b``, ``c``...
in order of appearance, the same in the start state, the requests and every table printed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from .engine import Engine
from .errors import ReplayError, RequestError
from .trace import Trace

SERVICES = ("MMS", "WAP", "IMS")
"""The names services get, in order of appearance (then S4, S5, ...)."""

_Doc = dict[str, Any]


def tidy(trace: Trace, engine: Engine) -> Trace:
    """``trace`` with every simplification that keeps its violation applied.

    >>> from mostate import DeviceState, Request, load_spec, specs_dir
    >>> engine = Engine(load_spec(specs_dir() / "mutants" / "delete-ignores-lock.toml"))
    >>> start = DeviceState.from_json({"S1": {"i4": {"locked": True, "params": {"s5": "s10"}},
    ...                                       "i7": {}}})
    >>> r = Request.from_json({"actor": "user", "op": "delete", "service": "S1", "instance": "i4"})
    >>> print(tidy(Trace(start, (r,), "user_respects_lock"), engine).to_jsonl(), end="")
    {"start": {"MMS": {"a": {"active": false, "default": false, "locked": true, "params": {}}}}}
    {"actor": "user", "op": "delete", "service": "MMS", "instance": "a"}
    """
    if trace.violates is None or not trace.requests or not _shows(trace, engine):
        return trace
    doc = trace.to_json()
    renamed = _renamed(doc)
    if _shows_doc(renamed, engine):
        doc = renamed
    # Until nothing more goes: one edit can make another possible (an instance dropped lets its
    # service go). Every edit shrinks the trace, so this ends; the bound only makes that plain.
    for _ in range(_PASSES):
        changed = False
        for edit in _simplifications(doc):
            candidate = _apply(doc, edit)
            if candidate is not None and _shows_doc(candidate, engine):
                doc, changed = candidate, True
        if not changed:
            break
    renamed = _renamed(doc)  # again: a dropped instance frees its letter
    return Trace.from_json(renamed if _shows_doc(renamed, engine) else doc)


_PASSES = 8
"""At most this many rounds of simplification (a trace has few parts; two rounds are usual)."""


def _shows(trace: Trace, engine: Engine) -> bool:
    """The trace starts from a state keeping the invariants and its last step breaks what it
    names."""
    if engine.state_violations(trace.start):
        return False
    try:
        trace.confirm(engine)
    except ReplayError:
        return False
    return True


def _shows_doc(doc: _Doc, engine: Engine) -> bool:
    try:
        return _shows(Trace.from_json(doc), engine)
    except RequestError:
        return False


_Edit = tuple[str, int, str, str]
"""(what, request index, service, instance): one candidate simplification."""


def _simplifications(doc: _Doc) -> list[_Edit]:
    """Candidate edits, most helpful first; each is tried on the trace as tidied so far."""
    out: list[_Edit] = []
    for k in range(len(doc["requests"])):
        out += [("no confirm", k, "", ""), ("drop params", k, "", ""), ("no params", k, "", "")]
    for service, members in doc["start"].items():
        out.append(("drop service", 0, service, ""))
        for name in members:
            out += [("drop instance", 0, service, name), ("blank params", 0, service, name)]
    return out


def _apply(doc: _Doc, edit: _Edit) -> _Doc | None:
    what, k, service, name = edit
    match what:
        case "no confirm":
            return _request_edit(doc, k, lambda r: _without(r, "confirm", "accept"))
        case "drop params":  # an optional map left out reads as {}
            return _request_edit(doc, k, lambda r: _without(r, "params", {}))
        case "no params":
            return _request_edit(doc, k, _empty_params)
        case "drop service":
            return _start_edit(doc, lambda st: _drop(st, service))
        case "drop instance":
            return _start_edit(doc, lambda st: _drop(st, service, name))
        case _:
            return _start_edit(doc, lambda st: _blank_params(st, service, name))


def _request_edit(doc: _Doc, k: int, edit: Callable[[_Doc], _Doc | None]) -> _Doc | None:
    if k >= len(doc["requests"]):
        return None
    new = edit(dict(doc["requests"][k]))
    if new is None:
        return None
    return {**doc, "requests": [*doc["requests"][:k], new, *doc["requests"][k + 1 :]]}


def _start_edit(doc: _Doc, edit: Callable[[_Doc], _Doc | None]) -> _Doc | None:
    start = {s: dict(instances) for s, instances in doc["start"].items()}
    new = edit(start)
    return None if new is None else {**doc, "start": new}


def _without(request: _Doc, key: str, value: object) -> _Doc | None:
    if request.get(key) != value:
        return None
    return {k: v for k, v in request.items() if k != key}


def _empty_params(request: _Doc) -> _Doc | None:
    if not request.get("params"):
        return None
    return {**request, "params": {}}


def _drop(start: _Doc, service: str, name: str | None = None) -> _Doc | None:
    if service not in start:
        return None
    if name is None:
        return {s: v for s, v in start.items() if s != service}
    if name not in start[service]:
        return None
    rest = {n: v for n, v in start[service].items() if n != name}
    return {**start, service: rest} if rest else {s: v for s, v in start.items() if s != service}


def _blank_params(start: _Doc, service: str, name: str) -> _Doc | None:
    record = start.get(service, {}).get(name)
    if not record or not record.get("params"):
        return None
    return {**start, service: {**start[service], name: {**record, "params": {}}}}


def _renamed(doc: _Doc) -> _Doc:
    """Services and instances renamed in order of appearance (start state, then requests)."""
    services: dict[str, str] = {}
    instances: dict[tuple[str, str], str] = {}

    def service(name: str) -> str:
        if name not in services:
            n = len(services)
            services[name] = SERVICES[n] if n < len(SERVICES) else f"S{n + 1}"
        return services[name]

    def instance(svc: str, name: str) -> str:
        key = (svc, name)
        if key not in instances:
            taken = {v for (s, _), v in instances.items() if s == svc}
            instances[key] = next(n for n in _letters() if n not in taken)
        return instances[key]

    start = {
        service(s): {instance(s, n): record for n, record in members.items()}
        for s, members in doc["start"].items()
    }
    requests = []
    for r in doc["requests"]:
        new = dict(r)
        if "service" in r:
            new["service"] = service(r["service"])
        if "instance" in r and "service" in r:
            new["instance"] = instance(r["service"], r["instance"])
        requests.append(new)
    return {**doc, "start": start, "requests": requests}


def _letters() -> Iterator[str]:
    """a, b, ..., z, aa, ab, ..."""
    for size in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=size):
            yield "".join(letters)
