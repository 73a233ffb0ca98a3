"""Reading ``campaign plan``'s output back: each device's own requests, for a server to send.

``mostate dm serve --plans PLANS.jsonl`` gives every device that connects the plan made for it
(its DM device id is the inventory's ``device``), so a campaign runs end to end: plan, serve,
report. A fleet of a million devices holds a few thousand distinct plans, so each distinct plan
text is read once and shared by every device that has it: memory grows by one dict entry per
device, not by its requests. A device whose goal was unreachable is sent nothing; so is a
device the file does not name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from ..engine import Engine
from ..errors import RequestError
from ..model import Request
from .server import Server
from .tree import TreeConfig

MAX_PLAN = 1_000
"""The most requests one plan line may hold (a plan is a few steps; this bounds a bad file)."""


MAX_LINE = 2**20
"""The longest plan line read (bytes); a longer one is refused, not read into memory."""


def plan_lines(path: str) -> Iterator[str]:
    """The lines of a plan file, each read with a bound (OSError, ValueError if too long)."""
    with open(path, encoding="utf-8") as handle:
        while True:
            text = handle.readline(MAX_LINE + 1)
            if not text:
                return
            if len(text) > MAX_LINE:
                raise ValueError(f"a line longer than {MAX_LINE} characters")
            yield text


def read_plans(lines: Iterable[str]) -> dict[str, tuple[Request, ...]]:
    """Each device's requests from plan lines; ValueError naming the first bad line.

    Unreachable devices get an empty plan; error lines (``{"line": N, "error": ...}``, inputs
    ``campaign plan`` could not read) name no plan and are skipped.

    >>> plans = read_plans([
    ...     '{"device": "a", "plan": [{"actor": "server", "op": "add", "service": "MMS", '
    ...     '"instance": "new"}]}',
    ...     '{"device": "b", "unreachable": "locked by the user"}',
    ... ])
    >>> [r.op for r in plans["a"]], plans["b"]
    (['add'], ())
    """
    out: dict[str, tuple[Request, ...]] = {}
    shared: dict[str, tuple[Request, ...]] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            device, requests = _line(text, shared)
        except (ValueError, RequestError) as err:
            raise ValueError(f"line {number}: {err}") from None
        if device is None:
            continue
        if device in out:
            raise ValueError(f"line {number}: device {device!r} has a plan already")
        out[device] = requests
    return out


def _line(
    text: str, shared: dict[str, tuple[Request, ...]]
) -> tuple[str | None, tuple[Request, ...]]:
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if "error" in obj:
        return None, ()
    device = obj.get("device")
    if not isinstance(device, str) or not device:
        raise ValueError("no 'device' (a non-empty string)")
    if "unreachable" in obj:
        return device, ()
    plan = obj.get("plan")
    if not isinstance(plan, list):
        raise ValueError(f"device {device!r}: neither 'plan' (a list) nor 'unreachable'")
    key = json.dumps(plan, sort_keys=True)
    requests = shared.get(key)
    if requests is None:
        try:
            requests = shared[key] = _requests(plan)
        except (ValueError, RequestError) as err:
            raise ValueError(f"device {device!r}: {err}") from None
    return device, requests


def plan_requests(text: str) -> tuple[Request, ...]:
    """The requests of one plan given as its JSON text (a list of requests, as ``campaign
    plan --store`` records it); ValueError or RequestError saying what is wrong.

    >>> [r.op for r in plan_requests('[{"actor": "server", "op": "get_active"}]')]
    ['get_active']
    """
    if len(text) > MAX_LINE:
        raise ValueError(f"a plan longer than {MAX_LINE} characters")
    plan = json.loads(text)
    if not isinstance(plan, list):
        raise ValueError("a plan is a JSON list of requests")
    return _requests(plan)


def _requests(plan: list[object]) -> tuple[Request, ...]:
    if len(plan) > MAX_PLAN:
        raise ValueError(f"a plan of more than {MAX_PLAN} requests")
    return tuple(Request.from_json(r) for r in plan)


def check_sendable(
    engine: Engine, tree: TreeConfig, plans: Iterable[tuple[str, Sequence[Request]]]
) -> None:
    """RequestError naming the first device whose plan a server could not send (a request
    with no SyncML form); each distinct plan is given its form once, before any device is
    served, so a bad plan is refused up front rather than mid-campaign.

    >>> from mostate import load_spec
    >>> request = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    >>> check_sendable(Engine(load_spec()), TreeConfig(), [("d1", (request,))])
    """
    checked: set[tuple[Request, ...]] = set()
    server = Server(engine, tree)
    for device, plan in plans:
        requests = tuple(plan)
        if requests in checked:
            continue
        checked.add(requests)
        try:
            server.build(requests)
        except RequestError as err:
            raise RequestError(f"device {device!r}: {err}") from None


def read_sendable_plans(
    path: str, engine: Engine, tree: TreeConfig
) -> tuple[dict[str, tuple[Request, ...]], bytes]:
    """A plan file's plans, each checked sendable (:func:`check_sendable`), and the file's
    bytes (a campaign's id is their digest); OSError, ValueError or RequestError saying what
    is wrong."""
    plans = read_plans(plan_lines(path))
    check_sendable(engine, tree, plans.items())
    with open(path, "rb") as handle:
        return plans, handle.read()
