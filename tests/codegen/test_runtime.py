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


instances = st.dictionaries(
    st.sampled_from("abcd"), st.builds(Instance, flags, flags, flags, params)
)
targets = st.one_of(
    st.builds(Instance, flags, flags, flags, params),
    st.builds(Raw, flags, flags, flags, flags, params),
)


@given(instances, st.sampled_from("abcde"), targets)
def test_rewrite_point_is_rewrite(held: dict[str, Instance], target: str, record: object) -> None:
    # A point view: the state's own records, the target's set (added at the end when new).
    state = DeviceState.from_json({"WAP": {"z": {}}}).with_service("MMS", Service(FrozenMap(held)))
    pre = state.service("MMS").instances._data
    records = runtime.added(pre, target, record) if target not in pre else {**pre, target: record}  # type: ignore[arg-type]
    after = runtime.rewrite_point(state, "MMS", records, target)  # type: ignore[arg-type]
    expected = runtime.rewrite(state, "MMS", dict(sorted(records.items())))  # type: ignore[arg-type]
    assert after == expected and hash(after) == hash(expected)
    assert after.to_json() == expected.to_json()
    assert list(after.service("MMS").instances) == list(expected.service("MMS").instances)
    assert state.service("MMS").instances == FrozenMap(held)  # the state before is untouched


@given(st.dictionaries(st.text(max_size=3), st.integers()))
def test_an_adopted_map_is_the_sorted_map(data: dict[str, int]) -> None:
    adopted, built = FrozenMap._adopt(dict(data)), FrozenMap(data)
    assert adopted == built and hash(adopted) == hash(built)
    assert list(adopted.items()) == list(built.items()) and repr(adopted) == repr(built)
    if data:
        key = next(iter(data))
        assert list(adopted.remove(key)) == list(built.remove(key))
        assert list(adopted.set(key, 0).items()) == list(built.set(key, 0).items())
