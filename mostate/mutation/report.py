"""A mutation run: every mutant classified (over a process pool), and the mutation score.

The score is killed / (killed + survived + unknown): equivalent mutants are left out (no
property could tell them from the spec), and a mutant left unknown counts against the spec, as
a proof that stayed unknown is never read as a proof. Z3 contexts belong to one process, so the
pool runs whole classifications, one mutant per task; each worker compiles the original spec's
side once per mutant like a single run would, and the order of the report is the order of the
mutants whatever order the workers finish in.

Ctrl-C is answered at once with what is decided so far: the workers ignore SIGINT (so none dies
inside Z3 and leaves a finaliser's traceback behind), the parent terminates them, and the report
says it is partial (:attr:`Report.interrupted`). A second Ctrl-C while the workers are being
stopped kills them and leaves without waiting. With one job and no pool, the mutants run in this
process and Ctrl-C stops between two of them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable
from multiprocessing.pool import Pool
from types import FrameType

import attrs

from ..rules import Spec
from ..symbolic import Budget
from ..symbolic.verifier import DEFAULT_BUDGET
from .classify import Outcome, Unknown, classify, label
from .mutants import Mutant

LABELS = ("killed", "equivalent", "survived", "unknown")

Progress = Callable[[Outcome], None]
"""Called with each outcome as it is decided (in completion order)."""


@attrs.frozen
class Report:
    """Every mutant's outcome, in generation order, and the wall-clock seconds of the run;
    ``interrupted`` when Ctrl-C stopped it, ``outcomes`` then holding those decided (of
    ``total`` mutants)."""

    spec: str
    outcomes: tuple[Outcome, ...]
    seconds: float
    interrupted: bool = False
    total: int | None = None

    def count(self, word: str) -> int:
        """How many outcomes have the verdict ``word`` (``killed``, ``survived``...)."""
        return sum(label(o.verdict) == word for o in self.outcomes)

    @property
    def score(self) -> float:
        """killed / (killed + survived + unknown), as a percentage; 100 when nothing counts.

        >>> Report("s", (), 0.0).score
        100.0
        """
        killed = self.count("killed")
        counted = killed + self.count("survived") + self.count("unknown")
        return 100.0 * killed / counted if counted else 100.0

    def summary(self) -> str:
        """One line: ``142 mutants: 120 killed, 20 equivalent, 2 survived; score 98.4% in 41.2 s``
        (unknown shown only when there are some).

        >>> Report("s", (), 1.25).summary()
        '0 mutants: 0 killed, 0 equivalent, 0 survived; score 100.0% in 1.2 s'
        """
        parts = [f"{self.count(w)} {w}" for w in LABELS if w != "unknown" or self.count(w)]
        line = (
            f"{len(self.outcomes)} mutants: {', '.join(parts)}; "
            f"score {self.score:.1f}% in {self.seconds:.1f} s"
        )
        if self.interrupted:
            line += f"; INTERRUPTED after {len(self.outcomes)} of {self.total} mutants"
        return line


def analyse(
    spec: Spec,
    mutants: Iterable[Mutant],
    *,
    budget: Budget = DEFAULT_BUDGET,
    jobs: int = 1,
    progress: Progress | None = None,
    every: bool = False,
    isolate: bool = False,
) -> Report:
    """Classify every mutant of ``spec`` (``jobs`` worker processes; 1 runs in this process;
    ``every`` names every check that kills a mutant, not only the first: see
    :func:`~mostate.mutation.classify.kill`; ``isolate`` runs even one job in a worker process,
    so that Ctrl-C is answered at once rather than when Z3 next returns). On Ctrl-C, the report
    of what was decided so far, marked :attr:`Report.interrupted`.

    >>> from mostate import load_spec
    >>> from mostate.mutation import generate
    >>> spec = load_spec()
    >>> report = analyse(spec, generate(spec, ["drop_confirmation"])[:2])
    >>> [label(o.verdict) for o in report.outcomes]
    ['killed', 'killed']
    """
    todo = list(mutants)
    started = time.perf_counter()
    done: dict[int, Outcome] = {}
    try:
        if not isolate and (jobs <= 1 or len(todo) <= 1):
            for n, mutant in enumerate(todo):
                done[n] = classify(spec, mutant, budget, every=every)
                if progress is not None:
                    progress(done[n])
        else:
            workers = max(1, min(jobs, len(todo)))
            _in_pool(spec, todo, budget, workers, progress, every, done)
    except KeyboardInterrupt:
        outcomes = tuple(done[n] for n in sorted(done))
        seconds = time.perf_counter() - started
        return Report(spec.source, outcomes, seconds, interrupted=True, total=len(todo))
    outcomes = tuple(done[n] for n in range(len(todo)))
    return Report(spec.source, outcomes, time.perf_counter() - started)


def _classify(task: tuple[int, Spec, Mutant, Budget, bool]) -> tuple[int, Outcome]:
    """One task of the pool: the mutant's position and its outcome."""
    n, spec, mutant, budget, every = task
    return n, classify(spec, mutant, budget, every=every)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (never mid-way through Z3 on
    their own, which leaves a finaliser's traceback on stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_pool(
    spec: Spec,
    todo: list[Mutant],
    budget: Budget,
    jobs: int,
    progress: Progress | None,
    every: bool,
    done: dict[int, Outcome],
) -> None:
    """Classify ``todo`` over ``jobs`` processes into ``done`` (by position), as they finish.
    Past the budget's deadline the workers are stopped and the mutants not classified yet are
    unknown: each worker's solver checks end at the deadline, so none is waited for long."""
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_sigint)
    try:
        tasks = ((n, spec, m, budget, every) for n, m in enumerate(todo))
        results = pool.imap_unordered(_classify, tasks)
        for _ in todo:
            try:
                n, outcome = results.next(_wait(budget))
            except multiprocessing.TimeoutError:
                break
            done[n] = outcome
            if progress is not None:
                progress(outcome)
            if budget.expired():
                break
        else:
            pool.close()
            pool.join()
            return
        _stop(pool)
        _late_ones(todo, budget, done, progress)
    except BaseException:
        _stop(pool)
        raise


def _wait(budget: Budget) -> float | None:
    """How long to wait for a worker's next outcome: until a little after the deadline (its
    solver checks end at the deadline), or for ever without one."""
    left = budget.left_ms()
    return None if left is None else left / 1000 + 1.0


def _late_ones(
    todo: list[Mutant], budget: Budget, done: dict[int, Outcome], progress: Progress | None
) -> None:
    """Every mutant of ``todo`` not in ``done``, as the deadline left it: unknown."""
    for n, mutant in enumerate(todo):
        if n not in done:
            done[n] = _late(mutant, budget)
            if progress is not None:
                progress(done[n])


def _stop(pool: Pool) -> None:
    """Terminate the workers now; a second Ctrl-C meanwhile kills them and does not wait."""

    def kill(signum: int, frame: FrameType | None) -> None:
        for worker in getattr(pool, "_pool", ()):  # the Pool's processes: no public accessor
            if worker.pid is not None:
                os.kill(worker.pid, signal.SIGKILL)
        os._exit(130)

    previous = signal.signal(signal.SIGINT, kill)
    try:
        pool.terminate()
        pool.join()
    finally:
        signal.signal(signal.SIGINT, previous)


def _late(mutant: Mutant, budget: Budget) -> Outcome:
    """A mutant the run's deadline left unclassified."""
    return Outcome(mutant, Unknown(f"not classified: {budget.time_up()}"))


def default_jobs() -> int:
    """The processes to use by default: one per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))
