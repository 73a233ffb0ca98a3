"""The store off the event loop: reads on a small pool of threads, writes on one thread that
commits everything queued together.

A DM server holds thousands of sessions on one event loop; a store call made on the loop would
stall all of them while SQLite waits for another process's write lock or PostgreSQL for a
table lock, and nothing else would be answered meanwhile. So every store call of the server goes
through :class:`StoreWorker`, and the loop only awaits it.

Threads rather than an async driver: the store speaks to two databases through one interface
(:mod:`.database`), and SQLite has no asynchronous driver in the standard library (aiosqlite is
itself a thread); both drivers release the GIL while they wait, so threads cost little here.

**Group commit.** Writes go to one thread in the order they came. It takes every write queued
while it worked and runs them in one transaction, committed durably once (``fsync``) before any
of them is answered: under load one commit carries many sessions, so durability costs no more
than one commit per batch. When a batch fails as a whole, each of its writes is run again on its
own, so one bad write fails alone.

Each call waits at most ``timeout`` seconds (:class:`StoreBusy`): the server then answers 503
and the device comes back later; nothing is reported done that was not committed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from .database import Cursor, Database, StoreError, connect

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT_S = 10.0
"""How long a session waits for the store before it is answered 503."""
MAX_BATCH = 256
"""The most writes one transaction commits together."""

_Job = tuple[Callable[[Cursor], Any], "Future[Any]"]
_STOP = None


class StoreBusy(StoreError):
    """The store did not answer in time (locked by another process, or unreachable)."""


class StoreAccess(Protocol):
    """What the server needs of a store: a read and a write, awaited."""

    async def read(self, query: Callable[[Database], T]) -> T: ...

    async def write(self, work: Callable[[Cursor], T]) -> T: ...


class StoreWorker:
    """A store's reads and writes on threads of their own, awaited from the event loop.

    >>> import asyncio, os, tempfile
    >>> from mostate.omadm.store import Store
    >>> path = os.path.join(tempfile.mkdtemp(), "dm.sqlite"); Store(path).close()
    >>> async def demo():
    ...     with StoreWorker(path) as worker:
    ...         await worker.write(lambda c: c.execute("DELETE FROM devices"))
    ...         return await worker.read(lambda db: db.read("SELECT count(*) FROM devices"))
    >>> asyncio.run(demo())
    [(0,)]
    """

    def __init__(
        self,
        where: str,
        *,
        readers: int = 2,
        timeout: float = TIMEOUT_S,
        opener: Callable[[str], Database] = connect,
    ) -> None:
        self.where, self.timeout, self._opener = where, timeout, opener
        self._local = threading.local()
        self._opened: list[Database] = []
        self._lock = threading.Lock()
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="mostate-store-read")
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="mostate-store-write")
        self._writer.daemon = True
        self._writer.start()
        self.commits = 0
        """How many transactions the writer committed (a batch is one)."""

    def __enter__(self) -> StoreWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def read(self, query: Callable[[Database], T]) -> T:
        """``query`` run on a reader thread's own connection."""
        future: Future[T] = self._readers.submit(lambda: query(self._db()))
        return await self._wait(future)

    async def write(self, work: Callable[[Cursor], T]) -> T:
        """``work`` run in a transaction, committed durably before this returns."""
        future: Future[T] = Future()
        self._queue.put((work, future))
        return await self._wait(future)

    async def _wait(self, future: Future[T]) -> T:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise StoreBusy(f"{self.where}: the store did not answer in {self.timeout} s") from None

    def close(self) -> None:
        """Finish the queued writes, then close every connection."""
        self._queue.put(_STOP)
        self._writer.join()
        self._readers.shutdown(wait=True)
        with self._lock:
            for db in self._opened:
                db.close()
            self._opened.clear()

    def _db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._opener(self.where)
            with self._lock:
                self._opened.append(db)
        return db

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)  # stop after this batch
                    break
                batch.append(more)
            # A write whose caller gave up before it started is not run; once started, it is.
            self._commit([job for job in batch if job[1].set_running_or_notify_cancel()])

    def _commit(self, batch: list[_Job]) -> None:
        if not batch:
            return
        try:
            db = self._db()
            results = db.write(lambda cursor: [work(cursor) for work, _ in batch])
        except Exception as err:
            if len(batch) == 1:
                _settle(batch[0][1], error=err)
                return
            log.info("%s: a batch of %d writes failed (%s); each runs alone", self.where,
                     len(batch), err)  # fmt: skip
            for job in batch:
                self._commit([job])
            return
        self.commits += 1
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
