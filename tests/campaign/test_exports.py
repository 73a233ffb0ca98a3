"""The public names of mostate.campaign are pinned, each documented; the layers hold."""

from __future__ import annotations

import ast
from pathlib import Path

import mostate.campaign as campaign


def test_all_is_pinned_and_documented() -> None:
    assert campaign.__all__ == [
        "Campaign",
        "CampaignPlanner",
        "Counts",
        "DevicePlan",
        "DeviceResult",
        "LinePlanner",
        "Mix",
        "Summary",
        "chart_png",
        "html_page",
        "plan_inventory",
        "read_results",
        "report",
        "results_from_store",
        "simulate_results",
        "statuses_by_request",
        "synthetic_fleet",
        "synthetic_inventory",
    ]
    for name in campaign.__all__:
        assert getattr(campaign, name).__doc__, name


def test_campaign_never_imports_the_cli_nor_the_solver() -> None:
    folder = Path(campaign.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("cli", "symbolic", "z3")), (path, node.module)
