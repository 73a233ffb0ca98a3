"""Ctrl-C for the command line: a KeyboardInterrupt where the command can answer it, never inside
a finaliser, and at once even while the main thread waits inside Z3.

Python swallows an exception raised inside ``__del__`` or a gc callback ("Exception ignored in
...", then goes on as if nothing happened): Z3 frees its objects in finalisers all the time and
Hypothesis times the collector with a callback, so a Ctrl-C that landed there was lost and left a
traceback on stderr. The handler installed by :func:`answered` raises only outside a finaliser,
and a Ctrl-C swallowed anyway reaches the unraisable hook, which asks for the signal again 20 ms
later. A Ctrl-C that lands while Z3 checks is raised when the check returns; :func:`also_stop`
ends the check at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator

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


def is_interrupt(err: BaseException) -> bool:
    """Whether ``err`` is a Ctrl-C: a KeyboardInterrupt, or one raised while ctypes converted an
    argument for a call into Z3, which ctypes hands on as an ``ArgumentError`` naming it.

    >>> is_interrupt(ctypes.ArgumentError("argument 1: KeyboardInterrupt: "))
    True
    >>> is_interrupt(ctypes.ArgumentError("argument 1: TypeError: wrong type"))
    False
    """
    if isinstance(err, KeyboardInterrupt):
        return True
    return isinstance(err, ctypes.ArgumentError) and ": KeyboardInterrupt" in str(err)


_PRESSED = threading.Event()
"""Set once Ctrl-C has raised KeyboardInterrupt in this process."""


def _again() -> None:
    """Deliver SIGINT again :data:`AGAIN` seconds from now, where it can be raised."""
    timer = threading.Timer(AGAIN, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()


def _unraisable(before: Callable[[sys.UnraisableHookArgs], object]) -> Callable[..., None]:
    """The hook for what Python could not raise (in a finaliser, a gc callback such as
    Hypothesis's, a weakref callback) and would print and forget: a Ctrl-C is delivered again
    instead; after a Ctrl-C, the finaliser of an object it left half-built (a Z3 term whose
    ``__init__`` never set its context) complains of no news to the user; anything else goes
    to ``before``, the hook that was there."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        kind = unraisable.exc_type
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            _again()
            return
        name = getattr(unraisable.object, "__qualname__", "")
        if _PRESSED.is_set() and name.endswith("__del__"):
            return
        before(unraisable)

    return hook


def _on_sigint(signum: int, frame: types.FrameType | None) -> None:
    if in_finaliser(frame):
        _again()
        return
    _PRESSED.set()
    raise KeyboardInterrupt


_STOPS: list[Callable[[], None]] = []
"""What a Ctrl-C cuts short at once, beside raising KeyboardInterrupt (:func:`also_stop`)."""


def also_stop(stop: Callable[[], None]) -> None:
    """On Ctrl-C, call ``stop()`` at once from a watcher thread, inside :func:`answered`.

    Python runs its signal handler only between two bytecodes, so while the main thread waits
    in a long C call (a Z3 check) the KeyboardInterrupt waits too; ``stop`` ends that call
    (``mostate.symbolic.interrupt_checks``), and the interrupt follows it out.
    """
    if stop not in _STOPS:
        _STOPS.append(stop)


def _watch(fd: int) -> None:
    """Read the signal numbers written to the wakeup pipe until it is closed."""
    with open(fd, "rb", buffering=0, closefd=True) as pipe:
        while chunk := pipe.read(64):
            if signal.SIGINT in chunk:
                for stop in list(_STOPS):
                    stop()


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """Within the block, Ctrl-C raises KeyboardInterrupt, but never inside a finaliser, and
    calls what :func:`also_stop` asked for at once (in the main thread only: elsewhere signals
    cannot be handled, and nothing is changed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _PRESSED.clear()
    hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(hook)
    read, write = os.pipe()
    os.set_blocking(write, False)
    old_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), name="ctrl-c", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGINT, previous)
        if not _PRESSED.is_set():  # after a Ctrl-C, the half-built objects are freed at exit
            sys.unraisablehook = hook
        os.close(write)  # the watcher reads the end of the pipe, closes it and stops
        _STOPS.clear()
