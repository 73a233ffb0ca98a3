"""Generated code for the engine: each operation's rules specialised into a residual language.

A third back end over :mod:`mostate.rules`, beside the interpreter (:mod:`mostate.concrete`) and
the Z3 compiler (:mod:`mostate.symbolic.compiler`): :mod:`.expr` is a partial evaluator that
folds what an operation, a role and an exit point fix, and leaves residual terms
(:mod:`.residual`: frozen values, never text) for the rest; :mod:`.operation` builds a function
per (operation, role) that is ``Engine._step`` specialised; :mod:`.python` prints it and
:mod:`.build` compiles the source. The engine runs these functions by default and falls back to
the interpreter, per operation, for what the generator does not specialise
(:class:`Unsupported`). The explorer runs a lighter *successor* form, specialised further to
one concrete request: the service's records after the step, no outcome built
(:func:`compile_successor`), and runs its residual function over arrays too
(:mod:`mostate.explore.evaluator`). Like the engine, this package imports only the standard
library and attrs.
"""

from .build import Step as Step
from .build import SuccessorStep as SuccessorStep
from .build import compile_operation as compile_operation
from .build import compile_successor as compile_successor
from .build import source as source
from .values import Unsupported as Unsupported

__all__ = [
    "Step",
    "SuccessorStep",
    "Unsupported",
    "compile_operation",
    "compile_successor",
    "source",
]
