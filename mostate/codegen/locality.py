"""What a generated successor function reads of the state: the target's record alone, or more.

A successor (:func:`~mostate.codegen.build.compile_successor`) is given ``(svcs, S, N, pre)``.
When its code touches the state only as ``N in pre``, ``pre[N]`` and ``pre.get(N, ...)``, and
uses ``N`` for nothing else than those reads and the name in a ``(N, record)`` answer, then its
answer is a function of the target's record alone (absent or not): two states that give the
target the same record get the same answer, whatever the other instances and services hold.
The explorer then computes such a request once per record, not once per state
(:mod:`mostate.explore.frontier`).

The check reads the generated source, not the rules: it is about what the emitter wrote, after
every fold, and it answers ``False`` for anything it does not recognise.
"""

from __future__ import annotations

import ast

_STATE = frozenset({"svcs", "S"})
"""Parameters a target-only successor never reads."""


def reads_target_only(source: str, function: str = "_step") -> bool:
    """Whether ``function`` in the generated module ``source`` reads the state only through
    the target's record (see the module's docstring).

    >>> reads_target_only("def _step(svcs, S, N, pre):\\n    return (N, pre[N]), ()\\n")
    True
    >>> reads_target_only("def _step(svcs, S, N, pre):\\n    return dict(pre), ()\\n")
    False
    """
    tree = ast.parse(source)
    found = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    if len(found) != 1:
        return False
    allowed = _target_reads(found[0])
    for node in ast.walk(found[0]):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            if node.id in _STATE:
                return False
            if node.id in ("pre", "N") and id(node) not in allowed:
                return False
        elif isinstance(node, ast.Name) and node.id in ("svcs", "S", "N", "pre"):
            return False  # a parameter rebound: the reads above would not mean what they say
    return True


def _target_reads(function: ast.FunctionDef) -> set[int]:
    """The ids of the ``pre`` and ``N`` name nodes in the forms a target-only read takes
    (``pre[N] = ...`` or ``del pre[N]`` writes the caller's dict: not one of them)."""
    allowed: set[int] = set()
    for node in ast.walk(function):
        match node:
            case ast.Subscript(
                value=ast.Name(id="pre") as pre, slice=ast.Name(id="N") as n, ctx=ast.Load()
            ):
                allowed |= {id(pre), id(n)}
            case ast.Compare(
                left=ast.Name(id="N") as n,
                ops=[ast.In() | ast.NotIn()],
                comparators=[ast.Name(id="pre") as pre],
            ):
                allowed |= {id(pre), id(n)}
            case ast.Call(
                func=ast.Attribute(value=ast.Name(id="pre") as pre, attr="get"),
                args=[ast.Name(id="N") as n, *_],
                keywords=[],
            ):
                allowed |= {id(pre), id(n)}
            case ast.Return(value=ast.Tuple(elts=[ast.Tuple(elts=[ast.Name(id="N") as n, _]), _])):
                allowed.add(id(n))
    return allowed
