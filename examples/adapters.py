"""Adapters that plug the two example implementations into the mostate conformance kit.

The implementations (acme_device.py, globex_device.py) know nothing of mostate; these few
lines are the whole glue. Run them with

    mostate conform examples/adapters.py:AcmeAdapter     # passes
    mostate conform examples/adapters.py:GlobexAdapter   # fails with a minimal trace

or collect them with pytest (see tests/testing/test_examples.py).
"""

from __future__ import annotations

from typing import Any

import acme_device  # the examples folder is put on sys.path by the kit's loader
import globex_device

from mostate import Request
from mostate.testing import Answer


class AcmeAdapter:
    """A fresh ACME device per example; the kit sees the whole store."""

    def __init__(self) -> None:
        self.device = acme_device.AcmeDevice()

    def apply(self, request: Request) -> Answer:
        status, result = self.device.handle(request.to_json())
        return Answer(status, result)

    def observe(self) -> dict[str, Any] | None:
        return self.device.dump()


class GlobexAdapter:
    """A fresh Globex store per example; the kit sees only the flags (not the parameters)."""

    def __init__(self) -> None:
        self.store = globex_device.new_store()

    def apply(self, request: Request) -> Answer:
        status, result = globex_device.execute(self.store, request.to_json())
        return Answer(status, result)

    def observe(self) -> dict[str, Any] | None:
        return {
            service: {
                name: {flag: rec[flag] for flag in ("active", "default", "locked")}
                for name, rec in instances.items()
            }
            for service, instances in self.store.items()
        }
