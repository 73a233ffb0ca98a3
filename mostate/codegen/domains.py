"""Instances as generated code sees them: the parts of a quantifier's domain, reads, references.

A quantifier of the interpreter walks a list of ``(service, name)`` references
(:func:`mostate.concrete.domain_refs`). Generated code splits that list into *parts* whose kind
is known statically: the named instances of the request's service (a loop over a dict), the
service's fresh name, the named instances of the other services (a loop), their fresh names, and
the fresh name of every unnamed service. In each part a read is a field of a record at hand or a
value known outright (a fresh name before the step has no flags), and a comparison of two
instances is often decided before the code runs (an instance of another service is never the
target). The parts come in the interpreter's order within a service; across services they do
not, which matters only when a body may raise, so such bodies are left to the interpreter.
"""

from __future__ import annotations

from typing import assert_never

from ..concrete import ABSENT as ABSENT_RECORD
from ..concrete import FRESH
from ..frozenmap import FrozenMap
from ..rules import Comparison, Domain, Field
from .context import Cx
from .residual import (
    SERVICE,
    Compare,
    FieldOf,
    Has,
    Known,
    Lit,
    Lookup,
    Loop,
    OverOthers,
    OverOtherServices,
    OverRecords,
    RecordOf,
    RefTo,
    Same,
    Term,
    Well,
)
from .values import (
    Code,
    Dyn,
    GlobalFresh,
    Named,
    NoneRef,
    Other,
    OtherFresh,
    Ref,
    ServiceFresh,
    Unsupported,
    ViewCode,
)

ABSENT_VALUES = {field: getattr(ABSENT_RECORD, field.value) for field in Field}
"""The fields of a name the view does not hold (the interpreter's ``ABSENT`` record)."""

FRESH_NAME = Lit(FRESH)
_FIELDS = list(Field)

Part = tuple["Loop | None", Ref]
"""A loop (``None`` for a single instance), and what the bound variable is in it."""


def parts(domain: Domain, cx: Cx, ordered: bool = False) -> list[Part]:
    """The parts of ``domain``'s instances, as ``domain_refs`` lists them, within a service.

    A service's dict may be out of name order (``FrozenMap._adopt``); the walk follows the
    dict unless ``ordered``, which a body that may raise needs: ``all`` and ``any`` stop at
    the first instance that decides them, so the interpreter's order decides whether a later
    one raises.
    """
    out: list[Part] = []
    if domain is not Domain.OTHERS:
        out += _service_parts(cx, ordered)
    if domain is not Domain.SERVICE:
        out += _other_parts(cx, ordered)
    return out


def _service_parts(cx: Cx, ordered: bool = False) -> list[Part]:
    unit = cx.unit
    if cx.changed_only and cx.target is not None:
        # The other names keep their records from a state known to keep the invariant.
        return [(None, cx.target), (None, ServiceFresh())]
    name, rec = unit.fresh("n"), unit.fresh("r")
    # Before and after a step that rewrote the service, the rewritten records hold every name
    # the service had (and the target): walking them walks the union the interpreter walks.
    view = cx.post
    known = frozenset({view.records}) if view.base else frozenset()
    named = Named(name, FrozenMap({view.records: rec}), known)
    loop = OverRecords(name, rec, view.records, ordered)
    return [(loop, named), (None, ServiceFresh())]


def frames(domain: Domain, cx: Cx) -> bool:
    """Whether :func:`frame_parts` applies: a transition over a ``point`` view."""
    return cx.target is not None and cx.pre.base and cx.post.point and domain is not Domain.OTHERS


def frame_parts(domain: Domain, cx: Cx) -> list[Part] | None:
    """The parts of ``domain`` for a transition whose state after differs from the state before
    at the target alone (a ``point`` view): the other names, each with one record read both
    before and after (so ``unchanged(i)`` and ``locked'(i) -> locked(i)`` fold to ``true`` for
    them), the target, and the fresh name; ``None`` when the views are not of that kind.

    The target is walked after the other names, not in key order: callers use these parts only
    for bodies that cannot raise, where the order of the walk does not change the answer.
    """
    if not frames(domain, cx):
        return None
    assert cx.target is not None
    unit = cx.unit
    name, rec = unit.fresh("n"), unit.fresh("r")
    post, pre = cx.post.records, cx.pre.records
    others = Named(
        name,
        FrozenMap({post: rec, pre: rec}),
        frozenset({post, pre}),
        distinct=frozenset({cx.target.name}),
    )
    loop = OverRecords(name, rec, post, unless=cx.target.name)
    out: list[Part] = [(loop, others), (None, cx.target), (None, ServiceFresh())]
    if domain is not Domain.SERVICE:
        out += _other_parts(cx)
    return out


def _other_parts(cx: Cx, ordered: bool = False) -> list[Part]:
    unit = cx.unit
    svc, holder, name, rec = unit.fresh("s"), unit.fresh("v"), unit.fresh("n"), unit.fresh("r")
    fresh_svc = unit.fresh("s")
    return [
        (OverOthers(svc, holder, name, rec, ordered), Other(svc, name, rec)),
        (OverOtherServices(fresh_svc), OtherFresh(fresh_svc)),
        (None, GlobalFresh()),
    ]


