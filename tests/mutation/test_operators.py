"""The mutation operators: every one applies to the shipped spec, every mutant is a well-typed
spec that differs from the original in one operation only, and ids are stable."""

from __future__ import annotations

import doctest
import importlib

import pytest

import mostate.mutation as mutation
from mostate import Engine, load_spec, parse_spec
from mostate.mutation import OPERATORS, generate
from mostate.mutation.operators import well_scoped
from mostate.rules import Not, children, map_children, walk
from mostate.symbolic import CompiledSpec
from tests.conftest import CCS


def test_every_operator_mutates_the_shipped_spec() -> None:
    made = {m.operator for m in generate(load_spec())}
    assert made == set(OPERATORS) - {"swap_lt"}  # the shipped operations compare no integers


def test_swap_lt_on_a_spec_that_counts() -> None:
    text = """
[ops.add]
[[ops.add.steps]]
refuse = 418
when = "count(i, exists(i)) < 2 and count(i, active(i)) >= 1"
[[ops.add.steps]]
effect.exists = "exists(i) or i == target"
"""
    found = [m.description for m in generate(parse_spec(text, "t.toml"), ["swap_lt"])]
    assert found == ["add/refuse #1: '<' -> '<='", "add/refuse #1: '>=' -> '>'"]


def test_mutants_change_one_operation_and_never_the_oracle() -> None:
    spec = load_spec()
    mutants = generate(spec)
    assert len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        changed = [name for name in spec.ops if spec.ops[name] != m.spec.ops[name]]
        assert changed == [m.op], m
        assert m.spec.invariants == spec.invariants
        assert m.spec.properties == spec.properties
        assert m.spec.independences == spec.independences
        assert well_scoped(m.spec.ops[m.op])
        assert m.where.startswith("ccs.toml:") and m.description.startswith(m.op)


def test_every_mutant_is_accepted_by_the_engine_and_the_compiler() -> None:
    for m in generate(load_spec()):
        Engine(m.spec)
        CompiledSpec(m.spec)


def test_ids_do_not_depend_on_line_numbers() -> None:
    shifted = parse_spec("# a comment\n\n" + CCS.read_text(encoding="utf-8"), str(CCS))
    before, after = generate(load_spec()), generate(shifted)
    assert [m.id for m in before] == [m.id for m in after]
    assert [m.loc.line + 2 for m in before] == [m.loc.line for m in after]


def test_operator_selection() -> None:
    only = generate(load_spec(), ["swap_and_or", "drop_refusal"])
    assert {m.operator for m in only} == {"swap_and_or", "drop_refusal"}
    with pytest.raises(ValueError, match="no mutation operator 'x'"):
        generate(load_spec(), ["x"])


def test_map_children_visits_every_child_in_order() -> None:
    spec = load_spec()
    exprs = [e for op in spec.ops.values() for step in op.steps for e in _exprs(step)]
    exprs += [p.expr for p in spec.properties] + [i.expr for i in spec.invariants]
    for expr in exprs:
        for node in walk(expr):
            assert map_children(node, lambda c: c) == node
            marked = map_children(node, Not)
            assert children(marked) == tuple(Not(c) for c in children(node))


def _exprs(step: object) -> list[object]:
    when = getattr(step, "when", None)
    return ([when] if when is not None else []) + [e for _, e in getattr(step, "updates", ())]


def test_exports_are_pinned() -> None:
    assert sorted(mutation.__all__) == [
        "Equivalent",
        "Killed",
        "Mutant",
        "OPERATORS",
        "Outcome",
        "Report",
        "Survived",
        "Unknown",
        "Verdict",
        "analyse",
        "classify",
        "generate",
        "kill",
        "label",
        "whole_spec",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "mostate.printer",
        "mostate.mutation.operators",
        "mostate.mutation.mutants",
        "mostate.mutation.classify",
        "mostate.mutation.report",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_the_new_operators_reach_where_a_step_should_not() -> None:
    # Issue 25: mutate never added a change to another field, so its 100% could not reveal
    # a set_locked that also clears Active; these are the operators that can.
    made = {(m.operator, m.description) for m in generate(load_spec())}
    for expected in [
        ("add_update", "set_locked/lock: also cleared on the target: active"),
        ("add_update", "set_active/switch: also set on the target: default"),
        ("change_other", "set_locked/lock: the others negated: locked"),
        (
            "drop_target_guard",
            "set_locked/lock.locked: 'if i == target then value else locked(i)' -> 'value'",
        ),
        ("read_other_service", "get_active/result: 'the(i, active(i))' -> 'in others'"),
        ("copy_refusal", "get: refusal copied from delete: locked"),
    ]:
        assert expected in made, expected


def test_a_copied_refusal_must_read_arguments_the_operation_declares() -> None:
    # delete_param's "no such parameter" reads its `param` argument: replace declares one of
    # that type and may take it; set_active does not, and a copy there would not load.
    copies = {m.description for m in generate(load_spec(), ["copy_refusal"])}
    assert "replace: refusal copied from delete_param: no such parameter" in copies
    assert not any(d.startswith("set_active:") and "no such parameter" in d for d in copies)
