"""What came of a campaign: each device's statuses read against its plan.

A device's results are the statuses it answered to its plan's requests, in order (JSON lines
``{"device": ID, "statuses": [200, 215]}``, or the steps a ``dm serve`` store holds, matched to
the plan by request: :func:`statuses_by_request`). Each device ends as one :data:`OUTCOMES`:
``reached`` (every request answered 200; a device with an empty plan is there already),
``declined`` (the first one that was not is 215, the user said no), ``failed`` (another status),
``unreachable`` (the plan said the goal cannot be reached) or ``not seen`` (no status for some
request). Each step of
the plans is counted the same way. The inventory is brought up to date by replaying, through the
engine, the requests the device answered 200; a device whose answers the engine does not
reproduce is counted as ``diverged`` and keeps the last state both agree on. Planning the rest
is one more ``campaign plan`` on the updated inventory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ..engine import Engine
from ..model import DeviceState, Request, Status

OUTCOMES = ("reached", "declined", "failed", "unreachable", "not seen")
STEP_OUTCOMES = ("ok", "declined", "failed", "not seen")

Statuses = tuple[int | None, ...]


@attrs.frozen
class DeviceResult:
    """One device after the campaign: its outcome and its state as far as it is known."""

    device: str
    outcome: str
    state: Any
    """The state's JSON, updated with the requests the device answered 200."""
    steps: tuple[str, ...] = ()
    diverged: bool = False


@attrs.frozen
class Summary:
    """Devices by outcome, and each step's outcomes (step 1 first).

    >>> Summary.of([DeviceResult("a", "reached", {}, ("ok",))]).devices
    {'reached': 1, 'declined': 0, 'failed': 0, 'unreachable': 0, 'not seen': 0}
    """

    devices: dict[str, int] = attrs.field(eq=False)
    steps: tuple[dict[str, int], ...] = attrs.field(eq=False)
    diverged: int = 0

    @classmethod
    def of(cls, results: Iterable[DeviceResult]) -> Summary:
        devices: Counter[str] = Counter()
        steps: list[Counter[str]] = []
        diverged = 0
        for result in results:
            devices[result.outcome] += 1
            diverged += result.diverged
            for k, step in enumerate(result.steps):
                if k == len(steps):
                    steps.append(Counter())
                steps[k][step] += 1
        return cls(
            {o: devices[o] for o in OUTCOMES},
            tuple({o: c[o] for o in STEP_OUTCOMES} for c in steps),
            diverged,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "steps": [{"step": k, **c} for k, c in enumerate(self.steps, 1)],
            "diverged": self.diverged,
        }


def read_results(lines: Iterable[str]) -> dict[str, Statuses]:
    """Statuses by device from JSON lines ``{"device": ID, "statuses": [...]}``; ValueError
    naming the line for one that is not.

    >>> read_results(['{"device": "a", "statuses": [200, null]}'])
    {'a': (200, None)}
    """
    out: dict[str, Statuses] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
            device, statuses = obj["device"], obj["statuses"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f'line {number}: not {{"device": ID, "statuses": [...]}}') from None
        if (
            not isinstance(device, str)
            or not isinstance(statuses, list)
            or not all(
                s is None or (isinstance(s, int) and not isinstance(s, bool)) for s in statuses
            )
        ):
            raise ValueError(f"line {number}: a device id and a list of integer statuses")
        out[device] = tuple(statuses)
    return out


def results_from_store(devices: Sequence[Mapping[str, Any]]) -> dict[str, Statuses]:
    """Statuses by device from a ``dm serve`` store's devices (``Store.devices()``)."""
    return {d["device"]: tuple(s["status"] for s in d["steps"]) for d in devices}


def statuses_by_request(
    plan: Sequence[Request], steps: Sequence[tuple[Any, int | None]]
) -> Statuses:
    """The status of each request of ``plan`` among a ``dm serve`` store's steps (request JSON,
    status), matched by request, in order, rather than by position: a step the plan does not
    hold is passed over, and a planned request never sent is None. Which server sent it does
    not matter.

    >>> add = Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"})
    >>> get = {"actor": "server", "server_id": "s1", "op": "get_active", "service": "MMS"}
    >>> statuses_by_request([add], [(get, 200), (add.to_json(), 215)])
    (215,)
    """
    out: list[int | None] = []
    sent = [_unsigned(r) for r, _ in steps]
    at = 0
    for request in plan:
        wanted = _unsigned(request.to_json())
        found = next((k for k in range(at, len(sent)) if sent[k] == wanted), None)
        out.append(None if found is None else steps[found][1])
        at = at if found is None else found + 1
    return tuple(out)


def _unsigned(request: Any) -> Any:
    """A request's JSON without the server that sent it."""
    if isinstance(request, dict):
        return {k: v for k, v in request.items() if k != "server_id"}
    return request


def device_result(
    engine: Engine, device: str, state: Any, plan: Sequence[Request] | None, got: Statuses | None
) -> DeviceResult:
    """The outcome of one device whose inventory state is ``state`` (JSON).

    >>> from mostate import load_spec, Actor
    >>> add = Request(Actor.server(), "add", "MMS", "new")
    >>> r = device_result(Engine(load_spec()), "d", {}, [add], (200,))
    >>> r.outcome, r.state["MMS"]["new"]["active"]
    ('reached', False)
    """
    if plan is None:
        return DeviceResult(device, "unreachable", state)
    answers = list(got or ())
    steps = tuple(_step(answers[k] if k < len(answers) else None) for k in range(len(plan)))
    if got is None and plan:  # a device with nothing to do is at the goal, seen or not
        return DeviceResult(device, "not seen", state, steps)
    current = DeviceState.from_json(state)
    diverged = False
    for request, status in zip(plan, answers, strict=False):
        if status != Status.OK:
            continue
        answer = engine.apply(current, request)
        if answer.status != Status.OK:
            diverged = True
            break
        current = answer.state
    first = next((s for s in steps if s != "ok"), "reached")
    outcome = first if first in ("reached", "declined", "not seen") else "failed"
    return DeviceResult(device, outcome, current.to_json(), steps, diverged)


def _step(status: int | None) -> str:
    if status is None:
        return "not seen"
    if status == Status.OK:
        return "ok"
    return "declined" if status == Status.NOT_EXECUTED else "failed"


def report(
    engine: Engine,
    inventory: Iterable[str],
    plans: Iterable[str],
    results: Mapping[str, Statuses],
) -> Iterator[DeviceResult]:
    """Each device's result, from the inventory and the plan lines ``campaign plan`` wrote for
    it (in the same order; lines that were errors there are skipped in both)."""
    planned = (json.loads(p) for p in plans if p.strip())
    for text in inventory:
        if not text.strip():
            continue
        plan = next(planned, None)
        if plan is None:
            raise ValueError("there are fewer plans than devices")
        if "error" in plan:  # the line was bad: campaign plan said so
            continue
        line = json.loads(text)
        if plan.get("device") != line.get("device"):
            raise ValueError(f"the plans are not for this inventory: {plan.get('device')!r}")
        requests = None
        if "plan" in plan:
            requests = [Request.from_json(r) for r in plan["plan"]]
        yield device_result(
            engine, line["device"], line["state"], requests, results.get(line["device"])
        )
