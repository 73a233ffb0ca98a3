"""``mostate campaign``: plan a campaign for a fleet, make synthetic fleets, report results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TextIO

from ..campaign import Campaign, plan_inventory, synthetic_inventory
from ..campaign.lines import Counts
from ..campaign.scale import plan_file
from ..durable import open_durably
from ..engine import Engine
from ..errors import RequestError, SpecError
from ..explore import Goal
from ..model import check_name, params_from_json
from ..omadm.campaign_store import CampaignGoal
from ..omadm.database import StoreError
from . import options
from .campaign_report import register_report
from .campaign_run import register_run_commands
from .campaign_store import BATCH, PlanRecorder, Tee, non_blank, open_store, register_store_commands
from .campaign_syncml import PackageWriter
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATED,
    CliError,
    check_writable,
    console,
    engine_from,
    shipped,
    with_proof,
)
from .dm_options import tree_from  # both read a tree alike
from .inventory import inventory_lines, needs_campaign
from .progress import meter


def register(commands: Any) -> None:
    """Add ``campaign plan``, ``campaign fleet`` and ``campaign report`` to the parser."""
    parser = commands.add_parser(
        "campaign",
        help="plan a campaign for a whole fleet, and report how it went",
        description="Campaigns over a fleet of devices: plan, fleet, report.",
    )
    family = parser.add_subparsers(dest="campaign_command", metavar="COMMAND", required=True)
    _register_plan(family)
    _register_fleet(family)
    register_report(family)
    register_store_commands(family)
    register_run_commands(family)


def _register_plan(family: Any) -> None:
    plan = family.add_parser(
        "plan",
        parents=[options.SPEC(), options.TREE()],
        help="the shortest server requests to the goal, for every device of an inventory",
        description=(
            'Read INVENTORY (JSON lines {"device": ID, "state": STATE}, or a .parquet file '
            "with columns device and state, the state as JSON text; - for stdin) and write, for "
            'each device, {"device": ID, "plan": [REQUEST, ...]} or {"device": ID, '
            '"unreachable": REASON}: the plan mostate plan gives, computed once per canonical '
            'state. A bad line gives {"line": N, "error": REASON}. --store also records each '
            "device's state and plan in a store (campaign report --store reads them back); "
            "--format syncml writes, instead of the lines, one SyncML DM package per planned "
            "device into --out-dir, named after its id (percent-encoded). Exit 2 if any line is "
            "bad, 1 if any device cannot reach the goal, else 0."
        ),
    )
    plan.add_argument("inventory", metavar="INVENTORY.jsonl", help="the fleet (- for stdin)")
    plan.add_argument("--goal", required=True, metavar="EXPR", help="the condition to reach")
    plan.add_argument("--target", required=True, metavar="NAME", help="the instance `target` is")
    plan.add_argument("--service", default="MMS", help="the service of the goal (default MMS)")
    plan.add_argument(
        "--params", metavar="JSON", help='parameters the target is added with: {"MMSC": "..."}'
    )
    plan.add_argument("--values", "-k", type=int, default=2, metavar="K", help="as in plan")
    plan.add_argument("--max-states", type=int, default=200_000, metavar="M", help="as in plan")
    plan.add_argument("--out", metavar="FILE", help="where the plans go (default stdout)")
    plan.add_argument("--jobs", type=int, default=1, metavar="N", help="local worker processes")
    plan.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler to plan on")
    plan.add_argument(
        "--store",
        metavar="STORE",
        help="also record the inventory and the plans in this store (a dm serve store: a "
        "SQLite file or a postgresql:// URL), a batch of devices per transaction",
    )
    plan.add_argument(
        "--campaign-id",
        metavar="ID",
        help="with --store: the campaign's id (default: the target); planning an id again, for "
        "the same goal, replaces the plans of the devices it plans, other campaigns untouched",
    )
    plan.add_argument(
        "--store-batch",
        type=int,
        default=BATCH,
        metavar="N",
        help=f"devices recorded a transaction (default {BATCH:,})",
    )
    plan.add_argument(
        "--format",
        choices=("text", "json", "syncml"),
        default="text",
        help="text or json: the summary for people or machines; syncml: one SyncML DM package "
        "per planned device in --out-dir (the plan lines only with --out)",
    )
    plan.add_argument("--out-dir", metavar="DIR", help="where --format syncml writes packages")
    plan.add_argument("--server-id", default="mostate", help="SyncML header Source (mostate)")
    plan.add_argument("--wbxml", action="store_true", help="write WBXML packages, not XML")
    plan.set_defaults(handler=_plan)


def _register_fleet(family: Any) -> None:
    fleet = family.add_parser(
        "fleet",
        parents=[options.SPEC()],
        help="write a synthetic fleet inventory (for trials and benchmarks)",
        description=(
            "Write N devices as inventory JSON lines: 1 to 4 MMS instances each, some Active, "
            "Default or Locked, each with an MMSC parameter; the same seed gives the same fleet."
        ),
    )
    fleet.add_argument("--devices", "-n", type=int, default=1000, metavar="N", help="how many")
    fleet.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    fleet.add_argument("--service", default="MMS", help="the service (default MMS)")
    fleet.add_argument("--out", metavar="FILE", help="where to write (default stdout)")
    fleet.set_defaults(handler=_fleet)


def campaign_from(args: argparse.Namespace) -> Campaign:
    """The campaign the options describe; a bad one is exit 2 naming the option."""
    try:
        check_name(args.service, "--service")
        check_name(args.target, "--target")
        params = params_from_json(json.loads(args.params), "--params") if args.params else {}
    except RequestError as err:
        raise CliError(str(err)) from None
    except ValueError as err:
        raise CliError(f"--params is not JSON: {err}") from None
    try:
        Goal.parse(args.goal, args.service, args.target)
    except SpecError as err:
        raise CliError(f"--goal: {err}") from None
    if args.values < 1 or args.max_states < 1:
        raise CliError("--values and --max-states must be at least 1")
    # mutant:NAME is resolved here: workers load the spec from a path
    spec = shipped(args.spec, "mutant", "mutants", ".toml")
    return Campaign(
        args.goal, args.target, args.service, params, args.values, args.max_states, spec
    )


def _plan(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)  # a bad spec is exit 2 now, not in every worker
    campaign = with_proof(campaign_from(args), engine.spec)  # proved once, for every worker
    if args.jobs < 1:
        raise CliError("--jobs must be at least 1")
    if args.jobs > 1 and args.scheduler:
        raise CliError("give --jobs or --scheduler, not both")
    if args.out:
        check_writable(args.out, "--out")
    packages = _packages(args, engine)
    seen = [0]  # devices whose output is written, for a summary of an interrupted run
    try:
        counts, recorder = _planned(args, campaign, packages, seen)
    except KeyboardInterrupt:
        # --out is put in place only whole: an interrupted run leaves the old file as it was
        where = f"; {args.out} left as it was" if args.out else ""
        console(stderr=True).print(f"INTERRUPTED after {seen[0]} devices{where}", markup=False)
        return EXIT_INTERRUPTED
    if packages is not None:
        packages.close()
    _summarise(args, counts, recorder, packages)
    if counts.errors:
        return EXIT_USAGE
    return EXIT_VIOLATED if counts.unreachable else EXIT_OK


def _planned(
    args: argparse.Namespace,
    campaign: Campaign,
    packages: PackageWriter | None,
    seen: list[int],
) -> tuple[Counts, PlanRecorder | None]:
    """Plan every device of the inventory, writing each plan where it goes (``--out``, the
    store, the packages); the counts, and the store's recorder if any. ``seen[0]`` counts the
    devices done as they are written."""
    lines = inventory_lines(args.inventory)
    shown = args.format != "json"
    pooled = args.jobs > 1 and _plain_file(args.inventory)
    with (
        _executor(args) as executor,
        _plan_lines(args.out, packages is not None) as out,
        _recorder(args, campaign, lines, pooled) as (recorder, lines),
        meter("planning", shown=shown, eta=False) as bar,
    ):
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            done += count
            seen[0] = done
            bar.update(done)

        sinks = [s.write for s in (out, recorder, packages) if s is not None]

        def write(text: str) -> None:
            for sink in sinks:
                sink(text)

        if pooled and executor is not None:
            # a local pool reads and writes the files itself: no line goes through this process
            counts = plan_file(campaign, args.inventory, write, executor, progress=progress)
        else:
            counts = plan_inventory(campaign, lines, write, executor=executor, progress=progress)
    return counts, recorder


def _plain_file(path: str) -> bool:
    return path != "-" and not path.endswith(".parquet") and os.path.isfile(path)


def _packages(args: argparse.Namespace, engine: Engine) -> PackageWriter | None:
    """The writer of one SyncML package per device, for --format syncml."""
    if args.format != "syncml":
        if args.out_dir or args.wbxml:
            raise CliError("--out-dir and --wbxml go with --format syncml")
        return None
    if not args.out_dir:
        raise CliError("--format syncml needs --out-dir DIR, the folder of the packages")
    check_writable(args.out_dir, "--out-dir", directory=True)
    os.makedirs(args.out_dir, exist_ok=True)
    tree = tree_from(args)
    return PackageWriter(engine, tree, args.out_dir, server_id=args.server_id, wbxml=args.wbxml)


@contextlib.contextmanager
def _recorder(
    args: argparse.Namespace, campaign: Campaign, lines: Iterator[str], pooled: bool
) -> Iterator[tuple[PlanRecorder | None, Iterator[str]]]:
    """With --store: the recorder of the plans, and the inventory lines to plan (passed
    through it, so each plan meets its device's state; a pool's file is read again instead)."""
    if not args.store:
        yield None, lines
        return
    if args.store_batch < 1:
        raise CliError("--store-batch must be at least 1")
    store = open_store(args.store)
    goal = CampaignGoal(campaign.goal, campaign.target, campaign.service)
    name = args.campaign_id or campaign.target
    try:
        try:
            store.create(name, goal)
        except StoreError as err:
            raise CliError(str(err)) from None
        if pooled:
            recorder = PlanRecorder(store, name, non_blank(lines), args.store_batch)
            yield recorder, iter(())
        else:
            tee = Tee()
            recorder = PlanRecorder(store, name, tee.taken(), args.store_batch)
            yield recorder, tee.through(lines)
        recorder.flush()
    finally:
        store.close()


def _summarise(
    args: argparse.Namespace,
    counts: Counts,
    recorder: PlanRecorder | None = None,
    packages: PackageWriter | None = None,
) -> None:
    summary: dict[str, Any] = {
        "devices": counts.devices,
        "planned": counts.planned,
        "unreachable": counts.unreachable,
        "errors": counts.errors,
        "first_errors": list(counts.first_errors),
    }
    if recorder is not None:
        summary["recorded"] = recorder.recorded
    if packages is not None:
        summary["packages"] = packages.written
    if args.format == "json":
        stream = sys.stdout if args.out else sys.stderr
        print(json.dumps(summary, indent=2), file=stream)
        return
    err = console(stderr=True)
    for line in counts.first_errors:
        err.print(f"mostate: {args.inventory}: {line}", markup=False)
    err.print(
        f"{counts.devices} devices: {counts.planned} planned, {counts.unreachable} unreachable, "
        f"{counts.errors} bad lines" + (f" (plans in {args.out})" if args.out else "")
    )
    if recorder is not None:
        err.print(
            f"recorded {recorder.recorded} devices in {recorder.store.where}, "
            f"campaign {recorder.campaign}"
        )
    if packages is not None:
        err.print(f"wrote {packages.written} SyncML packages to {args.out_dir}")


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor | None]:
    if args.scheduler:
        try:
            from distributed import Client
        except ModuleNotFoundError:
            raise CliError(f"--scheduler {needs_campaign('dask')}") from None
        try:
            # distributed has no type hints: its calls are untyped to mypy
            client = Client(args.scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as err:
            raise CliError(f"--scheduler {args.scheduler}: {err}") from None
        with client:
            yield client.get_executor()  # type: ignore[no-untyped-call] # as above
        return
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            yield pool
        return
    yield None


@contextlib.contextmanager
def _plan_lines(path: str | None, packages: bool) -> Iterator[TextIO | None]:
    """Where the plan lines go: the file, else stdout, unless packages go out instead."""
    if path is None and packages:
        yield None
        return
    with _output(path) as out:
        yield out


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with open_durably(path) as handle:
        yield handle


def _fleet(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    if args.devices < 0:
        raise CliError("--devices must be 0 or more")
    try:
        check_name(args.service, "--service")
    except RequestError as err:
        raise CliError(str(err)) from None
    if args.out:
        check_writable(args.out, "--out")
    lines = synthetic_inventory(engine, args.devices, seed=args.seed, service=args.service)
    with _output(args.out) as out, meter("devices", args.devices, shown=bool(args.out)) as bar:
        for n, line in enumerate(lines, 1):
            out.write(line)
            if n % 1000 == 0:
                bar.update(n)
    if args.out:
        console(stderr=True).print(f"wrote {args.devices} devices to {args.out}")
    return EXIT_OK
