"""Counterexamples are tidied: what plays no part is dropped, names read like the spec's
examples, and the tidied trace still shows the same violation."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from mostate import DeviceState, Engine, Request, load_spec
from mostate.symbolic import Verifier, Violated
from mostate.tidy import tidy
from mostate.trace import Trace
from tests.conftest import MUTANTS

MANIFEST = tomllib.loads((MUTANTS / "manifest.toml").read_text(encoding="utf-8"))
INSTANCE = re.compile(r"^[a-z]+$")


@pytest.mark.slow  # about 4 s here (2 cores)
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_counterexample_of_a_shipped_mutant_is_tidy_and_replays(name: str) -> None:
    spec = load_spec(MUTANTS / MANIFEST[name]["file"])
    engine = Engine(spec)
    violated = [c.verdict for c in Verifier(spec, depth=0).checks()]
    found = [v for v in violated if isinstance(v, Violated) and v.transition is not None]
    assert found
    for verdict in found:
        trace = verdict.trace
        services = {r.service for r in trace.requests} | set(trace.start.services)
        assert services <= {"MMS", "WAP", "IMS"}, trace.to_jsonl()
        names = {r.instance for r in trace.requests if r.instance} | {
            n for s in trace.start.services.values() for n in s.instances
        }
        assert all(INSTANCE.match(n) for n in names), trace.to_jsonl()
        assert all(r.confirm is None or r.confirm.value == "decline" for r in trace.requests)
        assert tidy(trace, engine) == trace  # already as tidy as it gets
        trace.confirm(engine)


def test_a_decline_that_matters_is_kept(tmp_path: Path) -> None:
    # The spec that forgot set_locked's confirmation: the violation is the declined request
    # carried out, so the decline stays while the noise around it goes.
    text = (MUTANTS.parent / "ccs.toml").read_text(encoding="utf-8")
    text = text.replace("[[ops.set_locked.steps]]\nconfirm = true\n\n", "", 1)
    path = tmp_path / "forgot.toml"
    path.write_text(text, encoding="utf-8")
    engine = Engine(load_spec(path))
    start = DeviceState.from_json({"S2": {"i9": {"params": {"p": "v"}}}, "S3": {"i1": {}}})
    request = Request.from_json(
        {
            "actor": "server",
            "op": "set_locked",
            "service": "S2",
            "instance": "i9",
            "value": True,
            "confirm": "decline",
        }
    )
    tidied = tidy(Trace(start, (request,), "every_request_asks_first"), engine)
    assert tidied.start.to_json() == {
        "MMS": {"a": {"active": False, "default": False, "locked": False, "params": {}}}
    }
    assert tidied.requests[0].to_json() == {
        "actor": "server",
        "op": "set_locked",
        "service": "MMS",
        "instance": "a",
        "value": True,
        "confirm": "decline",
    }


def test_a_trace_that_shows_nothing_is_returned_as_it_was() -> None:
    engine = Engine(load_spec())
    request = Request.from_json(
        {"actor": "server", "op": "add", "service": "S1", "instance": "i4", "confirm": "accept"}
    )
    trace = Trace(DeviceState(), (request,), "one_active")
    assert tidy(trace, engine) is trace
