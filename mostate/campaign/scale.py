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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future

from .lines import Counts, numbered, plan_chunk
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
