""" "Did you mean ...?": the closest of the known names to a misspelt one.

One rule for every place that names something (an expression's names and functions, a spec's
keys and operations, the command line's subcommands and options), so a typo is answered the
same way everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name ``word`` most likely misspells, or None when none is close.

    >>> closest("targt", ["target", "actor", "status"]), closest("xyz", ["target"])
    ('target', None)
    >>> closest("set_actve", ["set_active", "set_default"])
    'set_active'
    """
    found = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(suggestion: str | None, quote: str = "'") -> str:
    """``"; did you mean 'x'?"`` for a suggestion, ``""`` for none.

    >>> did_you_mean("active"), did_you_mean(None)
    ("; did you mean 'active'?", '')
    """
    return f"; did you mean {quote}{suggestion}{quote}?" if suggestion else ""
