"""Inventory lines in, plan lines out: the campaign planner on text, with a cache on the text.

An inventory line is ``{"device": ID, "state": STATE}`` (JSON, one a line). Its output line is
``{"device": ID, "plan": [REQUEST, ...]}`` or ``{"device": ID, "unreachable": REASON}``; a line
that cannot be planned (not JSON, no device id, a state no device can be in) gives
``{"line": N, "device": ID?, "error": REASON}``, so nothing is dropped without a word.

Reading and writing JSON costs more than planning once the plans are cached, so the part of an
output line after the device id is cached on the state's JSON text (keys sorted): a fleet of a
million devices holds about a hundred thousand distinct states. Both caches are bounded
(:data:`MAX_CACHED`), so memory does not grow with the fleet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import attrs

from .. import strictjson
from ..engine import Engine
from ..errors import RequestError
from ..model import DeviceState
from ..spec import load_spec
from .planner import Campaign, CampaignPlanner

SHOWN_ERRORS = 10
MAX_CACHED = 500_000
"""The most output tails (and canonical plans) kept; past it a cache starts afresh."""


@attrs.frozen
class Counts:
    """How the lines of a run ended: planned, unreachable, or an error (bad input).

    >>> Counts(2, 1, 0) + Counts(1, 0, 1, ("line 4: not JSON",))
    Counts(planned=3, unreachable=1, errors=1, first_errors=('line 4: not JSON',))
    """

    planned: int = 0
    unreachable: int = 0
    errors: int = 0
    first_errors: tuple[str, ...] = ()
    """The first :data:`SHOWN_ERRORS` bad lines, ``line N: why``, for a person to read."""

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.planned + other.planned,
            self.unreachable + other.unreachable,
            self.errors + other.errors,
            (self.first_errors + other.first_errors)[:SHOWN_ERRORS],
        )

    @property
    def devices(self) -> int:
        return self.planned + self.unreachable + self.errors


class LinePlanner:
    """Output lines for inventory lines, with the cache on each state's text.

    >>> planner = LinePlanner(Campaign("exists(target)", "new"))
    >>> print(planner.line('{"device": "d1", "state": {}}', 1), end="")  # doctest: +ELLIPSIS
    {"device": "d1", "plan": [{"actor": "server", "op": "add", ...}]}
    >>> planner.line('{"device": "d1"}', 7)
    '{"line": 7, "device": "d1", "error": "no \\'state\\'"}\\n'
    """

    def __init__(self, campaign: Campaign, engine: Engine | None = None) -> None:
        self.planner = CampaignPlanner(engine or Engine(load_spec(campaign.spec)), campaign)
        self.tails: dict[str, tuple[str, int]] = {}
        self.tally = [0, 0, 0]  # planned, unreachable, errors: ints, since a line costs ~2 µs
        self.first_errors: list[str] = []

    @property
    def counts(self) -> Counts:
        """How the lines so far ended."""
        planned, unreachable, errors = self.tally
        return Counts(planned, unreachable, errors, tuple(self.first_errors))

    def reset(self) -> None:
        """Count afresh (the caches stay)."""
        self.tally = [0, 0, 0]
        self.first_errors = []

    def line(self, text: str, number: int) -> str:
        """The output line for inventory line ``number``, newline ended."""
        device_json, key = _fast_key(text)
        cached = self.tails.get(key) if key else None
        if cached is None:
            try:
                obj = strictjson.load(text)
            except RequestError as err:
                return self._error(number, None, str(err))
            device, state, wrong = _record(obj)
            if wrong:
                return self._error(number, device, wrong)
            device_json = json.dumps(device)
            key = key or "\0" + json.dumps(state, sort_keys=True, separators=(",", ":"))
            cached = self.tails.get(key)
            if cached is None:
                cached = self._tail(state)
                if len(self.tails) >= MAX_CACHED:
                    self.tails.clear()
                self.tails[key] = cached
        tail, kind = cached
        if kind == _ERROR:
            return self._error(number, json.loads(device_json), tail)
        self.tally[kind] += 1
        return f'{{"device": {device_json}, {tail}}}\n'

    def _error(self, number: int, device: str | None, reason: str) -> str:
        self.tally[_ERROR] += 1
        if len(self.first_errors) < SHOWN_ERRORS:
            self.first_errors.append(f"line {number}: {reason}")
        out: dict[str, object] = {"line": number}
        if device is not None:
            out["device"] = device
        out["error"] = reason
        return json.dumps(out) + "\n"

    def _tail(self, state: Any) -> tuple[str, int]:
        try:
            value = self.planner.engine.validate(DeviceState.from_json(state))
        except RequestError as err:
            return f"state: {err}", _ERROR
        if len(self.planner.cache) >= MAX_CACHED:
            self.planner.cache.clear()
        requests, reason = self.planner.found(value)
        if requests is None:
            return f'"unreachable": {json.dumps(reason)}', _UNREACHABLE
        return f'"plan": {json.dumps([r.to_json() for r in requests])}', _PLANNED


_PLANNED, _UNREACHABLE, _ERROR = 0, 1, 2


_PREFIX = '{"device": '
_STATE = ', "state": '
_DECODER = json.JSONDecoder()


def _fast_key(text: str) -> tuple[str, str]:
    """For a line written as ``{"device": ID, "state": STATE}`` (as mostate writes them), the
    device id's JSON text and the text after it, which decides the output line but for the
    id; ("", "") for any other line, which is read in full. A line whose text after the id has
    been read in full before gets the cached output without being read again.

    >>> _fast_key('{"device": "a\\\\"b", "state": {}}\\n')
    ('"a\\\\"b"', '{}}')
    """
    if not text.startswith(_PREFIX):
        return "", ""
    try:
        device, end = _DECODER.raw_decode(text, len(_PREFIX))
    except ValueError:
        return "", ""
    if not isinstance(device, str) or not device or not text.startswith(_STATE, end):
        return "", ""
    return text[len(_PREFIX) : end], text[end + len(_STATE) :].rstrip()


def _record(obj: Any) -> tuple[str | None, Any, str]:
    """The device id and state of an inventory line, and what is wrong with it ("": nothing)."""
    if not isinstance(obj, dict):
        return None, None, "not a JSON object"
    device = obj.get("device")
    if not isinstance(device, str) or not device:
        return None, None, "no 'device' (a non-empty string)"
    if "state" not in obj:
        return device, None, "no 'state'"
    extra = sorted(set(obj) - {"device", "state"})
    if extra:
        return device, None, f"unknown field {extra[0]!r}"
    return device, obj["state"], ""


@lru_cache(maxsize=4)
def worker_planner(campaign: Campaign) -> LinePlanner:
    """The planner of ``campaign`` in this process, built once (in a worker, on first use)."""
    return LinePlanner(campaign)


def plan_chunk(campaign: Campaign, lines: list[tuple[int, str]]) -> tuple[str, Counts]:
    """The output of numbered inventory lines as one string, and their counts: the unit of
    work a process pool or a Dask worker is given.

    >>> lines = [(1, '{"device": "a", "state": {}}')]
    >>> out, counts = plan_chunk(Campaign("exists(target)", "new"), lines)
    >>> counts
    Counts(planned=1, unreachable=0, errors=0, first_errors=())
    """
    planner = worker_planner(campaign)
    planner.reset()
    out = "".join(planner.line(text, number) for number, text in lines)
    return out, planner.counts


def numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Inventory lines with their numbers (from 1), blank lines skipped (not devices)."""
    for number, text in enumerate(lines, 1):
        if text.strip():
            yield number, text
