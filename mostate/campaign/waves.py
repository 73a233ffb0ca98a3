"""Which wave each device of a run is in, decided once, when the run is created.

Waves are taken in the order the definition gives them, and a device is in the first wave that
claims it: a ``devices`` wave claims the ids it lists, a ``rule`` wave the devices whose
inventory state satisfies its rule (an expression of the spec's language, ``target`` the
campaign's target, read on the campaign's service as a goal is), and a ``percent`` wave that
share of the devices, chosen by a hash of the campaign id and the device id: the same device
falls in the same wave whenever the campaign is created again, and no list of the fleet is
held to choose. The devices no wave claims are in a last wave of their own, ``rest``.

>>> from mostate.omadm.rollout import Rollout, Wave
>>> rollout = Rollout("c", "active(target)", "new", waves=(
...     Wave("pilot", devices=frozenset({"lab-1"})),
...     Wave("empty", rule="not any(i, exists(i))"),
...     Wave("half", percent=50.0)))
>>> waves = WaveAssigner(rollout)
>>> waves.wave_of("lab-1", DeviceState()), waves.wave_of("x", DeviceState())
(1, 2)
>>> sorted({waves.wave_of(f"d{k}", None) for k in range(50)})
[3, 4]
"""

from __future__ import annotations

import hashlib

from ..errors import SpecError
from ..explore.plan import Goal
from ..model import DeviceState
from ..omadm.rollout import Rollout, RolloutError


class WaveAssigner:
    """The waves of one rollout, each rule parsed once (RolloutError naming a bad rule)."""

    def __init__(self, rollout: Rollout) -> None:
        self.rollout = rollout
        self.rules: dict[int, Goal] = {}
        self.ranges: dict[int, tuple[float, float]] = {}
        share = 0.0
        for k, wave in enumerate(rollout.waves):
            if wave.rule is not None:
                try:
                    self.rules[k] = Goal.parse(wave.rule, rollout.service, rollout.target)
                except SpecError as err:
                    raise RolloutError(f"waves[{k}].rule: {err}") from None
            if wave.percent is not None:
                self.ranges[k] = (share, share + wave.percent / 100)
                share += wave.percent / 100

    @property
    def rest(self) -> int:
        """The number of the wave of the devices no wave claims."""
        return len(self.rollout.waves) + 1

    def wave_of(self, device: str, state: DeviceState | None) -> int:
        """The wave (from 1) of ``device`` in ``state`` (None: a state that cannot be read,
        which no rule claims)."""
        where = _fraction(self.rollout.id, device)
        for k, wave in enumerate(self.rollout.waves):
            if wave.devices is not None and device in wave.devices:
                return k + 1
            rule = self.rules.get(k)
            if rule is not None and state is not None and rule.holds(state):
                return k + 1
            span = self.ranges.get(k)
            if span is not None and span[0] <= where < span[1]:
                return k + 1
        return self.rest


def _fraction(campaign: str, device: str) -> float:
    """Where a device falls in [0, 1), the same for the same campaign and device."""
    digest = hashlib.sha256(f"{campaign}\0{device}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
