"""The spec's rules in C, run from Python: build the generated C (:mod:`.build`) and call it
as the engine is called (:class:`CEngine`). Needs a C compiler and cffi (``.[c]``); the engine
itself never imports this package.
"""

from .build import Built as Built
from .build import CompileError as CompileError
from .build import CompilerMissing as CompilerMissing
from .build import build as build
from .build import compiler as compiler
from .build import sanitizer_runtime as sanitizer_runtime
from .build import write_sources as write_sources
from .engine import CapacityError as CapacityError
from .engine import CEngine as CEngine
from .engine import HostError as HostError
from .engine import NotRepresentable as NotRepresentable

__all__ = [
    "Built",
    "CEngine",
    "CapacityError",
    "CompileError",
    "CompilerMissing",
    "HostError",
    "NotRepresentable",
    "build",
    "compiler",
    "sanitizer_runtime",
    "write_sources",
]
