"""How long a run of ``verify``, ``diff`` or ``mutate`` may take: ``--time-limit``, the budget it
gives every solver check, and the alarm that cuts short what runs between checks.

The option is :data:`mostate.cli.options.TIME_LIMIT`. A run's
:class:`~mostate.symbolic.Budget` carries its deadline: each solver check gets at most the
time left and one asked later is UNKNOWN at once, so the solver never runs past it. What runs
between checks (building queries, unrolling traces) is cut short by :class:`Alarm`, at most
:data:`GRACE` seconds after the deadline; :func:`within` runs one phase of a command under it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import time
import types
from collections.abc import Callable, Iterator
from typing import TypeVar

import attrs

from ..symbolic import Budget, interrupt_checks
from . import interrupts
from .interrupts import in_finaliser

T = TypeVar("T")

GRACE = 0.5
"""How long after the deadline the alarm cuts short the work between solver checks (building
queries, unrolling traces); the solver's own checks stop at the deadline itself."""


def run_budget(args: argparse.Namespace, timeout: float, rlimit: int) -> Budget:
    """The budget of a command's run: ``timeout`` seconds and ``rlimit`` per solver check, and
    the deadline ``--time-limit`` seconds after the command started (``args.started``, set by
    :func:`mostate.cli.main`; now, for a handler called directly)."""
    interrupts.also_stop(interrupt_checks)  # Ctrl-C ends the check it lands in, at once
    started = getattr(args, "started", time.monotonic())
    return Budget(int(timeout * 1000), rlimit, started + args.time_limit, args.time_limit)


def seconds_left(budget: Budget) -> float:
    """Seconds left before the budget's deadline (0 without one)."""
    left = budget.left_ms()
    return 0.0 if left is None else left / 1000


def within(budget: Budget, work: Callable[[], T], cut: Callable[[], T]) -> T:
    """``work()`` under the alarm, due :data:`GRACE` seconds after the budget's deadline;
    ``cut()`` instead once it has rung. Any exception after the alarm rang is the time limit
    (inside a ctypes call into Z3 the alarm's comes out wrapped); any other is raised.

    >>> within(Budget(), lambda: "done", lambda: "cut")
    'done'
    """
    alarm = Alarm()
    due = None if budget.deadline is None else seconds_left(budget) + GRACE
    try:
        with alarm.set(due):
            return work()
    except (TimeUp, Exception):
        if not alarm.rang:
            raise
    return cut()


class TimeUp(BaseException):
    """Raised by the alarm in the middle of whatever runs; a BaseException, so that no
    ``except Exception`` on the way swallows it."""


@attrs.define
class Alarm:
    """A deadline for the whole run (SIGALRM), and whether it has rung.

    Once due it rings every 50 ms until the run stops: an exception raised in a finaliser
    (Z3's ``__del__``) is swallowed by Python, so the alarm does not raise there and rings
    again instead."""

    rang: bool = False
    armed: bool = False

    @contextlib.contextmanager
    def set(self, seconds: float | None) -> Iterator[None]:
        if seconds is None or not hasattr(signal, "setitimer"):
            yield
            return

        def up(signum: int, frame: types.FrameType | None) -> None:
            self.rang = True
            if self.armed and not in_finaliser(frame):
                raise TimeUp

        previous = signal.signal(signal.SIGALRM, up)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
        try:
            yield
        finally:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
