"""`mostate dm`: registered here; its issue's work fills it in."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add this family's subcommands to the `mostate` parser (none yet)."""
    del commands


def _unused(args: argparse.Namespace) -> int:
    return 0
