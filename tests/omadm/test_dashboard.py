"""The campaigns' live page (``dm serve --dashboard``): read in a real headless Chromium while a
fleet runs sessions, its counts are the store's; the token is checked; ``campaign report --html``
writes the same page from the same templates."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from mostate import Engine
from mostate.campaign import synthetic_fleet
from mostate.campaign.report import Summary, read_results, report
from mostate.cli import main
from mostate.omadm import Device
from mostate.omadm.dashboard import DashboardConfig
from mostate.omadm.fleet import Behaviour, SimDevice, connector, run_fleet
from mostate.omadm.runs import run_status
from mostate.omadm.store import Store
from tests.campaign.test_report import campaign_files
from tests.omadm.serving import ServerThread, add_accounts, line, view

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
TOKEN = "a-token-for-the-test-only"
DEFINITION = """
id = "mms-2027"
goal = "exists(target) and active(target)"
target = "mms-2027"
[[waves]]
name = "canary"
percent = 50
[budget]
percent = 10
[retry]
retries = 1
backoff_s = 600
"""


def _made(tmp_path: Path, engine: Engine, n: int = 120) -> tuple[str, list[SimDevice]]:
    """A started run of ``n`` devices, a quarter of them failing for ever."""
    store = str(tmp_path / "dm.sqlite")
    fleet = list(synthetic_fleet(engine, n, seed=3))
    inventory = tmp_path / "fleet.jsonl"
    inventory.write_text(
        "".join(json.dumps({"device": d, "state": s.to_json()}) + "\n" for d, s in fleet)
    )
    (tmp_path / "c.toml").write_text(DEFINITION)
    argv = ["campaign", "create", str(inventory), "--definition", str(tmp_path / "c.toml")]
    assert main([*argv, "--store", store, "--start"]) == 0
    accounts = [line(d) for d, _ in fleet]
    add_accounts(store, accounts)
    sims = [
        SimDevice(a.device, view(a), s, Behaviour(fails=-1) if k % 4 == 0 else Behaviour())
        for k, (a, (_, s)) in enumerate(zip(accounts, fleet, strict=True))
    ]
    return store, sims


def _round(url: str, engine: Engine, sims: list[SimDevice]) -> None:
    async def go() -> None:
        async with ClientSession(connector=connector(50)) as http:
            await run_fleet(http, url, Device(engine), sims, concurrency=50)

    asyncio.run(go())


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _chromium() -> Any:
    """A headless Chromium driven by Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(DRIVER)), options=options)


def _tally(store: str) -> dict[str, Any]:
    s = Store(store)
    try:
        return run_status(s.db, "mms-2027").to_json()
    finally:
        s.close()


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_the_page_in_a_headless_chromium_shows_the_store_s_counts_while_a_fleet_runs(
    tmp_path: Path, engine: Engine
) -> None:
    from selenium.webdriver.common.by import By

    store, sims = _made(tmp_path, engine)
    server = ServerThread(engine, store, ["mms-2027"], dashboard=DashboardConfig(cache_s=0.0))
    browser = _chromium()
    try:
        _round(server.url, engine, sims)  # the canary: its failing devices pause the run
        busy = threading.Thread(target=_round, args=(server.url, engine, sims))
        busy.start()  # a fleet keeps coming while the page is read (the run gives it nothing)
        browser.get(f"{server.origin}/campaigns/mms-2027")
        shown = {
            row.get_attribute("data-outcome"): int(row.find_element(By.CLASS_NAME, "count").text)
            for row in browser.find_elements(By.CSS_SELECTOR, "#totals tr[data-outcome]")
        }
        state = browser.find_element(By.ID, "state").text
        reason = browser.find_element(By.ID, "reason").text
        failing = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#list-retrying td")]
        busy.join(60)
    finally:
        browser.quit()
        server.close()
    tally = _tally(store)
    counted: dict[str, int] = {}
    for wave in tally["waves"]:
        for outcome, n in wave["devices"].items():
            counted[outcome] = counted.get(outcome, 0) + n
    assert state == "paused" and reason.startswith("failure budget")
    assert shown["verified"] == counted["verified"] > 0
    assert shown["retrying"] == counted["retrying"] > 0
    assert shown["waiting"] == tally["waves"][1]["devices"]["pending"] > 0
    assert sum(shown.values()) == len(sims)
    bad = {s.device_id for s in sims if s.behaviour.fails}
    assert {d for d in failing if d.startswith("dev-")} <= bad


