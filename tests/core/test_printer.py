"""The printer is the parser's inverse: parse(show(e)) == e, at one line and laid out to any
width, on trees Hypothesis draws of every node type."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mostate.errors import Location
from mostate.printer import layout, show
from mostate.rules import EXPR_NODES, Expr, Type, walk
from mostate.syntax import parse_typed
from mostate.testing.expressions import PROPERTY_SCOPE, expressions

HERE = Location("t.toml", 1, 1)


def parsed(text: str) -> tuple[Expr, Type]:
    return parse_typed(text, PROPERTY_SCOPE, HERE)


@settings(max_examples=300)
@given(st.one_of([expressions(t) for t in Type]))
def test_parse_of_print_is_the_tree(expr: Expr) -> None:
    again, _ = parsed(show(expr))
    assert again == expr
    assert show(again) == show(expr)  # and printing is a function of the tree


@settings(max_examples=200)
@given(expressions(Type.BOOL, depth=5), st.integers(10, 100))
def test_parse_of_a_layout_is_the_tree(expr: Expr, width: int) -> None:
    lines = layout(expr, width)
    assert parsed("\n".join(lines))[0] == expr
    assert layout(parsed("\n".join(lines))[0], width) == lines


def test_the_strategy_draws_every_node_type() -> None:
    seen: set[type] = set()

    @settings(max_examples=300, database=None, derandomize=True)
    @given(expressions(Type.BOOL, depth=5))
    def collect(expr: Expr) -> None:
        seen.update(type(node) for node in walk(expr))

    collect()
    assert seen == set(EXPR_NODES)


def test_a_short_expression_stays_on_one_line_and_a_long_one_breaks_at_connectives() -> None:
    short, _ = parsed("status == 200 -> all(i in device, unchanged(i))")
    assert layout(short, 100) == [show(short)]
    long, _ = parsed(
        "status == 200 -> exists'(target) and params'(target) == params and "
        "not active'(target) and not default'(target) and not locked'(target) and "
        "all(j, j != target -> unchanged(j))"
    )
    lines = layout(long, 60)
    assert lines[0] == "status == 200 ->" and all(len(line) <= 60 for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
