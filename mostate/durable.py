"""Files that survive a crash, and one writer at a time.

Every file mostate writes goes through :func:`write_durably`. It writes a temporary file in the
same folder, ``fsync``\\ s it, renames it over the target (``os.replace``, atomic on POSIX) and
``fsync``\\ s the folder, so after a crash at any point the file is whole, either the old one or
the new one. It also:

* keeps an existing file's mode, and its owner where the process may set it;
* refuses a read-only file (``PermissionError``): a file someone made read-only is not replaced
  behind their back;
* follows a symbolic link and replaces the file it points to, so the link stays a link and its
  target is never left stale;
* leaves no temporary file behind when it fails. A process killed mid-write leaves one, named
  ``.NAME.mostate-*``, which the next writer removes under the lock (:func:`locked`).

:func:`locked` serialises read-process-write on one file across processes with ``fcntl.flock``
on a lock file beside it (``.NAME.lock``). The lock is on its own file because the file itself is
replaced by each write. ``fcntl`` is in the standard library; mostate's device side runs on
POSIX systems, so the ``filelock`` package's Windows support would buy nothing here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

_TEMP = ".mostate-"
"""What a temporary file's name carries after ``.NAME`` (how a stale one is recognised)."""


def write_durably(path: str | Path, text: str | bytes) -> None:
    """Replace the file at ``path`` with ``text`` (bytes are written as they are), durably
    (see the module docstring).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_durably(folder / "s.json", "{}\\n"); (folder / "s.json").read_text()
    '{}\\n'
    >>> sorted(p.name for p in folder.iterdir())
    ['s.json']
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    old = _existing(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{_TEMP}", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            if old is not None:
                os.fchmod(handle.fileno(), old.st_mode & 0o7777)
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), old.st_uid, old.st_gid)
            else:
                os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


@contextlib.contextmanager
def open_durably(path: str | Path) -> Iterator[TextIO]:
    """A file to write in pieces (output too large to hold), put in place durably when the
    block ends, as :func:`write_durably` does; if the block fails, the old file stays.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plans.jsonl"
    >>> with open_durably(out) as handle:
    ...     _ = handle.write("a\\n"); _ = handle.write("b\\n")
    >>> out.read_text()
    'a\\nb\\n'
    """
    target = Path(os.path.realpath(path))
    old = _existing(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{_TEMP}", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            _keep_mode(handle.fileno(), old)
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def _keep_mode(fd: int, old: os.stat_result | None) -> None:
    """The old file's mode and owner, or a new file's mode under the umask."""
    if old is None:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    os.fchmod(fd, old.st_mode & 0o7777)
    with contextlib.suppress(PermissionError):
        os.fchown(fd, old.st_uid, old.st_gid)


def _existing(target: Path) -> os.stat_result | None:
    """The file's status if it exists; PermissionError if it is read-only."""
    try:
        status = target.stat()
    except FileNotFoundError:
        return None
    # The mode bits, not os.access: to root every file is writable, yet 0444 still says "keep".
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(13, "the file is read-only; mostate does not replace it", str(target))
    return status


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold the exclusive lock of the file at ``path`` (blocking until it is free), and remove
    the temporary files a killed writer left: under the lock, no other writer has one open.

    >>> import tempfile, pathlib
    >>> state = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> with locked(state):
    ...     write_durably(state, "{}")
    >>> state.read_text()
    '{}'
    """
    target = Path(os.path.realpath(path))
    lock = target.parent / f".{target.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for stale in target.parent.glob(f".{target.name}{_TEMP}*"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
