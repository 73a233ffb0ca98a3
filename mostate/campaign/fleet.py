"""Synthetic fleets: device states with the mix an operator sees, for tests and benchmarks.

Each device has one to four MMS instances named from a small pool (so that fleets share states,
as real ones do); about half have one Active, some a Default, some a Locked one, each with an
MMSC parameter from a few values. Every distinct state is checked once against the spec's
invariants by the engine; one that breaks them is drawn again. The same seed gives the same
fleet, so a benchmark or a test can be re-run exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..engine import Engine
from ..errors import RequestError
from ..model import DeviceState

NAMES = ("operator", "legacy", "roaming", "user1", "user2", "test")
MMSC = ("http://mmsc.operator", "http://mms.legacy", "http://mmsc.partner")
SIZES = (1, 1, 2, 2, 2, 3, 4)
"""How many instances a device holds, drawn uniformly from this list (mostly one or two)."""


def synthetic_fleet(
    engine: Engine, devices: int, *, seed: int = 0, service: str = "MMS"
) -> Iterator[tuple[str, DeviceState]]:
    """``devices`` (id, state) pairs, the same for the same seed.

    >>> from mostate import load_spec
    >>> fleet = list(synthetic_fleet(Engine(load_spec()), 3, seed=1))
    >>> [device for device, _ in fleet]
    ['dev-0000000', 'dev-0000001', 'dev-0000002']
    """
    for device, state in synthetic_states(engine, devices, seed=seed, service=service):
        yield device, DeviceState.from_json(state)


def synthetic_inventory(
    engine: Engine, devices: int, *, seed: int = 0, service: str = "MMS"
) -> Iterator[str]:
    """The same fleet as :func:`synthetic_fleet`, as inventory lines (``{"device", "state"}``
    JSON, newline ended), made without building a state value per device.

    >>> from mostate import load_spec
    >>> next(synthetic_inventory(Engine(load_spec()), 1, seed=1))[:33]
    '{"device": "dev-0000000", "state"'
    """
    for device, state in synthetic_states(engine, devices, seed=seed, service=service):
        yield json.dumps({"device": device, "state": state}) + "\n"


def synthetic_states(
    engine: Engine, devices: int, *, seed: int = 0, service: str = "MMS"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``devices`` (id, state JSON) pairs; each distinct state validated once by ``engine``."""
    rng = random.Random(seed)
    valid: dict[str, bool] = {}
    made = 0
    while made < devices:
        state = _draw(rng, service)
        key = json.dumps(state, sort_keys=True)
        ok = valid.get(key)
        if ok is None:
            ok = valid[key] = _keeps_invariants(engine, state)
        if not ok:  # a mix the spec forbids: draw again
            continue
        yield f"dev-{made:07d}", state
        made += 1


def _keeps_invariants(engine: Engine, state: dict[str, Any]) -> bool:
    try:
        engine.validate(DeviceState.from_json(state))
    except RequestError:
        return False
    return True


def _draw(rng: random.Random, service: str) -> dict[str, Any]:
    # Sorted, as an export from a device database lists them.
    names = sorted(rng.sample(NAMES, rng.choice(SIZES)))
    active = rng.choice([*names, None]) if rng.random() < 0.6 else None
    default = rng.choice([*names, None]) if rng.random() < 0.4 else None
    instances: dict[str, Any] = {}
    for name in names:
        record: dict[str, Any] = {"params": {"MMSC": rng.choice(MMSC)}}
        if name == active:
            record["active"] = True
        if name == default:
            record["default"] = True
        if rng.random() < 0.15:
            record["locked"] = True
        instances[name] = record
    return {service: instances}
