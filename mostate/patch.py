"""What a step changed, as a JSON Merge Patch (RFC 7386) from the state before to the state after.

``mostate run`` prints this for each line rather than the whole state, so a trace of 2,000 lines
writes what its requests did (a few dozen bytes each), not 2,000 copies of a growing device. The
patches applied in order to the start state give every state of the run back
(:func:`apply_patch`). Device states have no nulls, so ``null`` in a patch always means "gone".
"""

from __future__ import annotations

from typing import Any

from .model import DeviceState


def merge_patch(before: Any, after: Any) -> Any:
    """The merge patch that turns JSON ``before`` into ``after`` (``{}``: nothing changed).

    >>> merge_patch({"MMS": {"a": {"active": False}, "b": {}}}, {"MMS": {"a": {"active": True}}})
    {'MMS': {'a': {'active': True}, 'b': None}}
    >>> merge_patch({"MMS": {}}, {"MMS": {}})
    {}
    """
    if not isinstance(before, dict) or not isinstance(after, dict):
        return after
    patch: dict[str, Any] = {}
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            patch[key] = None
        elif key not in before:
            patch[key] = after[key]
        elif before[key] != after[key]:
            patch[key] = merge_patch(before[key], after[key])
    return patch


def apply_patch(target: Any, patch: Any) -> Any:
    """``target`` with the merge ``patch`` applied (RFC 7386's algorithm).

    >>> apply_patch({"MMS": {"a": {"active": False}, "b": {}}}, {"MMS": {"b": None}})
    {'MMS': {'a': {'active': False}}}
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_patch(out.get(key), value)
    return out


def state_changes(before: DeviceState, after: DeviceState) -> dict[str, Any]:
    """``merge_patch(before.to_json(), after.to_json())``, in time proportional to what changed:
    a step shares every service and instance it leaves alone with the state before, and those
    are skipped by identity rather than compared as JSON.

    >>> a = DeviceState.from_json({"MMS": {"a": {}, "b": {}}, "WAP": {"w": {}}})
    >>> b = DeviceState.from_json({"MMS": {"a": {"locked": True}}, "WAP": {"w": {}}})
    >>> state_changes(a, b) == merge_patch(a.to_json(), b.to_json())
    True
    """
    patch: dict[str, Any] = {}
    names = before.services.keys() | after.services.keys()
    for name in sorted(names):
        old, new = before.services.get(name), after.services.get(name)
        if old is new:
            continue
        if new is None:
            patch[name] = None
        else:
            changed = _instances(old.instances if old is not None else {}, new.instances)
            if changed:
                patch[name] = changed
    return patch


def _instances(old: Any, new: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is b or a == b:
            continue
        out[name] = (
            None
            if b is None
            else b.to_json()
            if a is None
            else merge_patch(a.to_json(), b.to_json())
        )
    return out
