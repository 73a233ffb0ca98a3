"""Every error mostate raises, under one root.

The tree::

    MostateError
     +-- SpecError (ValueError)          a spec file that does not load: file:line:col: message
     |    +-- SpecErrors                 several of them, every one the loader found
     +-- RequestError (ValueError)       a request or state that is not well formed (status 400)
     |    +-- InvalidState               a well-formed state that breaks the spec's invariants
     +-- ReplayError (AssertionError)    a checker's counterexample the engine does not reproduce

Each error subclasses the builtin it refines, so callers that only know the builtin still catch it.
"""

from __future__ import annotations

import attrs


class MostateError(Exception):
    """The root of every error mostate raises on purpose."""


@attrs.frozen
class Location:
    """A place in a spec file, 1-based, for messages a spec author can jump to.

    >>> str(Location("ccs.toml", 12, 5)), str(Location("gone.toml", 0, 0))
    ('ccs.toml:12:5', 'gone.toml')
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        if self.line < 1:  # the file as a whole (one that cannot be read)
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


class SpecError(MostateError, ValueError):
    """A spec that cannot be loaded; the message starts with ``file:line:col:``.

    ``culprit`` is the text at fault when there is one (a misspelt name, an unknown key), for a
    caret under it; ``suggestion`` the name that was probably meant (the message says "did you
    mean" too).

    >>> str(SpecError("unknown flag 'actv'", Location("ccs.toml", 3, 9)))
    "ccs.toml:3:9: unknown flag 'actv'"
    """

    def __init__(
        self,
        message: str,
        location: Location,
        *,
        culprit: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        super().__init__(f"{location}: {message}")
        self.message = message
        self.location = location
        self.culprit = culprit
        self.suggestion = suggestion

    @property
    def errors(self) -> tuple[SpecError, ...]:
        """Every error this one stands for (itself; :class:`SpecErrors` holds several)."""
        return (self,)


class SpecErrors(SpecError):
    """Several errors in one spec file, in the order of the file; it reads as the first (its
    message, location and suggestion), and :attr:`errors` holds them all.

    >>> both = SpecErrors((SpecError("a", Location("s.toml", 1, 1)),
    ...                    SpecError("b", Location("s.toml", 4, 2))))
    >>> str(both)
    's.toml:1:1: a (and 1 more error)'
    >>> [str(e) for e in both.errors]
    ['s.toml:1:1: a', 's.toml:4:2: b']
    """

    def __init__(self, errors: tuple[SpecError, ...]) -> None:
        first = errors[0]
        super().__init__(
            first.message, first.location, culprit=first.culprit, suggestion=first.suggestion
        )
        more = len(errors) - 1
        self.args = (f"{first} (and {more} more error{'s' if more > 1 else ''})",)
        self._errors = errors

    @property
    def errors(self) -> tuple[SpecError, ...]:
        return self._errors

    def __str__(self) -> str:
        return str(self.args[0])


class RequestError(MostateError, ValueError):
    """A request, trace line or state document that is not well formed (answered with 400)."""


class InvalidState(RequestError):
    """A state document that reads well but breaks an invariant of the spec: no device can be in
    it, so no checker starts from it. The message names each invariant and where it breaks."""


class ReplayError(MostateError, AssertionError):
    """A checker reported a violation that the engine, replaying it, does not show.

    This is never a result about the spec: it means one of mostate's interpretations of the spec
    disagrees with another, which is a bug in mostate.
    """


class SolversDisagree(MostateError, AssertionError):
    """Two solvers answer one query differently (``verify --cross-check``): a bug in a solver or
    in mostate's encoding, never a result about the spec. The message names the check."""
