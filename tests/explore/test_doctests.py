"""The docstring examples of the explore package and its CLI run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mostate.explore.scope",
    "mostate.explore.symmetry",
    "tests.explore.cache",
    "mostate.explore.explorer",
    "mostate.explore.encoding",
    "mostate.explore.search",
    "tests.explore.reference",
    "mostate.explore.plan",
    "mostate.explore.export",
    "mostate.explore.graphio",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
