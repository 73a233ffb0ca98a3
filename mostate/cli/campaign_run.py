"""``mostate campaign create|start|pause|resume|status|cancel|retry``: a campaign as operators
run it, kept in a store that ``dm serve --planned`` serves.

``create`` reads a definition (TOML: the goal, target and parameters, waves, failure budget,
retries, windows, verification; options may give or override the goal, target and id), plans
the inventory, runs the pre-flight (:mod:`mostate.campaign.preflight`) and, only when it passes,
records the plans and each device's wave, in batches, as a run in ``draft``. The other commands
each change the run in one transaction and say what they did; ``status`` reads the tally.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from typing import Any

from rich.table import Table

from ..campaign import Campaign, plan_inventory
from ..campaign.preflight import Preflight, paired, preflight
from ..campaign.scale import plan_file
from ..campaign.waves import WaveAssigner
from ..engine import Engine
from ..errors import RequestError, SpecError
from ..explore import Goal
from ..model import DeviceState
from ..omadm import dispatch as outcomes
from ..omadm.campaign_store import CampaignGoal, CampaignStore, PlannedDevice
from ..omadm.database import Cursor, StoreError
from ..omadm.pages import LABELS, wave_counts
from ..omadm.rollout import Rollout, RolloutError
from ..omadm.runs import RETRYABLE, RunStatus, cancel, pause, resume, retry, run_status, start
from . import options
from .campaign_store import BATCH, open_store, plan_row
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATED,
    CliError,
    console,
    engine_from,
    print_json,
    shipped,
    spec_digest,
    with_proof,
)
from .dm_options import tree_from
from .inventory import inventory_lines

__all__ = ["register_run_commands", "rollout_from"]


def register_run_commands(family: Any) -> None:
    """Add the run commands to the ``campaign`` family."""
    _create_parser(family)
    for name, text in (
        ("start", "start a created campaign: its first wave opens"),
        ("pause", "pause a running campaign: devices get nothing until it is resumed"),
        ("resume", "resume a paused campaign (paused before a wave: the next wave opens)"),
        ("cancel", "cancel a campaign for good"),
        ("status", "a campaign's state, its waves and their devices by outcome"),
        ("retry", "send the failed (declined, mismatched) devices their steps again"),
    ):
        parser = family.add_parser(
            name,
            parents=[options.FORMAT()],
            help=text,
            description=text[0].upper() + text[1:] + ".",
        )
        parser.add_argument("campaign_id", metavar="ID", help="the campaign")
        parser.add_argument("--store", required=True, metavar="STORE", help="SQLite file or URL")
        if name == "resume":
            parser.add_argument(
                "--next-wave", action="store_true", help="open the next wave whatever its threshold"
            )
        if name == "retry":
            for outcome in RETRYABLE:
                parser.add_argument(
                    f"--{outcome}", action="store_true", help=f"the {LABELS[outcome]} devices"
                )
        parser.set_defaults(handler=_HANDLERS[name])


def _create_parser(family: Any) -> None:
    create = family.add_parser(
        "create",
        parents=[options.SPEC(), options.TREE(), options.FORMAT()],
        help="plan a campaign, check it before any device is touched, and record it as a run",
        description=(
            "Read a definition (--definition TOML: id, goal, target, params, service, waves, "
            "budget, retry, windows, time_zone, verify, consent), plan INVENTORY, prove that the "
            "goal is reachable from every distinct state and that every URI the plans use "
            "resolves in the binding, then record the plans and each device's wave in --store "
            "as a campaign in draft (campaign start runs it). Exit 1 when the pre-flight finds "
            "unreachable states (--allow-unreachable records those devices as unreachable), 2 "
            "on a bad definition, inventory line or URI."
        ),
    )
    create.add_argument("inventory", metavar="INVENTORY.jsonl", help="the fleet (a file)")
    create.add_argument("--definition", metavar="FILE.toml", help="the campaign's definition")
    create.add_argument("--store", required=True, metavar="STORE", help="SQLite file or URL")
    create.add_argument("--campaign-id", metavar="ID", help="the id (default: the definition's)")
    create.add_argument("--goal", metavar="EXPR", help="the goal (default: the definition's)")
    create.add_argument("--target", metavar="NAME", help="the target (default: the definition's)")
    create.add_argument("--params", metavar="JSON", help="parameters the target is added with")
    create.add_argument("--allow-unreachable", action="store_true",
                        help="create it even if some devices cannot reach the goal")  # fmt: skip
    create.add_argument("--start", action="store_true", help="start it once created")
    create.add_argument("--jobs", type=int, default=1, metavar="N", help="planning processes")
    create.add_argument("--values", "-k", type=int, default=2, metavar="K", help="as in plan")
    create.add_argument("--max-states", type=int, default=200_000, metavar="M", help="as plan")
    create.set_defaults(handler=_create)


# --- create --------------------------------------------------------------------------------


def rollout_from(args: argparse.Namespace) -> Rollout:
    """The definition the file and options give, with the spec's digest; exit 2 naming what
    is wrong."""
    data: dict[str, Any] = {}
    if args.definition:
        try:
            with open(args.definition, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as err:
            raise CliError(f"cannot read --definition {args.definition}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise CliError(f"{args.definition}: {err}") from None
    for key, value in (("id", args.campaign_id), ("goal", args.goal), ("target", args.target)):
        if value is not None:
            data[key] = value
    if args.params is not None:
        try:
            data["params"] = json.loads(args.params)
        except ValueError as err:
            raise CliError(f"--params is not JSON: {err}") from None
    data.setdefault("id", data.get("target", ""))
    data["spec_digest"] = spec_digest(args.spec)
    where = args.definition or "the options"
    try:
        rollout = Rollout.from_json(data)
        Goal.parse(rollout.goal, rollout.service, rollout.target)
        WaveAssigner(rollout)
    except (RolloutError, SpecError) as err:
        raise CliError(f"{where}: {err}") from None
    return rollout


def _create(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    rollout = rollout_from(args)
    if args.inventory == "-" or not os.path.isfile(args.inventory):
        raise CliError(f"{args.inventory}: campaign create reads the inventory twice: a file")
    if args.jobs < 1 or args.values < 1 or args.max_states < 1:
        raise CliError("--jobs, --values and --max-states must be at least 1")
    store = open_store(args.store)
    try:
        if store.run_exists(rollout.id) or store.goal(rollout.id) is not None:
            raise CliError(f"{store.where}: campaign {rollout.id!r} exists already: another id")
        with tempfile.TemporaryDirectory(prefix="mostate-create-") as folder:
            plans = os.path.join(folder, "plans.jsonl")
            _plan_to(args, rollout, plans, engine)
            found = _preflight(args, engine, rollout, plans)
            code = _show_preflight(args, found, rollout)
            if code != EXIT_OK:
                return code
            recorded = _record(store, rollout, args.inventory, plans)
        said = start_now(store, rollout.id) if args.start else "created, in draft"
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    _said(args, {"campaign": rollout.id, "recorded": recorded, "state": said}, said)
    return EXIT_OK


def start_now(store: CampaignStore, campaign: str) -> str:
    return store.write(lambda c: start(c, campaign))


def _plan_to(args: argparse.Namespace, rollout: Rollout, path: str, engine: Engine) -> None:
    """Plan the inventory into ``path`` (local processes with --jobs)."""

    spec = shipped(args.spec, "mutant", "mutants", ".toml")
    campaign = Campaign(rollout.goal, rollout.target, rollout.service, rollout.params,
                        args.values, args.max_states, spec)  # fmt: skip
    campaign = with_proof(campaign, engine.spec)  # proved once, for every worker
    with open(path, "w", encoding="utf-8") as out:
        if args.jobs > 1 and not args.inventory.endswith(".parquet"):
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs) as pool:
                plan_file(campaign, args.inventory, out.write, pool)
        else:
            plan_inventory(campaign, inventory_lines(args.inventory), out.write)


def _pairs(inventory: str, plans: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:

    with open(plans, encoding="utf-8") as lines:
        yield from paired(inventory_lines(inventory), lines)


def _preflight(args: argparse.Namespace, engine: Engine, rollout: Rollout, plans: str) -> Preflight:
    tree = tree_from(args)
    return preflight(engine, tree, _pairs(args.inventory, plans), rollout.service, rollout.verify)


def _show_preflight(args: argparse.Namespace, found: Preflight, rollout: Rollout) -> int:
    """Print what the pre-flight found; the exit code when it forbids the campaign."""
    if args.format == "json" and not found.ok(allow_unreachable=args.allow_unreachable):
        print_json({"campaign": rollout.id, "preflight": found.to_json(), "created": False})
    err = console(stderr=True)
    for line in [*found.errors, *found.bad_uris]:
        err.print(f"mostate: {args.inventory}: {line}", markup=False)
    for u in found.unreachable:
        err.print(
            f"mostate: unreachable from {u.devices} device(s) in state {u.state} "
            f"(first: {u.first}): {u.reason}",
            markup=False,
        )
    err.print(
        f"pre-flight: {found.devices} devices, {found.planned} planned "
        f"({found.plans} distinct plans, every URI checked), "
        f"{found.unreachable_devices} unreachable"
    )
    if found.errors or found.bad_uris:
        return EXIT_USAGE
    if found.unreachable_devices and not args.allow_unreachable:
        err.print("campaign not created: the goal is unreachable from some devices "
                  "(--allow-unreachable creates it anyway)")  # fmt: skip
        return EXIT_VIOLATED
    return EXIT_OK


def _record(store: CampaignStore, rollout: Rollout, inventory: str, plans: str) -> int:
    """The plans and each device's wave, ``BATCH`` devices a transaction; then the run is a
    draft. How many devices."""
    waves = WaveAssigner(rollout)
    store.create(rollout.id, CampaignGoal(rollout.goal, rollout.target, rollout.service))
    store.create_run(rollout)
    rows: list[PlannedDevice] = []
    devices: list[tuple[str, int, str]] = []
    count = 0
    for line, plan in _pairs(inventory, plans):
        row = plan_row(str(line["device"]), line["state"], plan)
        if row is None:
            continue
        rows.append(row)
        outcome = outcomes.PENDING if row.plan is not None else outcomes.UNREACHABLE
        devices.append((row.device, waves.wave_of(row.device, _state(line["state"])), outcome))
        if len(rows) >= BATCH:
            store.record_run(rollout.id, rows, devices)
            count += len(rows)
            rows, devices = [], []
    if rows:
        store.record_run(rollout.id, rows, devices)
        count += len(rows)
    store.finish_run(rollout.id)
    return count


def _state(data: Any) -> DeviceState | None:
    try:
        return DeviceState.from_json(data)
    except RequestError:
        return None


# --- the other commands ----------------------------------------------------------------------


def _command(args: argparse.Namespace, work: Callable[[Cursor], str]) -> int:
    store = open_store(args.store, existing=True)
    try:
        said = store.write(work)
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    _said(args, {"campaign": args.campaign_id, "result": said}, said)
    return EXIT_OK


def _said(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if args.format == "json":
        print_json(data)
    else:
        console(stderr=True).print(f"campaign {data['campaign']}: {text}", markup=False)


def _start(args: argparse.Namespace) -> int:
    return _command(args, lambda c: start(c, args.campaign_id))


def _pause(args: argparse.Namespace) -> int:
    def work(c: Cursor) -> str:
        pause(c, args.campaign_id)
        return "paused"

    return _command(args, work)


def _resume(args: argparse.Namespace) -> int:
    return _command(args, lambda c: resume(c, args.campaign_id, next_wave=args.next_wave))


def _cancel(args: argparse.Namespace) -> int:
    def work(c: Cursor) -> str:
        cancel(c, args.campaign_id)
        return "cancelled"

    return _command(args, work)


def _retry(args: argparse.Namespace) -> int:
    chosen = [o for o in RETRYABLE if getattr(args, o)]
    if not chosen:
        raise CliError("say which devices: --failed, --declined or --mismatch")

    def work(c: Cursor) -> str:
        moved = retry(c, args.campaign_id, chosen)
        return f"{moved} device(s) will get their steps again"

    return _command(args, work)


def _status(args: argparse.Namespace) -> int:
    store = open_store(args.store, existing=True)
    try:
        found = store.read(lambda db: run_status(db, args.campaign_id))
    except StoreError as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    if args.format == "json":
        print_json(found.to_json())
    else:
        _print_status(found)
    return EXIT_OK


def _when(at: float | None) -> str:
    return "-" if at is None else dt.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def _print_status(status: RunStatus) -> None:
    out = console()
    r = status.rollout
    reason = f" ({status.reason})" if status.reason else ""
    out.print(f"campaign {status.campaign}: {status.state}{reason}", markup=False)
    made = f"created {_when(status.created)}, started {_when(status.started)}"
    out.print(f"goal {r.goal!r}, target {r.target!r} ({r.service}); {made}", markup=False)
    columns = ["verified", "reached", "stopped halfway", "not seen", "waiting", "retrying",
               "failed", "declined", "mismatch", "unreachable"]  # fmt: skip
    table = Table("wave", "name", "devices", *columns, "success", title="waves")
    for k, name in enumerate(status.waves, 1):
        counts = wave_counts(status, k)
        total = sum(counts.values())
        ok, counted = outcomes.success(r, status.counts.get(k, {}))
        share = f"{100 * ok / counted:.0f}%" if counted else "-"
        opened = name if k <= status.open_waves else f"{name} (waiting)"
        cells = [f"{counts.get(c, 0):,}" for c in columns]
        table.add_row(str(k), opened, f"{total:,}", *cells, share)
    out.print(table)
    for at, kind, detail in status.events[-5:]:
        out.print(f"  {_when(at)}  {kind}: {detail}", markup=False)


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "start": _start,
    "pause": _pause,
    "resume": _resume,
    "cancel": _cancel,
    "status": _status,
    "retry": _retry,
}
