"""``campaign plan --store``: the plans recorded in a store as they are written, in batches;
``campaign inventory`` and ``campaign progress``: the store's inventory out, devices' statuses in.

The planner writes its output in input order, one line per non-blank inventory line, so each
output line is paired with the inventory line it came from without either being held for long:
the lines the planner has read but whose plans are not yet out wait in a queue (a few chunks at
most), or, when worker processes read the file themselves, the file is read a second time beside
the output. Every ``batch`` devices are one transaction: a crash loses at most the batch being
written, never one already committed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from ..campaign.report import read_results
from ..durable import open_durably
from ..omadm.campaign_store import CampaignStore, PlannedDevice, Step
from ..omadm.database import StoreError, is_url
from .common import EXIT_OK, CliError, check_writable, console

BATCH = 2_000
"""Devices per transaction of ``campaign plan --store``."""


def open_store(where: str, *, existing: bool = False) -> CampaignStore:
    """The campaign store at ``where``; exit 2 with the reason if it cannot be opened (or, when
    ``existing``, if a store file is not there)."""
    if existing and not is_url(where) and not os.path.exists(where):
        raise CliError(f"{where}: no such store")
    try:
        return CampaignStore(where)
    except StoreError as err:
        raise CliError(str(err)) from None


def chosen_campaign(store: CampaignStore, given: str | None) -> str:
    """The campaign a command names, else the one planned last (exit 2 when there is none)."""
    if given is not None:
        if store.goal(given) is None:
            raise CliError(f"{store.where}: no planned campaign {given!r}")
        return given
    latest = store.latest()
    if latest is None:
        raise CliError(
            f"{store.where}: no campaign is planned in this store (campaign plan --store)"
        )
    return latest


class Tee:
    """Inventory lines passed on to the planner, the non-blank ones kept until their plan is
    out (:meth:`taken`)."""

    def __init__(self) -> None:
        self.waiting: deque[str] = deque()

    def through(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            if line.strip():
                self.waiting.append(line)
            yield line

    def taken(self) -> Iterator[str]:
        while self.waiting:
            yield self.waiting.popleft()


def non_blank(lines: Iterable[str]) -> Iterator[str]:
    """The inventory lines the planner gives an output line for."""
    return (line for line in lines if line.strip())


class PlanRecorder:
    """Records ``campaign plan``'s output lines in a store, ``batch`` devices a transaction,
    each with the inventory line it was planned from (taken from ``inventory`` in step).

    >>> import tempfile, os
    >>> from mostate.omadm.campaign_store import CampaignGoal
    >>> store = CampaignStore(os.path.join(tempfile.mkdtemp(), "s.sqlite"))
    >>> store.create("c1", CampaignGoal("exists(target)", "new"))
    >>> inventory = iter(['{"device": "a", "state": {}}'])
    >>> recorder = PlanRecorder(store, "c1", inventory)
    >>> recorder.write('{"device": "a", "unreachable": "no"}\\n'); recorder.flush()
    >>> store.counts()["campaign_plans"], recorder.recorded
    (1, 1)
    """

    def __init__(
        self, store: CampaignStore, campaign: str, inventory: Iterator[str], batch: int = BATCH
    ) -> None:
        self.store, self.campaign, self.inventory, self.batch = store, campaign, inventory, batch
        self.rows: list[PlannedDevice] = []
        self.recorded = 0

    def write(self, text: str) -> None:
        """Pair each output line with its inventory line; commit every full batch."""
        for line in text.splitlines():
            source = next(self.inventory, None)
            if source is None:
                raise AssertionError("more plans than inventory lines: the two are out of step")
            out = json.loads(line)
            if "error" in out:
                continue
            device, state = _device_state(source)
            if device != out["device"]:
                raise AssertionError(f"plan for {out['device']!r} paired with {device!r}")
            row = plan_row(device, state, out)
            if row is not None:
                self.rows.append(row)
            if len(self.rows) >= self.batch:
                self.flush()

    def flush(self) -> None:
        """Commit the devices not yet recorded, in one transaction."""
        try:
            self.store.record_plans(self.campaign, self.rows)
        except StoreError as err:
            raise CliError(str(err)) from None
        self.recorded += len(self.rows)
        self.rows = []


def plan_row(device: str, state: Any, line: dict[str, Any]) -> PlannedDevice | None:
    """The plans row for one output line of ``campaign plan`` (``{"device": ..., "plan": [...]}``
    or ``{..., "unreachable": ...}``) and the device's state; None for an error line.

    >>> plan_row("d", {}, {"device": "d", "unreachable": "no way"})
    PlannedDevice(device='d', state='{}', plan=None, unreachable='no way')
    """
    text = json.dumps(state, sort_keys=True)
    if "plan" in line:
        return PlannedDevice(device, text, json.dumps(line["plan"]))
    if "unreachable" in line:
        return PlannedDevice(device, text, None, str(line["unreachable"]))
    return None


def _device_state(line: str) -> tuple[str, Any]:
    obj = json.loads(line)
    return obj["device"], obj["state"]


def register_store_commands(family: Any) -> None:
    """Add ``campaign inventory`` and ``campaign progress`` to the ``campaign`` family."""
    inventory = family.add_parser(
        "inventory",
        help="write the inventory a campaign store holds (to plan the rest)",
        description=(
            "Write every device of the store's campaign inventory as JSON lines "
            '{"device": ID, "state": STATE}, in device order: the states campaign plan --store '
            "recorded, brought up to date by campaign report --store."
        ),
    )
    inventory.add_argument("--store", required=True, metavar="STORE", help="SQLite file or URL")
    inventory.add_argument("--out", metavar="FILE", help="where to write (default stdout)")
    inventory.set_defaults(handler=_inventory)
    progress = family.add_parser(
        "progress",
        help="record in a campaign store the statuses devices answered to their plans",
        description=(
            'Read RESULTS (JSON lines {"device": ID, "statuses": [200, ...]}, one status per '
            "request of the device's plan, null for one not answered) and record them in the "
            "store, in one transaction; campaign report --store reads them."
        ),
    )
    progress.add_argument("results", metavar="RESULTS.jsonl", help="statuses by device")
    progress.add_argument("--store", required=True, metavar="STORE", help="SQLite file or URL")
    progress.add_argument(
        "--campaign-id", metavar="ID", help="the campaign (default: the one planned last)"
    )
    progress.set_defaults(handler=_progress)


def _inventory(args: argparse.Namespace) -> int:
    if args.out:
        check_writable(args.out, "--out")
    store = open_store(args.store, existing=True)
    count = 0
    try:
        with open_durably(args.out) if args.out else contextlib.nullcontext(sys.stdout) as out:
            for device, state in store.inventory():
                out.write(f'{{"device": {json.dumps(device)}, "state": {state}}}\n')
                count += 1
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    if args.out:
        console(stderr=True).print(f"wrote {count} devices to {args.out}")
    return EXIT_OK


def _progress(args: argparse.Namespace) -> int:
    try:
        with open(args.results, encoding="utf-8") as lines:
            results = read_results(lines)
    except OSError as err:
        raise CliError(f"cannot read {args.results}: {err.strerror or err}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise CliError(f"{args.results}: {err}") from None
    store = open_store(args.store, existing=True)
    steps = [
        Step(device, k, status)
        for device, statuses in results.items()
        for k, status in enumerate(statuses)
    ]
    try:
        store.record_progress(chosen_campaign(store, args.campaign_id), steps)
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    console(stderr=True).print(f"recorded {len(steps)} statuses of {len(results)} devices")
    return EXIT_OK
