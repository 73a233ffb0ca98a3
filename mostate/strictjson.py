"""JSON read strictly, for untrusted input: one error type, and nothing read two ways.

``json.loads`` keeps the last of two equal keys (``{"status": 200, "status": 404}`` reads as
404, whatever the writer meant), raises ValueError for an integer of more than 4,300 digits and
RecursionError for deep nesting. :func:`load` turns each into a
:class:`~mostate.errors.RequestError` with a message a person can act on.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import RequestError


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def load(text: str) -> Any:
    """The JSON value of ``text``; RequestError when it is not JSON, repeats a key in an
    object, holds a number Python refuses or is nested too deep.

    >>> load('{"a": 1}')
    {'a': 1}
    >>> load('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    mostate.errors.RequestError: the key 'a' appears twice in one object
    """
    try:
        return json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as err:
        raise RequestError(f"not JSON: {err.msg} (column {err.colno})") from None
    except _Duplicate as err:
        raise RequestError(f"the key {str(err)!r} appears twice in one object") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise RequestError("a number with too many digits") from None
    except RecursionError:
        raise RequestError("nested too deep") from None