@pytest.mark.slow  # about 3 s: a browser starts
@pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_the_static_report_in_a_headless_chromium_shows_the_summarys_counts(
    tmp_path: Path, engine: Engine
) -> None:
    from selenium.webdriver.common.by import By

    inventory, plans, results = campaign_files(tmp_path, 200)
    out = tmp_path / "report.html"
    argv = ["campaign", "report", str(inventory), "--plans", str(plans), "--results"]
    assert main([*argv, str(results), "--html", str(out)]) == 0
    browser = _chromium()
    try:
        browser.get(out.as_uri())
        shown = {
            row.get_attribute("data-outcome"): int(row.find_element(By.CLASS_NAME, "count").text)
            for row in browser.find_elements(By.CSS_SELECTOR, "#totals tr[data-outcome]")
        }
        chart = browser.find_element(By.ID, "chart").get_property("naturalWidth")
    finally:
        browser.quit()
    with inventory.open() as inv, plans.open() as pl:
        summary = Summary.of(report(engine, inv, pl, read_results(results.open())))
    assert shown == summary.devices and sum(shown.values()) == 200
    assert all(shown[o] > 0 for o in ("reached", "declined", "failed", "not seen"))
    assert chart > 0  # the embedded PNG decoded and drawn


def test_the_pages_ask_for_the_token_and_say_what_they_count(
    tmp_path: Path, engine: Engine
) -> None:
    store, sims = _made(tmp_path, engine, 40)
    config = DashboardConfig(token=TOKEN, cache_s=0.0)
    server = ServerThread(engine, store, ["mms-2027"], dashboard=config)
    try:
        _round(server.url, engine, sims)
        page = f"{server.origin}/campaigns/mms-2027"
        assert _get(page)[0] == 401
        assert _get(page, "wrong-token-wrong-token")[0] == 401
        status, text = _get(page + ".json", TOKEN)
        assert _get(f"{server.origin}/campaigns/nothing", TOKEN)[0] == 404
        index = _get(f"{server.origin}/campaigns/?token={TOKEN}")
    finally:
        server.close()
    numbers = json.loads(text)
    assert status == 200 and numbers["state"] == _tally(store)["state"]
    assert sum(numbers["devices"].values()) == 40
    assert [s["step"] for s in numbers["steps"]][:2] == [
        "add MMS/mms-2027",
        "set_active MMS/mms-2027 = true",
    ]
    assert index[0] == 200 and "mms-2027" in index[1] and f"token={TOKEN}" in index[1]


def test_report_html_is_the_same_page_without_its_refresh(tmp_path: Path, engine: Engine) -> None:
    store, sims = _made(tmp_path, engine, 40)
    server = ServerThread(engine, store, ["mms-2027"], dashboard=DashboardConfig(cache_s=0.0))
    try:
        _round(server.url, engine, sims)
        _, live = _get(f"{server.origin}/campaigns/mms-2027")
    finally:
        server.close()
    out = tmp_path / "report.html"
    assert main(["campaign", "report", "--store", store, "--campaign-id", "mms-2027",
                 "--html", str(out)]) == 0  # fmt: skip
    static = out.read_text()
    assert 'http-equiv="refresh"' in live and 'http-equiv="refresh"' not in static
    for text in ("<title>Campaign mms-2027</title>", "exists(target) and active(target)",
                 'id="list-retrying"', "add MMS/mms-2027"):  # fmt: skip
        assert text in live and text in static
