"""One record schema: an instance's fields are declared by :class:`mostate.model.Instance`, and
every other form of a record agrees with it (the spec language's fields, the raw records of
effects, the Z3 state, the explorer's codes, the JSON and OMA-DM forms), derived, not listed
again. The README's "Extending mostate" note lists what a new flag touches."""

from __future__ import annotations

import attrs

from mostate import DeviceState, Instance
from mostate.concrete import Raw, record_values
from mostate.model import FLAGS, flag_values, instance
from mostate.rules import FLAGS as RECORD_FLAGS
from mostate.rules import STATUS, Field


def test_the_fields_are_declared_once_and_agree() -> None:
    assert FLAGS == ("active", "default", "locked")
    assert [f.name for f in attrs.fields(Instance)] == [*FLAGS, "params"]
    assert [f.value for f in Field] == ["exists", *FLAGS, "params"]
    assert [f.name for f in attrs.fields(Raw)] == [f.value for f in Field]
    assert [f.value for f in STATUS] == list(FLAGS)
    assert (Field.EXISTS, *STATUS) == RECORD_FLAGS


def test_every_form_of_a_record_follows_the_declaration() -> None:
    from mostate.omadm.tree import FLAGS as DM_FLAGS

    inst = instance([True, False, True])
    assert flag_values(inst) == (True, False, True)
    assert record_values(inst) == (True, True, False, True, inst.params)
    assert list(inst.to_json()) == [*FLAGS, "params"]
    state = DeviceState.from_json({"S": {"a": inst.to_json()}})
    assert state.instance("S", "a") == inst
    assert tuple(flag.capitalize() for flag in FLAGS) == DM_FLAGS


def test_the_z3_state_has_a_function_per_field() -> None:
    import pytest

    pytest.importorskip("z3", reason="the symbolic state is Z3's")
    from mostate.symbolic._z3 import Session
    from mostate.symbolic.transition import fresh_state

    z = Session()
    state = fresh_state(z)
    s, i = z.const("s", z.svc), z.const("i", z.inst)
    terms = [str(state.field(f)(s, i)) for f in Field]
    assert [t.split("!")[0] for t in terms] == [f.value for f in Field]
