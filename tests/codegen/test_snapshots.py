"""Every generated module, pinned: the operation form of each operation and the successor form
of each distinct concrete request of a scope, for the shipped spec, every seeded-bug spec and
the differential tests' extra spec.

The files under ``snapshots/`` are what the generator wrote when the test was committed, text
and constants alike. A change to the generator that changes what it writes shows here as a
diff to read (and to explain in the commit that makes it); ``MOSTATE_UPDATE_SNAPSHOTS=1``
rewrites the files once the diff is understood.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mostate import Spec, load_spec
from mostate.codegen import Unsupported, source
from mostate.codegen.build import successor_source
from mostate.codegen.operation import fixed
from mostate.explore import ExploreScope
from mostate.explore.scope import scope_requests
from tests.codegen.test_differential import EXTRA_SPEC, FILES

HERE = Path(__file__).resolve().parent / "snapshots"
SCOPE = ExploreScope.of(2, 2, services=2, declines=True)
"""Both actors, every argument value kind, a declined confirmation, and a second service."""

SPECS: dict[str, Spec | Path] = {path.stem: path for path in FILES}
SPECS["ccs-extra"] = EXTRA_SPEC


ROOT = str(HERE.parents[2]) + os.sep


def _module(text: str, constants: dict[str, object]) -> str:
    """One generated module and the objects its constants name, as a snapshot holds them
    (paths relative to the repository, so that any checkout writes the same)."""
    named = "".join(f"# {name} = {value!r}\n" for name, value in constants.items())
    return (text + named).replace(ROOT, "")


def generated(spec: Spec) -> str:
    """Every module the generator writes for ``spec``, in a fixed order, as one text."""
    parts: list[str] = []
    for op in spec.ops.values():
        try:
            parts.append(_module(*source(spec, op)))
        except Unsupported as err:
            parts.append(f"# operation {op.name!r}: unsupported: {err}\n")
    seen: set[object] = set()
    for request in scope_requests(spec, SCOPE):
        op = spec.ops[request.op]
        key = (request.op, request.actor.role, fixed(op, request))
        if key in seen:
            continue
        seen.add(key)
        try:
            parts.append(_module(*successor_source(spec, op, request)))
        except Unsupported as err:
            parts.append(f"# successor of {request.to_json()!r}: unsupported: {err}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_generated_modules_are_the_ones_pinned(name: str) -> None:
    found = SPECS[name]
    spec = found if isinstance(found, Spec) else load_spec(found)
    text = generated(spec)
    pinned = HERE / f"{name}.txt"
    if os.environ.get("MOSTATE_UPDATE_SNAPSHOTS") == "1":
        pinned.write_text(text, encoding="utf-8")
    assert pinned.exists(), f"no snapshot for {name}: run with MOSTATE_UPDATE_SNAPSHOTS=1"
    expected = pinned.read_text(encoding="utf-8")
    assert text == expected, f"the generated modules of {name} changed (see the diff)"
