"""Progress of a long command, where a person or a CI log can see it.

On a terminal, a rich bar with the count, the time spent and, when the total is known, the time
left. Anywhere else (a CI log, a file) a plain line on stderr at most every :data:`EVERY`
seconds and one at the end, so a slow run is never silent and never floods the log. A command
that prints JSON shows none: its stderr may be read by a machine too.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .common import console

EVERY = 10.0
"""Seconds between two progress lines when stderr is not a terminal."""


class Meter(Protocol):
    """What a command tells its progress display."""

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` items so far, of ``total`` if known (it may grow, as an exploration's)."""

    def advance(self) -> None:
        """One more item done."""


class _Silent:
    def update(self, done: int, total: int | None = None) -> None:
        pass

    def advance(self) -> None:
        pass


class _Bar:
    def __init__(self, progress: Progress, label: str, total: int | None) -> None:
        self.progress = progress
        self.task = progress.add_task(label, total=total)

    def update(self, done: int, total: int | None = None) -> None:
        self.progress.update(self.task, completed=done, total=total)

    def advance(self) -> None:
        self.progress.advance(self.task)


class _Lines:
    """Plain lines on stderr: ``mostate: proving: 120/343 (35%), 4 s, about 8 s left``."""

    def __init__(self, label: str, total: int | None, eta: bool) -> None:
        self.label = label
        self.total = total
        self.eta = eta
        self.done = 0
        self.started = self.last = time.monotonic()

    def update(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total if total is not None else self.total
        now = time.monotonic()
        if now - self.last >= EVERY:
            self.last = now
            self.say(now)

    def advance(self) -> None:
        self.update(self.done + 1)

    def say(self, now: float) -> None:
        spent = now - self.started
        of = f"/{self.total}" if self.total else ""
        text = f"mostate: {self.label}: {self.done}{of}"
        if self.total:
            text += f" ({100 * self.done // self.total}%)"
        text += f", {spent:.0f} s"
        if self.eta and self.total and self.done and self.done < self.total:
            left = spent * (self.total - self.done) / self.done
            text += f", about {left:.0f} s left"
        print(text, file=sys.stderr, flush=True)


@contextmanager
def meter(
    label: str, total: int | None = None, *, shown: bool = True, eta: bool = True
) -> Iterator[Meter]:
    """A progress display for one run (none when not ``shown``); ``eta`` false when the total
    only grows as the work goes (an exploration's states found), so no time left is promised."""
    if not shown:
        yield _Silent()
        return
    if not sys.stderr.isatty():
        lines = _Lines(label, total, eta)
        yield lines
        lines.say(time.monotonic())
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if eta:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        yield _Bar(progress, label, total)
