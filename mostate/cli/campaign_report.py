"""``mostate campaign report``: which devices reached the goal, declined, failed, could not
reach it or were not seen, per device and per step; the inventory brought up to date."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.table import Table

from ..campaign.report import (
    OUTCOMES,
    STEP_OUTCOMES,
    DeviceResult,
    Statuses,
    Summary,
    device_result,
    read_results,
    report,
    statuses_by_request,
)
from ..durable import open_durably, write_durably
from ..engine import Engine
from ..errors import RequestError
from ..model import Request
from ..omadm.campaign_store import CampaignStore
from ..omadm.database import StoreError, is_url
from . import options
from .campaign_store import BATCH, chosen_campaign, open_store
from .common import (
    EXIT_OK,
    CliError,
    check_writable,
    console,
    engine_from,
    print_json,
)


def register_report(family: Any) -> None:
    """Add ``campaign report`` to the ``campaign`` family."""
    rep = family.add_parser(
        "report",
        parents=[options.SPEC(), options.FORMAT()],
        help="what came of a campaign: reached, declined, failed, unreachable, not seen",
        description=(
            "Read INVENTORY, the PLANS campaign plan wrote for it, and the devices' results "
            '(--results: JSON lines {"device": ID, "statuses": [200, ...]}, one status per '
            "request of its plan; or --store: a dm serve store). Summarise each device and each "
            "step; --updated writes the inventory with what the devices did, to plan the rest. "
            "With --store alone, the inventory, plans and progress are the store's (campaign "
            "plan --store, campaign progress; a device with no progress there is read from the "
            "dm serve steps, matched by request), and the store's inventory is brought up to date."
        ),
    )
    rep.add_argument(
        "inventory", nargs="?", metavar="INVENTORY.jsonl", help="the inventory planned"
    )
    rep.add_argument("--plans", metavar="PLANS.jsonl", help="campaign plan's output")
    source = rep.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", metavar="RESULTS.jsonl", help="statuses by device")
    source.add_argument(
        "--store", metavar="STORE", help="a dm serve store: a SQLite file or a postgresql:// URL"
    )
    rep.add_argument(
        "--campaign-id", metavar="ID", help="with --store: the campaign (default: the last planned)"
    )
    rep.add_argument("--updated", metavar="FILE", help="write the updated inventory here")
    rep.add_argument("--chart", metavar="FILE", help="write the chart here (PNG)")
    rep.add_argument("--html", metavar="FILE", help="write a page with the summary and chart")
    rep.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    engine = engine_from(args.spec)
    for option in ("updated", "chart", "html"):
        if getattr(args, option):
            check_writable(getattr(args, option), f"--{option}")
    if args.inventory is None or args.plans is None:
        if args.inventory is not None or args.plans is not None or not args.store:
            raise CliError("give INVENTORY and --plans, or --store alone (a campaign store)")
        summary = _report_store(args, engine)
        if args.html and _run_page(args):
            args.html = None  # written: the run's own page
        return _show(args, summary, args.store)
    results = _results(args)
    try:
        with _lines(args.inventory) as inventory, _lines(args.plans) as plans:
            devices = report(engine, inventory, plans, results)
            summary = _write_updated(args.updated, devices)
    except (ValueError, RequestError) as err:
        raise CliError(f"{args.inventory}, {args.plans}: {err}") from None
    return _show(args, summary, args.inventory)


def _run_page(args: argparse.Namespace) -> bool:
    """Write the run's page (the live page's templates, without its refresh) to --html, when
    the campaign reported is a run; whether it was one."""
    from ..omadm.pages import render, run_page
    from ..omadm.runs import RunError

    store = open_store(args.store, existing=True)
    try:
        campaign = chosen_campaign(store, args.campaign_id)
        if not store.run_exists(campaign):
            return False
        page = store.read(lambda db: run_page(db, campaign, refresh=None))
    except (RunError, StoreError) as err:
        raise CliError(str(err)) from None
    finally:
        store.close()
    try:
        html = render(page)
    except ModuleNotFoundError as err:
        raise CliError(
            f"--html needs jinja2 ({err.name}): pip install 'mostate[campaign]'"
        ) from None
    write_durably(args.html, html)
    return True


def _show(args: argparse.Namespace, summary: Summary, what: str) -> int:
    _draw(args, summary, what)
    if args.format == "json":
        print_json(summary.to_json())
    else:
        _print(summary)
    return EXIT_OK


def _report_store(args: argparse.Namespace, engine: Engine) -> Summary:
    """The campaign a store holds, its inventory updated (a batch a transaction) as read."""
    store = open_store(args.store, existing=True)
    try:
        campaign = chosen_campaign(store, args.campaign_id)
        served = _served(args.store, campaign)
        progress = store.progress(campaign)
        devices = _stored_results(engine, store, campaign, progress, served)
        return _write_updated(args.updated, devices)
    except StoreError as err:
        raise CliError(str(err)) from None
    except (ValueError, RequestError) as err:
        raise CliError(f"{args.store}: {err}") from None
    finally:
        store.close()


def _served(where: str, campaign: str | None = None) -> dict[str, list[tuple[Any, int | None]]]:
    """The dm serve steps of each device in the store (of one campaign, when given):
    (request JSON, status)."""
    from ..omadm.store import Store

    store = Store(where)
    try:
        return {
            d["device"]: [
                (s["request"], s["status"])
                for s in d["steps"]
                if campaign is None or s["campaign"] == campaign
            ]
            for d in store.devices()
        }
    finally:
        store.close()


def _stored_results(
    engine: Engine,
    store: CampaignStore,
    campaign: str,
    progress: Mapping[str, Statuses],
    served: Mapping[str, Sequence[tuple[Any, int | None]]],
    batch: int = BATCH,
) -> Iterator[DeviceResult]:
    """Each planned device's result, its reached state written back to the store's inventory
    ``batch`` devices a transaction."""
    updated: list[tuple[str, str]] = []
    for planned in store.plans(campaign):
        requests = None
        if planned.plan is not None:
            requests = [Request.from_json(r) for r in json.loads(planned.plan)]
        got = progress.get(planned.device)
        if got is None and requests is not None and planned.device in served:
            got = statuses_by_request(requests, served[planned.device])
        state = json.loads(planned.state)
        result = device_result(engine, planned.device, state, requests, got)
        updated.append((result.device, json.dumps(result.state, sort_keys=True)))
        if len(updated) >= batch:
            store.record_inventory(updated)
            updated = []
        yield result
    store.record_inventory(updated)


def _results(args: argparse.Namespace) -> dict[str, Statuses]:
    if args.store:
        if not is_url(args.store) and not os.path.exists(args.store):
            raise CliError(f"{args.store}: no such store")
        try:
            served = _served(args.store)
        except StoreError as err:
            raise CliError(str(err)) from None
        return _matched(args.plans, served)
    try:
        with _lines(args.results) as lines:
            return read_results(lines)
    except ValueError as err:
        raise CliError(f"{args.results}: {err}") from None


def _matched(
    plans: str, served: Mapping[str, Sequence[tuple[Any, int | None]]]
) -> dict[str, Statuses]:
    """The statuses of each served device's planned requests (the plans file read once more,
    a line at a time), matched by request among the steps dm serve recorded."""
    out: dict[str, Statuses] = {}
    try:
        with _lines(plans) as lines:
            for text in lines:
                plan = json.loads(text) if text.strip() else {}
                if "plan" in plan and plan.get("device") in served:
                    requests = [Request.from_json(r) for r in plan["plan"]]
                    out[plan["device"]] = statuses_by_request(requests, served[plan["device"]])
    except (ValueError, RequestError) as err:
        raise CliError(f"{plans}: {err}") from None
    return out


class _lines:
    """The lines of a file, read as used; a file that cannot be opened is exit 2."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> Iterator[str]:
        try:
            self.handle = open(self.path, encoding="utf-8")
        except OSError as err:
            raise CliError(f"cannot read {self.path}: {err.strerror or err}") from None
        return iter(self.handle)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _write_updated(path: str | None, devices: Iterator[Any]) -> Summary:
    if path is None:
        return Summary.of(devices)

    def written() -> Iterator[Any]:
        for result in devices:
            out.write(json.dumps({"device": result.device, "state": result.state}) + "\n")
            yield result

    with open_durably(path) as out:
        return Summary.of(written())


def _draw(args: argparse.Namespace, summary: Summary, what: str) -> None:
    if not (args.chart or args.html):
        return
    from ..campaign.chart import chart_png, html_page

    try:
        png = chart_png(summary, f"Campaign: {what}")
    except ModuleNotFoundError as err:
        raise CliError(f"--chart and --html need matplotlib ({err.name})") from None
    if args.chart:
        write_durably(args.chart, png)
    if args.html:
        write_durably(args.html, html_page(summary, png, f"Campaign: {what}"))


def _print(summary: Summary) -> None:
    out = console()
    devices = Table("outcome", "devices", title="devices")
    for outcome in OUTCOMES:
        devices.add_row(outcome, f"{summary.devices[outcome]:,}")
    out.print(devices)
    steps = Table("step", *STEP_OUTCOMES, title="steps")
    for k, step in enumerate(summary.steps, 1):
        steps.add_row(str(k), *(f"{step[o]:,}" for o in STEP_OUTCOMES))
    out.print(steps)
    if summary.diverged:
        out.print(f"[yellow]{summary.diverged} devices answered what the spec does not[/]")
