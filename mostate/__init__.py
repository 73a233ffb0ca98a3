"""mostate: a formal rules engine for OMA-DM Configuration Context Status.

The public API is what this module exports; everything else is internal. Importing mostate
loads the engine only: Z3, networkx and Hypothesis are imported by the checkers that need them
(``mostate.symbolic``, ``mostate.explore``, ``mostate.testing``).
"""

import logging as _logging
from importlib import metadata as _metadata

from .engine import Answer as Answer
from .engine import Engine as Engine
from .engine import Transition as Transition
from .errors import Location as Location
from .errors import MostateError as MostateError
from .errors import ReplayError as ReplayError
from .errors import RequestError as RequestError
from .errors import SolversDisagree as SolversDisagree
from .errors import SpecError as SpecError
from .frozenmap import FrozenMap as FrozenMap
from .model import Actor as Actor
from .model import Clause as Clause
from .model import Confirm as Confirm
from .model import DeviceState as DeviceState
from .model import Instance as Instance
from .model import Outcome as Outcome
from .model import Request as Request
from .model import Role as Role
from .model import Service as Service
from .model import Status as Status
from .rules import Spec as Spec
from .spec import default_spec_path as default_spec_path
from .spec import load_spec as load_spec
from .spec import parse_spec as parse_spec
from .spec import specs_dir as specs_dir
from .trace import Trace as Trace

__all__ = [
    "Actor",
    "Answer",
    "Clause",
    "Confirm",
    "DeviceState",
    "Engine",
    "FrozenMap",
    "Instance",
    "Location",
    "MostateError",
    "Outcome",
    "ReplayError",
    "Request",
    "RequestError",
    "Role",
    "Service",
    "SolversDisagree",
    "Spec",
    "SpecError",
    "Status",
    "Trace",
    "Transition",
    "default_spec_path",
    "load_spec",
    "parse_spec",
    "specs_dir",
]

try:  # one version, the package's: pyproject.toml sets it, the installed metadata carries it
    __version__ = _metadata.version("mostate")
except _metadata.PackageNotFoundError:  # a checkout on sys.path that was never installed
    __version__ = "0+unknown"

# Silent by default: a library logs, the application decides where logs go.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
