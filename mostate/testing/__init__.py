"""Hypothesis strategies, the stateful test of the engine, and the conformance kit.

Importing :mod:`mostate` does not import Hypothesis; importing this package does.

* :mod:`~mostate.testing.strategies`: names, parameters, requests (valid and malformed), actors,
  confirmation answers and invariant-keeping states, all derived from a spec;
* :func:`engine_machine`: a ``RuleBasedStateMachine`` checking every property of a spec;
* :func:`conformance_test`: plug in an :class:`Adapter` for your own implementation and get a
  pytest test class that compares it with the spec step by step;
* :class:`Universe` and :func:`run_suite`: the edge-complete suite of a small scope (every
  request in every state), which the kit runs before its random sequences; :class:`Coverage`:
  what a run visited of that scope.
"""

from .conformance import Adapter as Adapter
from .conformance import AdapterFactory as AdapterFactory
from .conformance import Answer as Answer
from .conformance import Comparison as Comparison
from .conformance import Divergence as Divergence
from .conformance import compare as compare
from .conformance import conformance_machine as conformance_machine
from .conformance import conformance_test as conformance_test
from .conformance import load_factory as load_factory
from .conformance import project as project
from .conformance import replay as replay
from .conformance import run_suite as run_suite
from .coverage import Coverage as Coverage
from .coverage import CoverageReport as CoverageReport
from .coverage import Scope as Scope
from .coverage import Universe as Universe
from .coverage import scope_requests as scope_requests
from .run import run_conformance as run_conformance
from .stateful import KIT_CHECKS as KIT_CHECKS
from .stateful import PropertyViolation as PropertyViolation
from .stateful import StepChecker as StepChecker
from .stateful import engine_machine as engine_machine
from .strategies import Pools as Pools
from .strategies import actors as actors
from .strategies import aim as aim
from .strategies import arg_values as arg_values
from .strategies import confirms as confirms
from .strategies import drawn_states as drawn_states
from .strategies import keeps_invariants as keeps_invariants
from .strategies import malformed_requests as malformed_requests
from .strategies import names as names
from .strategies import params as params
from .strategies import reached_states as reached_states
from .strategies import requests as requests
from .strategies import requests_for as requests_for
from .strategies import states as states
from .strategies import valid_requests as valid_requests

__all__ = [
    "KIT_CHECKS",
    "Adapter",
    "AdapterFactory",
    "Answer",
    "Comparison",
    "Coverage",
    "CoverageReport",
    "Divergence",
    "Pools",
    "PropertyViolation",
    "Scope",
    "StepChecker",
    "Universe",
    "actors",
    "aim",
    "arg_values",
    "compare",
    "confirms",
    "conformance_machine",
    "conformance_test",
    "drawn_states",
    "engine_machine",
    "keeps_invariants",
    "load_factory",
    "malformed_requests",
    "names",
    "params",
    "project",
    "reached_states",
    "replay",
    "requests",
    "requests_for",
    "run_conformance",
    "run_suite",
    "scope_requests",
    "states",
    "valid_requests",
]
