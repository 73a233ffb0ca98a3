"""Unbounded and bounded proofs of a spec with Z3 (the only package that imports z3).

:class:`Verifier` compiles the spec's own AST (the objects the engine executes) into Z3 and
checks every invariant, transition property and independence for every operation x actor x
confirmation branch; each :class:`Check` is :class:`Proved`, :class:`Violated` (with a
counterexample replayed by the engine) or :class:`Undecided` (never read as proved).
:func:`diff_specs` compares two specs, the states their invariants allow and their answers operation
by operation: :class:`Equivalent` for any number of instances, or :class:`Different` with a
:class:`Witness` (or a :class:`StateWitness`) replayed through both engines.
:func:`check_liveness` gives each refusal, confirmation point, effect and property premise a
witness that it can fire, replayed by the engine, or finds it :class:`Dead`.
"""

from ._z3 import Budget as Budget
from ._z3 import interrupt_checks as interrupt_checks
from .bmc import NotReached as NotReached
from .bmc import Reach as Reach
from .bmc import Searcher as Searcher
from .diff import Different as Different
from .diff import Equivalent as Equivalent
from .diff import OpDiff as OpDiff
from .diff import SpecDiff as SpecDiff
from .diff import StateWitness as StateWitness
from .diff import Witness as Witness
from .diff import diff_specs as diff_specs
from .liveness import Dead as Dead
from .liveness import Live as Live
from .liveness import Liveness as Liveness
from .liveness import check_liveness as check_liveness
from .transition import Branch as Branch
from .transition import CompiledSpec as CompiledSpec
from .values import NeedsBound as NeedsBound
from .verifier import Check as Check
from .verifier import Proved as Proved
from .verifier import Undecided as Undecided
from .verifier import Verifier as Verifier
from .verifier import Violated as Violated

__all__ = [
    "Branch",
    "Budget",
    "Check",
    "CompiledSpec",
    "Dead",
    "Different",
    "Equivalent",
    "Live",
    "Liveness",
    "NeedsBound",
    "NotReached",
    "OpDiff",
    "Proved",
    "Reach",
    "Searcher",
    "SpecDiff",
    "StateWitness",
    "Undecided",
    "Verifier",
    "Violated",
    "Witness",
    "check_liveness",
    "diff_specs",
    "interrupt_checks",
]
