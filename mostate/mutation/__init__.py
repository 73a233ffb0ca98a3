"""Mutation analysis of a spec: how many seeded mistakes its properties catch.

:func:`generate` makes :class:`Mutant` specs from the AST with the operators of
:data:`OPERATORS` (operations only: the invariants and properties are the oracle);
:func:`classify` says whether the Z3 verifier kills a mutant (and by which properties), or the
semantic diff proves it equivalent, or shows a witness it survives on; :func:`analyse` runs them
all (over a process pool) into a :class:`Report` with the mutation score.
"""

from .classify import Equivalent as Equivalent
from .classify import Killed as Killed
from .classify import Outcome as Outcome
from .classify import Survived as Survived
from .classify import Unknown as Unknown
from .classify import Verdict as Verdict
from .classify import classify as classify
from .classify import kill as kill
from .classify import label as label
from .mutants import Mutant as Mutant
from .mutants import generate as generate
from .mutants import whole_spec as whole_spec
from .operators import OPERATORS as OPERATORS
from .report import Report as Report
from .report import analyse as analyse

__all__ = [
    "OPERATORS",
    "Equivalent",
    "Killed",
    "Mutant",
    "Outcome",
    "Report",
    "Survived",
    "Unknown",
    "Verdict",
    "analyse",
    "classify",
    "generate",
    "kill",
    "label",
    "whole_spec",
]
