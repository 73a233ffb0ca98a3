"""What the partial evaluator knows about a value while it specialises: static or residual.

A :class:`Code` is either a value known when the code is generated (``static``) or a residual
term (:mod:`.residual`) that computes it at run time. An instance reference is described by
*where* it lives, which is often known statically even when its name is not: an instance of the
request's service (:class:`Named`, :class:`ServiceFresh`), of another service (:class:`Other`,
:class:`OtherFresh`), the instance that stands for every unnamed one of every unnamed service
(:class:`GlobalFresh`), ``none`` (:class:`NoneRef`), or a reference computed at run time
(:class:`Dyn`, a ``(service, name)`` tuple or ``None``, the interpreter's own representation).

Every term held here was built by the generator from names it chose itself (``S``, ``n3``,
``pre``) and from values; none of it is text of the spec.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from ..frozenmap import FrozenMap
from .residual import Local, Term


class Unsupported(Exception):
    """A construct the generator does not specialise: the engine interprets that operation."""


@attrs.frozen
class Code:
    """A value of the expression language: ``value`` when ``static``, else ``term`` computes it.

    ``risky`` marks code that may raise :class:`~mostate.concrete.Ambiguous` (it evaluates a
    ``the``): folding must never drop such code where the interpreter would run it.
    """

    term: Term | None = None
    static: bool = False
    value: Any = None
    risky: bool = False
    negation: Term | None = None  # the term of ``not term``, when it is at hand

    @classmethod
    def known(cls, value: Any) -> Code:
        """A value known while generating.

        >>> Code.known(True).static, Code.known(True).value
        (True, True)
        """
        return cls(static=True, value=value)


@attrs.frozen
class ViewCode:
    """A view of the request's service in generated code: ``records`` is the local holding
    the records by instance name, ``fresh`` the local holding the record every other name has
    (``None``: the absent record, known statically). ``base`` says it is the state before the
    step, whose records are all existing :class:`~mostate.model.Instance` values. ``point``
    says the view differs from the state before the step at the target alone: ``records`` is
    a copy of the base's dict in which only the target's record (possibly new) was set, so
    every other name maps to the very record it had before (*frame* reasoning: an effect of
    the form ``if i == target then e else field(i)``)."""

    records: Local
    fresh: Local | None
    base: bool
    point: bool = False


BASE = ViewCode(Local("pre"), None, True)


@attrs.frozen
class Named:
    """An instance of the request's service with a real name (never the fresh one).

    ``recs`` gives, per view (by its ``records`` local), the local holding the record when the
    generated code has it at hand; ``exists_in`` the views where it is known to exist;
    ``absent_in`` the views where it is known to be absent (its record is the view's fresh one);
    ``distinct`` the names it is known not to be: a loop over the instances other
    than the target is ``Named`` distinct from ``N``; ``fields``, per view, the code of each
    field of its record there (in :class:`~mostate.rules.Field` order) when the generator wrote
    that record itself: a field an effect set to a constant reads as that constant.
    """

    name: Local
    recs: FrozenMap[Local, Local] = FrozenMap()
    exists_in: frozenset[Local] = frozenset()
    absent_in: frozenset[Local] = frozenset()
    distinct: frozenset[Local] = frozenset()
    fields: FrozenMap[Local, tuple[Code, ...]] = FrozenMap()


@attrs.frozen
class ServiceFresh:
    """``(S, FRESH)``: every name of the request's service that the state does not mention."""


@attrs.frozen
class Other:
    """An existing instance of another service, whose record no step of the operation changes."""

    service: Local
    name: Local
    rec: Local


@attrs.frozen
class OtherFresh:
    """``(s, FRESH)`` for another service ``s``: absent before and after the step."""

    service: Local


@attrs.frozen
class GlobalFresh:
    """``(FRESH, FRESH)``: the instances of every service the state does not mention."""


@attrs.frozen
class NoneRef:
    """The literal ``none``."""


@attrs.frozen
class Dyn:
    """A reference computed at run time: a ``(service, name)`` tuple, or ``None``."""

    term: Term
    risky: bool = False


Ref: TypeAlias = "Named | ServiceFresh | Other | OtherFresh | GlobalFresh | NoneRef | Dyn"
Value: TypeAlias = "Code | Ref"
