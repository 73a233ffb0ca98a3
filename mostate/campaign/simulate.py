"""Simulated results of a campaign, for trials, tests and the notebook: each device runs its
plan through the engine, some are never seen, some users decline, some requests fail.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator

import attrs

from ..engine import Engine
from ..model import Confirm, DeviceState, Request, Status


@attrs.frozen
class Mix:
    """How often a device is never seen, and a request declined by the user (215) or failed
    (500); each request that is not stops the device's run there."""

    unseen: float = 0.1
    declined: float = 0.03
    failed: float = 0.01


def simulate_results(
    engine: Engine,
    inventory: Iterable[str],
    plans: Iterable[str],
    *,
    mix: Mix = Mix(),
    seed: int = 0,
) -> Iterator[str]:
    """Result lines ``{"device": ID, "statuses": [...]}`` for the devices with a plan.

    >>> from mostate import load_spec
    >>> inv = ['{"device": "a", "state": {}}']
    >>> add = {"actor": "server", "op": "add", "service": "MMS", "instance": "n"}
    >>> plans = [json.dumps({"device": "a", "plan": [add]})]
    >>> list(simulate_results(Engine(load_spec()), inv, plans, mix=Mix(0, 0, 0)))
    ['{"device": "a", "statuses": [200]}\\n']
    """
    rng = random.Random(seed)
    for text, plan_text in zip(inventory, plans, strict=True):
        plan = json.loads(plan_text)
        if "plan" not in plan or rng.random() < mix.unseen:
            continue
        state = DeviceState.from_json(json.loads(text)["state"])
        statuses: list[int] = []
        for raw in plan["plan"]:
            request = Request.from_json(raw)
            draw = rng.random()
            if draw < mix.declined:
                request = attrs.evolve(request, confirm=Confirm.DECLINE)
            outcome = engine.apply(state, request)
            status = int(outcome.status)
            if mix.declined <= draw < mix.declined + mix.failed:
                status = int(Status.COMMAND_FAILED)
            statuses.append(status)
            if status != Status.OK:
                break
            state = outcome.state
        yield json.dumps({"device": plan["device"], "statuses": statuses}) + "\n"
