"""Before any device is touched: is the goal reachable from every distinct inventory state,
and does every URI the plans use resolve in the binding?

``campaign create`` plans the whole inventory first (into a file, not the store) and reads the
plans back with the inventory, line by line: every distinct state the goal cannot be reached
from is listed once, with how many devices are in it and the spec's reason (the one ``mostate
plan`` gives), and every distinct plan, with the read-backs that follow it, is built into the
SyncML package the server would send, each URI resolved by the tree the devices use. A campaign
with an unreachable state or a URI that does not resolve is not created (unless the operator
allows unreachable devices: they are then recorded as such, never sent anything).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from ..engine import Engine
from ..errors import RequestError
from ..model import Actor, Request
from ..omadm.messages import ItemCommand, Package, Sequence
from ..omadm.server import Server
from ..omadm.tree import TreeConfig, UriError

SHOWN = 20
"""The most unreachable states and URI problems a pre-flight keeps (it counts them all)."""


@attrs.frozen
class Unreachable:
    """A distinct inventory state the goal cannot be reached from."""

    state: str
    reason: str
    devices: int
    first: str
    """The first device in that state."""


@attrs.frozen
class Preflight:
    """What a pre-flight found: devices, planned and unreachable; distinct plans; the first
    unreachable states and URI problems; bad inventory lines."""

    devices: int = 0
    planned: int = 0
    unreachable_devices: int = 0
    unreachable: tuple[Unreachable, ...] = ()
    plans: int = 0
    bad_uris: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def ok(self, *, allow_unreachable: bool = False) -> bool:
        """Whether the campaign may be created."""
        return (
            not self.bad_uris
            and not self.errors
            and (allow_unreachable or not self.unreachable_devices)
        )

    def to_json(self) -> dict[str, object]:
        return {
            "devices": self.devices,
            "planned": self.planned,
            "unreachable_devices": self.unreachable_devices,
            "unreachable_states": [attrs.asdict(u) for u in self.unreachable],
            "distinct_plans": self.plans,
            "bad_uris": list(self.bad_uris),
            "errors": list(self.errors),
        }


Line = dict[str, Any]


def paired(inventory: Iterable[str], plans: Iterable[str]) -> Iterator[tuple[Line, Line]]:
    """Each non-blank inventory line (parsed) with the plan line ``campaign plan`` wrote for
    it, in order; a bad inventory line is paired with its error line."""
    out = iter(plans)
    for text in inventory:
        if not text.strip():
            continue
        plan = json.loads(next(out))
        try:
            line = json.loads(text)
        except ValueError:
            line = {}
        yield (line if isinstance(line, dict) else {}), plan


def preflight(
    engine: Engine,
    tree: TreeConfig,
    pairs: Iterable[tuple[Line, Line]],
    service: str,
    verify: bool,
) -> Preflight:
    """Check every device's plan (see the module docstring)."""
    devices = planned = unreachable_devices = 0
    unreachable: dict[str, Unreachable] = {}
    checked: set[str] = set()
    bad: list[str] = []
    errors: list[str] = []
    for line, plan in pairs:
        devices += 1
        if "error" in plan:
            errors.append(f"line {plan.get('line')}: {plan['error']}")
            continue
        if "unreachable" in plan:
            unreachable_devices += 1
            state = json.dumps(line.get("state"), sort_keys=True)
            seen = unreachable.get(state)
            unreachable[state] = Unreachable(
                state,
                str(plan["unreachable"]),
                (seen.devices if seen else 0) + 1,
                seen.first if seen else str(plan["device"]),
            )
            continue
        planned += 1
        text = json.dumps(plan["plan"], sort_keys=True)
        if text not in checked:
            checked.add(text)
            bad += uri_problems(engine, tree, plan["plan"], service, verify)
    return Preflight(
        devices,
        planned,
        unreachable_devices,
        tuple(sorted(unreachable.values(), key=lambda u: -u.devices)[:SHOWN]),
        len(checked),
        tuple(bad[:SHOWN]),
        tuple(errors[:SHOWN]),
    )


def uri_problems(
    engine: Engine, tree: TreeConfig, plan: list[object], service: str, verify: bool
) -> list[str]:
    """What is wrong with one plan's package: a request with no SyncML form, or a URI the
    tree does not resolve (each named with the request)."""
    try:
        requests = [Request.from_json(r) for r in plan]
        names = sorted({r.instance for r in requests if r.instance and r.service == service})
        if verify:
            actor = requests[0].actor if requests else Actor.server()
            requests += [Request(actor, "get", service, name) for name in names]
        package, _ = Server(engine, tree).build(requests)
    except (RequestError, ValueError) as err:
        return [f"{json.dumps(plan)}: {err}"]
    out = []
    for command in _commands(package):
        for item in command.items:
            uri = (item.target or "").split("?list=")[0]
            try:
                tree.resolve(uri)
            except UriError as err:
                out.append(f"{command.NAME} {uri}: {err}")
    return out


def _commands(package: Package) -> Iterator[ItemCommand]:
    for command in package.commands():
        if isinstance(command, Sequence):
            yield from (c for c in command.commands if isinstance(c, ItemCommand))
        elif isinstance(command, ItemCommand):
            yield command
