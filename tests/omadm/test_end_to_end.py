"""The seed's four flows over SyncML: server package -> device -> response -> server reading.

The request sequences are those of ``specs/scenarios/*.jsonl``. Consecutive server requests go
in one package (a request whose expected state is given ends its package, so that the state can
be compared); user requests are local to the device and go to the engine directly. Each
confirmation is answered as the request's ``confirm`` says. Both flag bindings run every flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from mostate import DeviceState, Engine, Request
from mostate.model import Role
from mostate.omadm import Answer, Device, Server, TreeConfig, answering, write_package
from mostate.omadm.tree import FLAGS
from mostate.trace import TraceLine, read_lines

SCENARIOS = Path(__file__).resolve().parents[2] / "specs" / "scenarios"
FLOWS = sorted(p.name for p in SCENARIOS.glob("*.jsonl"))


def batches(lines: list[TraceLine]) -> list[list[TraceLine]]:
    out: list[list[TraceLine]] = []
    for line in lines:
        assert line.request is not None, line.error
        server = line.request.actor.role is Role.SERVER
        joins = (
            out
            and server
            and out[-1][-1].request is not None
            and out[-1][-1].request.actor.role is Role.SERVER
            and out[-1][-1].request.actor.server_id == line.request.actor.server_id
            and "state" not in (out[-1][-1].expect or {})
        )
        if joins:
            out[-1].append(line)
        else:
            out.append([line])
    return out


def answers(requests: list[Request]) -> list[Answer]:
    return [Answer.of(r.confirm) for r in requests if r.confirm is not None]


def check(expect: dict[str, Any], status: int | None, result: Any, state: DeviceState) -> None:
    assert status == expect["status"]
    if "result" in expect:
        assert result == expect["result"]
    if "state" in expect:
        assert state.to_json() == expect["state"]


@pytest.mark.parametrize("flow", FLOWS)
def test_flow_over_syncml(flow: str, engine: Engine, tree: TreeConfig) -> None:
    _, lines = read_lines((SCENARIOS / flow).read_text().splitlines())
    device = Device(engine, tree)
    servers: dict[str | None, Server] = {}
    state, packages = DeviceState(), 0
    for batch in batches(lines):
        requests = [line.request for line in batch if line.request is not None]
        first = requests[0]
        if first.actor.role is Role.USER:
            outcome = engine.apply(state, first)
            state = outcome.state
            check(batch[0].expect, int(outcome.status), outcome.to_json()["result"], state)
            continue
        server_id = first.actor.server_id
        server = servers.setdefault(
            server_id, Server(engine, tree, server_id=server_id or "srv", client="phone")
        )
        package, sent = server.build(requests)
        state, response = device.process(
            state, write_package(package), ui=answering(*answers(requests))
        )
        packages += 1
        reports = server.read(sent, write_package(response))
        for line, report in zip(batch, reports, strict=True):
            assert report.note is None
            result = report.to_json()["result"]
            check(line.expect, report.status, result, state)
    assert packages >= 2


def test_a_query_reports_instances_the_server_did_not_know(
    engine: Engine, tree: TreeConfig
) -> None:
    """A user-added instance shows in the children list; the report says the answer is
    incomplete, and the next package asks about it."""
    state = DeviceState.from_json({"MMS": {"mine": {"active": True}}})
    device, server = Device(engine, tree), Server(engine, tree)
    query = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    package, sent = server.build([query])
    _, response = device.process(state, package)
    (first,) = server.read(sent, response)
    assert first.status == 200 and first.result is None and "mine" in (first.note or "")
    package, sent = server.build([query])
    _, response = device.process(state, package)
    (second,) = server.read(sent, response)
    assert (second.status, second.result, second.note) == (200, "mine", None)


def test_a_query_asks_about_unknown_instances_in_a_later_round(
    engine: Engine, tree: TreeConfig
) -> None:
    """In a session (rounds), the flags of the instances the listing shows and the server did
    not ask about are read in the next package, and the engine answers on all of them."""
    state = DeviceState.from_json({"MMS": {"mine": {"active": True}}})
    device, server = Device(engine, tree), Server(engine, tree, rounds=True)
    query = Request.from_json({"actor": "server", "op": "get_active", "service": "MMS"})
    package, sent = server.build([query])
    _, response = device.process(state, package)
    reports = server.read(sent, response)
    assert reports[0].status is None
    later = server.next_round()
    assert [i.target for i in later[0].items] == [tree.flag_uri("MMS", "mine", f) for f in FLAGS]
    round_package = attrs.evolve(package, body=later)
    _, answer = device.process(state, round_package)
    server.read_round(answer)
    assert server.next_round() == ()
    ((final),) = server.leafwise(reports)
    assert (final.status, final.result, final.note) == (200, "mine", None)


def test_a_refused_package_is_reported_for_every_request(engine: Engine) -> None:
    server = Server(engine)
    requests = [
        Request.from_json({"actor": "server", "op": "add", "service": "MMS", "instance": "a"}),
        Request.from_json({"actor": "server", "op": "delete", "service": "MMS", "instance": "a"}),
    ]
    _, sent = server.build(requests)
    _, response = Device(engine).process(DeviceState(), b"<SyncML>")
    reports = server.read(sent, response)
    assert [r.status for r in reports] == [400, 400]
    assert all("not well-formed" in (r.note or "") for r in reports)


def test_user_requests_are_not_built(engine: Engine) -> None:
    from mostate import RequestError

    user = Request.from_json({"actor": "user", "op": "get_active", "service": "MMS"})
    with pytest.raises(RequestError, match="user request"):
        Server(engine).build([user])