ABSENT = Known(Well.ABSENT)


def fresh_record(view: ViewCode) -> Term:
    """The record of the names ``view`` does not hold."""
    return view.fresh if view.fresh is not None else ABSENT


def record_src(ref: Ref, view: ViewCode) -> Term:
    """The term of ``ref``'s record in ``view`` (the record of ``none`` has every field
    false)."""
    fresh = fresh_record(view)
    match ref:
        case Named():
            held = ref.recs.get(view.records)
            if held is not None:
                return held
            if view.records in ref.absent_in:
                return fresh
            return Lookup(view.records, ref.name, fresh)
        case ServiceFresh():
            return fresh
        case Other():
            return ref.rec
        case OtherFresh() | GlobalFresh():
            return ABSENT
        case NoneRef():
            return Known(Well.NONE_RECORD)
        case Dyn():
            return RecordOf(ref.term, view.records, fresh)
        case _:
            assert_never(ref)


def read(field: Field, ref: Ref, view: ViewCode) -> Code:
    """``field`` of ``ref`` in ``view``."""
    if isinstance(ref, NoneRef):
        return Code.known(False)  # the interpreter reads every field of none as false
    if _absent(ref, view):
        return Code.known(ABSENT_VALUES[field])
    if isinstance(ref, Named) and view.records in ref.fields:
        return ref.fields[view.records][_FIELDS.index(field)]
    if field is Field.EXISTS:
        if isinstance(ref, Other) or (isinstance(ref, Named) and view.records in ref.exists_in):
            return Code.known(True)
        if isinstance(ref, Named) and view.base and view.records not in ref.recs:
            return Code(Has(view.records, ref.name))
    risky = isinstance(ref, Dyn) and ref.risky
    return Code(FieldOf(record_src(ref, view), field), risky=risky)


def _absent(ref: Ref, view: ViewCode) -> bool:
    """Whether ``ref`` is known to have the absent record in ``view``."""
    match ref:
        case OtherFresh() | GlobalFresh():
            return True
        case ServiceFresh():
            return view.fresh is None
        case Named():
            return view.records in ref.absent_in and view.fresh is None
        case Other() | NoneRef() | Dyn():
            return False
        case _:
            assert_never(ref)


def unchanged(ref: Ref, cx: Cx) -> Code:
    """``unchanged(ref)``: its record before and after the step has the same five fields."""
    if isinstance(ref, NoneRef):
        raise Unsupported("unchanged(none)")
    if cx.pre == cx.post or isinstance(ref, Other | OtherFresh | GlobalFresh):
        if isinstance(ref, Dyn) and ref.risky:
            raise Unsupported("unchanged() of a the() on a step that changes nothing")
        return Code.known(True)
    before, after = record_src(ref, cx.pre), record_src(ref, cx.post)
    if before == after and not isinstance(ref, Dyn):
        return Code.known(True)  # one record read both before and after (``frame_parts``)
    return Code(Same(before, after), risky=isinstance(ref, Dyn) and ref.risky)


def ref_tuple(ref: Ref) -> Term:
    """The term of the interpreter's form of ``ref``: a ``(service, name)`` reference, or
    ``None``."""
    match ref:
        case Named():
            return RefTo(SERVICE, ref.name)
        case ServiceFresh():
            return RefTo(SERVICE, FRESH_NAME)
        case Other():
            return RefTo(ref.service, ref.name)
        case OtherFresh():
            return RefTo(ref.service, FRESH_NAME)
        case GlobalFresh():
            return RefTo(FRESH_NAME, FRESH_NAME)
        case NoneRef():
            return Lit(None)
        case Dyn():
            return ref.term
        case _:
            assert_never(ref)


def same_ref(a: Ref, b: Ref) -> Code:
    """Whether two references name the same instance; decided statically when their kinds
    differ (names are never the fresh one, services never the fresh one) or their sources are
    the same."""
    risky = any(isinstance(r, Dyn) and r.risky for r in (a, b))
    if isinstance(a, Dyn) or isinstance(b, Dyn):
        return Code(Compare(Comparison.EQ, ref_tuple(a), ref_tuple(b)), risky=risky)
    if type(a) is not type(b):
        return Code.known(False)
    match a, b:
        case Named(), Named():
            if a.name == b.name:
                return Code.known(True)
            if a.name in b.distinct or b.name in a.distinct:
                return Code.known(False)
            return Code(Compare(Comparison.EQ, a.name, b.name))
        case Other(), Other():
            if (a.service, a.name) == (b.service, b.name):
                return Code.known(True)
            return Code(Compare(Comparison.EQ, ref_tuple(a), ref_tuple(b)))
        case OtherFresh(), OtherFresh():
            if a.service == b.service:
                return Code.known(True)
            return Code(Compare(Comparison.EQ, a.service, b.service))
        case _:
            return Code.known(True)  # the same singleton kind: none, a service's or every fresh
