"""codegen.locality: a successor is judged to read the target's record alone only when it
does (the answers themselves are compared in tests/explore/test_fast_path.py)."""

from __future__ import annotations

import pytest

from mostate import Request, load_spec
from mostate.codegen import compile_successor
from mostate.codegen.locality import reads_target_only

HEAD = "def _step(svcs, S, N, pre):\n"


@pytest.mark.parametrize(
    "body",
    [
        "    return (N, pre[N]), ()",
        "    if N not in pre:\n        return None, ()\n    return None, ()",
        "    r = pre.get(N, _ABSENT)\n    return (N, r), ()",
    ],
)
def test_reads_of_the_target_alone_are_recognised(body: str) -> None:
    assert reads_target_only(HEAD + body + "\n")


@pytest.mark.parametrize(
    "body",
    [
        "    return dict(pre), ()",  # the whole service
        "    return None, tuple(r for n, r in pre.items())",
        "    return None, (len(pre),)",
        "    return None, (svcs,)",  # other services
        "    return None, (S,)",
        "    return None, (N == 'a',)",  # the target's name, not its record
        "    return (N, pre['a']), ()",
        "    return (N, pre.get('a')), ()",
        "    pre = {}\n    return (N, pre[N]), ()",  # a parameter rebound
        "    for N in pre:\n        pass\n    return None, ()",
        "    return ((N, N), pre[N]), ()",
        "    pre[N] = None\n    return None, ()",  # a write to the caller's dict
        "    del pre[N]\n    return None, ()",
    ],
)
def test_any_other_read_is_not(body: str) -> None:
    assert not reads_target_only(HEAD + body + "\n")


def test_a_module_without_the_function_is_not() -> None:
    assert not reads_target_only("def _other(svcs, S, N, pre):\n    return None, ()\n")


@pytest.mark.parametrize(
    ("op", "value", "local"),
    [("set_active", True, False), ("set_active", False, True), ("delete", None, True)],
)
def test_the_shipped_switch_reads_the_others(op: str, value: bool | None, local: bool) -> None:
    # Turning an instance Active clears the others: its answer depends on them.
    spec = load_spec()
    data: dict[str, object] = {"actor": "server", "op": op, "service": "MMS", "instance": "a"}
    if value is not None:
        data["value"] = value
    step = compile_successor(spec, spec.ops[op], Request.from_json(data))
    assert step.target_only is local
