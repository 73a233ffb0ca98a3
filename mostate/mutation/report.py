"""A mutation run: every mutant classified (over a process pool), and the mutation score.

The score is killed / (killed + survived + unknown): equivalent mutants are left out (no
property could tell them from the spec), and a mutant left unknown counts against the spec, as
a proof that stayed unknown is never read as a proof. Z3 contexts belong to one process, so the
pool runs whole classifications, one mutant per task; each worker compiles the original spec's
side once per mutant like a single run would, and the order of the report is the order of the
mutants whatever order the workers finish in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed

import attrs

from ..rules import Spec
from ..symbolic import Budget
from ..symbolic.verifier import DEFAULT_BUDGET
from .classify import Outcome, classify, label
from .mutants import Mutant

LABELS = ("killed", "equivalent", "survived", "unknown")

Progress = Callable[[Outcome], None]
"""Called with each outcome as it is decided (in completion order)."""


@attrs.frozen
class Report:
    """Every mutant's outcome, in generation order, and the wall-clock seconds of the run."""

    spec: str
    outcomes: tuple[Outcome, ...]
    seconds: float

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
        return (
            f"{len(self.outcomes)} mutants: {', '.join(parts)}; "
            f"score {self.score:.1f}% in {self.seconds:.1f} s"
        )


def analyse(
    spec: Spec,
    mutants: Iterable[Mutant],
    *,
    budget: Budget = DEFAULT_BUDGET,
    jobs: int = 1,
    progress: Progress | None = None,
    every: bool = False,
) -> Report:
    """Classify every mutant of ``spec`` (``jobs`` worker processes; 1 runs in this process;
    ``every`` names every check that kills a mutant, not only the first: see
    :func:`~mostate.mutation.classify.kill`).

    >>> from mostate import load_spec
    >>> from mostate.mutation import generate
    >>> spec = load_spec()
    >>> report = analyse(spec, generate(spec, ["drop_confirmation"])[:2])
    >>> [label(o.verdict) for o in report.outcomes]
    ['killed', 'killed']
    """
    todo = list(mutants)
    started = time.perf_counter()
    if jobs <= 1 or len(todo) <= 1:
        outcomes = []
        for mutant in todo:
            outcomes.append(classify(spec, mutant, budget, every=every))
            if progress is not None:
                progress(outcomes[-1])
    else:
        outcomes = _in_pool(spec, todo, budget, jobs, progress, every)
    return Report(spec.source, tuple(outcomes), time.perf_counter() - started)


def _in_pool(
    spec: Spec,
    todo: list[Mutant],
    budget: Budget,
    jobs: int,
    progress: Progress | None,
    every: bool,
) -> list[Outcome]:
    done: dict[int, Outcome] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
        futures = {
            pool.submit(classify, spec, m, budget, every=every): n for n, m in enumerate(todo)
        }
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if progress is not None:
                progress(done[futures[future]])
    return [done[n] for n in range(len(todo))]


def default_jobs() -> int:
    """The processes to use by default: one per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))
