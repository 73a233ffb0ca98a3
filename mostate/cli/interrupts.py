"""Ctrl-C for the command line: a KeyboardInterrupt where the command can answer it, never inside
a finaliser.

Python swallows an exception raised inside ``__del__`` ("Exception ignored in ...", then goes on
as if nothing happened): Z3 frees its objects in finalisers all the time, so a Ctrl-C that lands
there was lost and left a traceback on stderr. The handler installed by :func:`answered` raises
only outside a finaliser; inside one it asks for the signal again 20 ms later.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import types
from collections.abc import Iterator

AGAIN = 0.02
"""Seconds after which a Ctrl-C that landed in a finaliser is delivered again."""


def in_finaliser(frame: types.FrameType | None) -> bool:
    """Whether the code interrupted runs inside a ``__del__``, at any depth: an exception
    raised there, even in a function the finaliser calls (Z3's ``Z3_solver_dec_ref``), is
    swallowed by Python with an "Exception ignored" message on stderr."""
    depth = 0
    while frame is not None and depth < 200:  # a bounded walk: deep stacks end as "no"
        if frame.f_code.co_name == "__del__":
            return True
        frame, depth = frame.f_back, depth + 1
    return False


def _on_sigint(signum: int, frame: types.FrameType | None) -> None:
    if in_finaliser(frame):
        timer = threading.Timer(AGAIN, os.kill, (os.getpid(), signal.SIGINT))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """Within the block, Ctrl-C raises KeyboardInterrupt, but never inside a finaliser (in the
    main thread only: elsewhere signals cannot be handled, and nothing is changed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
