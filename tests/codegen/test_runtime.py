"""The helpers generated code calls: the lighter constructors build the values attrs builds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mostate import Clause, DeviceState, FrozenMap, Instance, Outcome, Service, Status
from mostate.codegen import runtime
from mostate.concrete import Raw

flags = st.booleans()
params = st.dictionaries(st.sampled_from("pq"), st.sampled_from("xy"), max_size=2).map(FrozenMap)


@given(flags, flags, flags, params)
def test_new_instance_is_the_attrs_instance(a: bool, d: bool, lk: bool, p: FrozenMap) -> None:  # type: ignore[type-arg]
    fast, slow = runtime.new_instance(a, d, lk, p), Instance(a, d, lk, p)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert {fast: 1}[slow] == 1


def test_new_outcome_is_the_attrs_outcome() -> None:
    state = DeviceState.from_json({"MMS": {"a": {}}})
    args = (Status.NOT_FOUND, state, Clause("refusal", "missing"), None, "not found: missing")
    assert runtime.new_outcome(*args) == Outcome(*args)


records = st.dictionaries(
    st.sampled_from("abc"),
    st.one_of(
        st.builds(Instance, flags, flags, flags, params),
        st.builds(Raw, flags, flags, flags, flags, params),
    ),
)


@given(records, st.sampled_from(("MMS", "WAP")))
def test_rewrite_is_normalise(recs: dict[str, object], service: str) -> None:
    state = DeviceState.from_json({"MMS": {"z": {"active": True}}})
    ordered = dict(sorted(recs.items()))
    kept = {
        n: Instance(r.active, r.default, r.locked, r.params)  # type: ignore[attr-defined]
        for n, r in ordered.items()
        if r.exists  # type: ignore[attr-defined]
    }
    expected = state.with_service(service, Service(FrozenMap(kept)))
    after = runtime.rewrite(state, service, ordered)  # type: ignore[arg-type]
    assert after == expected and hash(after) == hash(expected)
    assert list(after.services) == list(expected.services)
