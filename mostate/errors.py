"""Every error mostate raises, under one root.

The tree::

    MostateError
     +-- SpecError (ValueError)          a spec file that does not load: file:line:col: message
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

    >>> str(SpecError("unknown flag 'actv'", Location("ccs.toml", 3, 9)))
    "ccs.toml:3:9: unknown flag 'actv'"
    """

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(f"{location}: {message}")
        self.message = message
        self.location = location


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
