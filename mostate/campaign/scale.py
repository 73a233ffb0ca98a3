"""One function, three places to run it: this process, a local process pool, a Dask cluster.

The inventory is cut into chunks of numbered lines (:func:`chunks`); each chunk is planned by
:func:`~mostate.campaign.lines.plan_chunk`, a plain function of picklable values, wherever the
executor runs it. Any :class:`concurrent.futures.Executor` will do: a
:class:`~concurrent.futures.ProcessPoolExecutor`, or a Dask client's ``get_executor()``. At most
``window`` chunks are in flight and results are written in input order, so memory holds a few
chunks whatever the size of the fleet. Distribution is the executor's business, none of ours.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future

from .lines import Counts, numbered, plan_chunk, worker_planner
from .planner import Campaign

CHUNK = 5_000
"""Inventory lines per unit of work: large enough that sending it costs little next to it."""


def chunks(lines: Iterable[str], size: int = CHUNK) -> Iterator[list[tuple[int, str]]]:
    """Numbered, non-blank lines in lists of at most ``size``.

    >>> [[n for n, _ in c] for c in chunks(["a", "", "b", "c"], 2)]
    [[1, 3], [4]]
    """
    it = numbered(lines)
    while batch := list(itertools.islice(it, size)):
        yield batch


def plan_inventory(
    campaign: Campaign,
    lines: Iterable[str],
    write: Callable[[str], object],
    *,
    executor: Executor | None = None,
    window: int = 8,
    chunk: int = CHUNK,
    progress: Callable[[int], object] | None = None,
) -> Counts:
    """Plan every inventory line, calling ``write`` with the output in input order; the
    counts of planned, unreachable and bad lines. In this process when ``executor`` is None.

    >>> out: list[str] = []
    >>> lines = ['{"device": "a", "state": {}}']
    >>> plan_inventory(Campaign("exists(target)", "new"), lines, out.append)
    Counts(planned=1, unreachable=0, errors=0, first_errors=())
    """
    total = Counts()
    pending: deque[Future[tuple[str, Counts]]] = deque()

    def drain(keep: int) -> None:
        nonlocal total
        while len(pending) > keep:
            text, counts = pending.popleft().result()
            write(text)
            total += counts
            if progress is not None:
                progress(counts.devices)

    for batch in chunks(lines, chunk):
        if executor is None:
            text, counts = plan_chunk(campaign, batch)
            write(text)
            total += counts
            if progress is not None:
                progress(counts.devices)
            continue
        pending.append(executor.submit(plan_chunk, campaign, batch))
        drain(window)
    drain(0)
    return total


def line_ranges(path: str, parts: int) -> list[tuple[int, int, int]]:
    """``parts`` byte ranges of the file at ``path``, each starting at a line, with the number
    of its first line: (start, end, number). Empty ranges are left out.

    >>> import tempfile, os
    >>> fd, name = tempfile.mkstemp(); _ = os.write(fd, b"a\\nbb\\nccc\\n"); os.close(fd)
    >>> line_ranges(name, 2)
    [(0, 5, 1), (5, 9, 3)]
    """
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(max(size * k // parts, starts[-1]))
            if handle.tell() > 0:
                handle.readline()  # to the start of the next line
            starts.append(min(handle.tell(), size))
    bounds = [*sorted(set(starts)), size]
    out: list[tuple[int, int, int]] = []
    with open(path, "rb") as handle:
        number = 1
        for start, end in itertools.pairwise(bounds):
            if start < end:
                out.append((start, end, number))
            number += handle.read(end - start).count(b"\n")
    return out


def plan_range(
    campaign: Campaign, path: str, start: int, end: int, number: int, part: str
) -> Counts:
    """Plan the lines of ``path`` in bytes ``start..end`` (line ``number`` first) into the file
    ``part``: the unit of work of a local pool, which reads and writes files itself so that no
    line travels between processes."""
    planner = worker_planner(campaign)
    planner.reset()
    with open(path, "rb") as source, open(part, "w", encoding="utf-8") as out:
        source.seek(start)
        for raw in iter(source.readline, b""):
            if raw.strip():
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = "(a line that is not UTF-8)"  # reported as a bad line, by number
                out.write(planner.line(text, number))
            number += 1
            if source.tell() >= end:
                break
    return planner.counts


def plan_file(
    campaign: Campaign,
    path: str,
    write: Callable[[str], object],
    executor: Executor,
    *,
    parts: int = 16,
    progress: Callable[[int], object] | None = None,
) -> Counts:
    """Plan the inventory file at ``path`` on ``executor`` (a local process pool: its workers
    read the input and write their output to files beside a temporary folder), the output in
    input order. Same output and counts as :func:`plan_inventory`."""
    total = Counts()
    with tempfile.TemporaryDirectory(prefix="mostate-campaign-") as folder:
        futures = [
            (executor.submit(plan_range, campaign, path, s, e, n, f"{folder}/{k}"), f"{folder}/{k}")
            for k, (s, e, n) in enumerate(line_ranges(path, parts))
        ]
        for future, part in futures:
            counts = future.result()
            with open(part, encoding="utf-8") as handle:
                for block in iter(lambda: handle.read(1 << 20), ""):
                    write(block)
            os.unlink(part)
            total += counts
            if progress is not None:
                progress(counts.devices)
    return total
