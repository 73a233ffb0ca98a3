"""Simulated devices for load tests and campaign rehearsals (``mostate dm fleet``): many
devices, each with its account, its state kept from one round of sessions to the next, and, if
asked, a way of misbehaving that a real fleet has.

A :class:`Behaviour` makes a device decline every confirmation its user is asked (a campaign
with consent gets 215), fail every command that would change it (500, nothing changed) in the
first ``fails`` packages that would change it (``-1``: always), acknowledge flags it never sets
(``lies``: its answer is 200, its flags stay as they were, which only a read-back finds), or say
its time zone in its DevInfo. :func:`run_fleet` runs one session of each device, at most
``concurrency`` at a time, and returns what each ended with.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from aiohttp import ClientError, ClientSession, TCPConnector

from ..engine import Engine
from ..model import DeviceState, Outcome, Request, Status
from .client import DeviceSession, standard_tree
from .device import NO_USER, Answer, Device, Held, Ui, answering
from .endpoint import ZONE_NODE
from .http import SessionError, run_device
from .messages import Add, Code, Delete, Package, Replace
from .messages import Sequence as SequenceCommand
from .messages import Status as StatusElement
from .session import Account, Nonces


@attrs.frozen
class Behaviour:
    """How one simulated device misbehaves (the default: it does not)."""

    declines: bool = False
    fails: int = 0
    lies: bool = False
    zone: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Behaviour:
        """From ``{"declines": true, "fails": 2, "lies": false, "zone": "Europe/Paris"}``
        (every key optional); ValueError naming a bad one.

        >>> Behaviour.from_json({"fails": -1}).fails
        -1
        """
        known = set(attrs.fields_dict(cls)) | {"device"}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"{extra[0]}: not a behaviour (declines, fails, lies, zone)")
        fails = data.get("fails", 0)
        if isinstance(fails, bool) or not isinstance(fails, int) or fails < -1:
            raise ValueError("fails: a whole number of sessions, or -1 for always")
        flags = {k: data.get(k, False) for k in ("declines", "lies")}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise ValueError("declines and lies: true or false")
        zone = data.get("zone")
        if zone is not None and not isinstance(zone, str):
            raise ValueError("zone: a time zone name")
        return cls(flags["declines"], fails, flags["lies"], zone)


@attrs.define
class SimDevice:
    """One simulated device across rounds: its id, account, state, nonces and sessions."""

    device_id: str
    account: Account
    state: DeviceState = DeviceState()
    behaviour: Behaviour = Behaviour()
    nonces: Nonces = Nonces()
    sessions: int = 0
    failed: int = 0
    """How many packages it failed so far (see :attr:`Behaviour.fails`)."""

    @property
    def failing(self) -> bool:
        fails = self.behaviour.fails
        return fails == -1 or self.failed < fails


class _Lying(Engine):
    """The engine of a device that answers 200 to a flag change and keeps its flags: its
    later reads (a read-back) show the flags as they were."""

    def apply(self, state: DeviceState, request: Request) -> Outcome:
        outcome = super().apply(state, request)
        if request.op in _FLAG_OPS and outcome.status == Status.OK:
            return attrs.evolve(outcome, state=state)
        return outcome


_FLAG_OPS = frozenset({"set_active", "set_default", "set_locked"})
_LIARS: dict[int, _Lying] = {}


def _lying(engine: Engine) -> _Lying:
    """One lying engine per spec (an engine compiles its operations once)."""
    key = id(engine.spec)
    if key not in _LIARS:
        _LIARS[key] = _Lying(engine.spec)
    return _LIARS[key]


class _Misbehaving(Device):
    """A device that fails its changing commands (see :class:`Behaviour`)."""

    def __init__(self, base: Device, sim: SimDevice) -> None:
        super().__init__(base.engine, base.tree, fixed=base.fixed, accounts=base.accounts)
        self.sim = sim

    def process(
        self,
        state: DeviceState,
        package: Package | str | bytes,
        server_id: str | None = None,
        ui: Ui = NO_USER,
        chunks: dict[str, Held] | None = None,
    ) -> tuple[DeviceState, Package]:
        after, response = super().process(state, package, server_id, ui, chunks)
        if self.sim.failing and isinstance(package, Package) and _changes(package):
            self.sim.failed += 1
            failed = tuple(
                attrs.evolve(e, code=int(Code.COMMAND_FAILED))
                if isinstance(e, StatusElement)
                and e.cmd in ("Add", "Replace", "Delete")
                and e.code == 200
                else e
                for e in response.body
            )
            return state, attrs.evolve(response, body=failed)
        return after, response


def _changes(package: Package) -> bool:
    commands = list(package.commands())
    inner = [c for s in commands if isinstance(s, SequenceCommand) for c in s.commands]
    return any(isinstance(c, Add | Replace | Delete) for c in [*commands, *inner])


@attrs.frozen
class FleetRun:
    """What one round of sessions gave: how many were done, refused or failed, how long it
    took, each session's time, and the first errors."""

    devices: int
    done: int
    refused: int
    failed: int
    seconds: float
    session_seconds: tuple[float, ...] = attrs.field(eq=False, repr=False)
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.session_seconds)

        def ms(at: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, int(at * len(ordered)))] * 1000, 1)

        return {
            "devices": self.devices,
            "done": self.done,
            "refused": self.refused,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "sessions_per_second": round(self.devices / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
            "p99_ms": ms(0.99),
            "errors": list(self.errors[:10]),
        }


async def run_fleet(
    http: ClientSession,
    url: str,
    base: Device,
    devices: Sequence[SimDevice],
    *,
    concurrency: int = 100,
    wbxml: bool = False,
    tls: ssl.SSLContext | None = None,
) -> FleetRun:
    """One session of every device against the server at ``url``, at most ``concurrency`` at
    a time; each device keeps its new state and nonces for the next round."""
    gate = asyncio.Semaphore(concurrency)
    counts = {"done": 0, "refused": 0, "failed": 0}
    errors: list[str] = []
    seconds: list[float] = []

    async def one(sim: SimDevice) -> None:
        async with gate:
            began = time.perf_counter()
            session = _session(base, sim, url)
            try:
                await run_device(http, url, session, wbxml=wbxml, tls=tls)
            except (SessionError, ClientError, OSError) as err:
                counts["failed"] += 1
                errors.append(f"{sim.device_id}: {err}")
                return
            seconds.append(time.perf_counter() - began)
        sim.sessions += 1
        sim.state, sim.nonces = session.state, session.nonces
        counts["refused" if session.refused else "done"] += 1
        if session.refused:
            errors.append(f"{sim.device_id}: {session.refused}")

    started = time.perf_counter()
    await asyncio.gather(*(one(d) for d in devices))
    return FleetRun(len(devices), counts["done"], counts["refused"], counts["failed"],
                    time.perf_counter() - started, tuple(seconds), tuple(errors))  # fmt: skip


def _session(base: Device, sim: SimDevice, url: str) -> DeviceSession:
    behaviour = sim.behaviour
    fixed = standard_tree(sim.device_id, sim.account, url)
    if behaviour.zone:
        fixed[ZONE_NODE] = behaviour.zone
    engine = _lying(base.engine) if behaviour.lies else base.engine
    device = Device(engine, base.tree, fixed=fixed)
    if behaviour.fails:
        device = _Misbehaving(device, sim)
    ui = answering(then=Answer.DECLINE if behaviour.declines else Answer.ACCEPT)
    return DeviceSession(
        device, sim.state, sim.account, sim.device_id, server_url=url, nonces=sim.nonces, ui=ui
    )


def connector(concurrency: int) -> TCPConnector:
    """The HTTP connector of a fleet: as many connections as sessions at once."""
    return TCPConnector(limit=concurrency)
