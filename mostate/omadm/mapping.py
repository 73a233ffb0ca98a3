"""From a DM command on a node to an engine request, and from the engine's outcome to Results.

:func:`plan` maps one item of a command to either :class:`Ask` (an engine request, and how to
read its outcome) or :class:`Reply` (a tree-level answer: reading structure the engine does not
model, or a protocol refusal such as 405 for Add on a property). Every decision about the CCS
(allowed or refused, which status) is the engine's: a flag is read with the engine's ``get``, set
with ``set_active`` / ``set_default`` / ``set_locked``, a parameter with ``replace``.

Deleting a leaf is the one effect the spec has no operation for: the engine's ``replace`` of that
parameter (with its current value) decides whether the server may modify the instance, and on 200
the parameter is removed here.
"""

from __future__ import annotations

import enum
from typing import assert_never

import attrs

from ..frozenmap import FrozenMap
from ..model import Actor, ArgValue, DeviceState, Instance, Outcome, Params, Request
from .messages import Code, Item, Meta
from .tree import (
    FLAGS,
    STANDARD_PROPERTIES,
    ExtNode,
    FlagBinding,
    FlagNode,
    InstanceNode,
    Interior,
    Node,
    ParamNode,
    ServiceNode,
    Target,
    TreeConfig,
)

_NODE = Meta("node")
_CHR = Meta("chr", "text/plain")
_BOOL = Meta("bool", "text/plain")


class Render(enum.Enum):
    """How an engine outcome (200) becomes Results or a state change."""

    STATUS = "status"
    FLAG = "flag"
    PARAM = "param"
    CHILDREN = "children"
    STRUCT = "Struct"
    STRUCT_DATA = "StructData"
    PROPERTY = "property"


@attrs.frozen
class Ask:
    """Ask the engine ``request``; read its outcome as ``render`` says (``detail``: the flag,
    parameter or property concerned)."""

    request: Request
    render: Render
    uri: str
    node: Node
    detail: str | None = None


@attrs.frozen
class Reply:
    """A tree-level answer; ``reads`` marks a successful read (a declined confirmation makes it
    215, since a command the user declined is not executed)."""

    code: int
    reason: str | None = None
    results: tuple[Item, ...] = ()
    reads: bool = False


Plan = Ask | Reply


def _refuse(code: Code, why: str) -> Reply:
    return Reply(int(code), why)


def plan(
    command: str, target: Target, item: Item, tree: TreeConfig, state: DeviceState, actor: Actor
) -> Plan:
    """The engine request (or tree answer) for one item of ``command`` on ``target``.

    >>> from mostate.model import Actor, DeviceState
    >>> tree = TreeConfig()
    >>> p = plan("Replace", tree.resolve("./MMS/a?prop=Active"), Item(data="true"), tree,
    ...          DeviceState(), Actor.server("srv1"))
    >>> p.request.op, p.request.args["value"]
    ('set_active', True)
    >>> plan("Add", tree.resolve("./MMS/a?prop=Active"), Item(), tree, DeviceState(),
    ...      Actor.server()).code
    405
    """
    uri = item.target or ""
    if target.prop is not None:
        return _property(command, target.prop, target.node, uri, item, tree, actor)
    if target.list_query is not None:
        return _listing(command, target.node, uri, target.list_query, tree, state, actor)
    ask = _Asker(actor, uri, target.node)
    match target.node:
        case Interior():
            return _interior(command, target.node, uri, tree, state)
        case ServiceNode():
            if command == "Get":
                names = tuple(state.service(target.node.service).instances)
                data = "/".join(names)
                return Reply(200, results=(Item(source=uri, meta=_NODE, data=data),), reads=True)
            return _refuse(Code.NOT_ALLOWED, f"{command} on a service root")
        case InstanceNode():
            return _instance(command, ask, item)
        case ParamNode():
            return _param(command, ask, target.node, item, state)
        case ExtNode():
            if command == "Get":
                return ask("get", Render.CHILDREN)
            return _refuse(Code.NOT_ALLOWED, f"{command} on a permanent interior node")
        case FlagNode():
            return _flag(command, ask, target.node.flag, item)
        case _:
            assert_never(target.node)


@attrs.frozen
class _Asker:
    actor: Actor
    uri: str
    node: Node

    def __call__(self, op: str, render: Render, detail: str | None = None, **args: ArgValue) -> Ask:
        node = self.node
        assert not isinstance(node, Interior | ServiceNode)
        request = Request(self.actor, op, node.service, node.instance, FrozenMap(args))
        return Ask(request, render, self.uri, node, detail)


def _interior(
    command: str, node: Interior, uri: str, tree: TreeConfig, state: DeviceState
) -> Reply:
    if command != "Get":
        return _refuse(Code.NOT_ALLOWED, f"{command} on a permanent interior node")
    children = set(node.children)
    if node.path == ".":
        configured = {r.service for r in tree.roots}
        children |= {s for s in state.services if s not in configured}
    data = "/".join(sorted(children))
    return Reply(200, results=(Item(source=uri, meta=_NODE, data=data),), reads=True)


def _instance(command: str, ask: _Asker, item: Item) -> Plan:
    match command:
        case "Add":
            if (item.meta is not None and item.meta.format not in (None, "node")) or item.data:
                return _refuse(Code.NOT_ALLOWED, "an MO instance is an interior node")
            return ask("add", Render.STATUS)
        case "Get":
            return ask("get", Render.CHILDREN)
        case "Delete":
            return ask("delete", Render.STATUS)
        case _:
            return _refuse(Code.NOT_ALLOWED, f"{command} on an MO instance (interior node)")


def add_with_params(ask: Ask, params: Params) -> Ask:
    """An instance Add that also sets the leaves added with it in the same command."""
    args = ask.request.args.set("params", params)
    return attrs.evolve(ask, request=attrs.evolve(ask.request, args=args))


def _param(command: str, ask: _Asker, node: ParamNode, item: Item, state: DeviceState) -> Plan:
    current = state.instance(node.service, node.instance)
    value = current.params.get(node.param) if current is not None else None
    data = item.data or ""
    match command:
        case "Add":
            if item.meta is not None and item.meta.format == "node":
                return _refuse(Code.NOT_ALLOWED, "an MO instance holds only leaves")
            if value is not None:
                return _refuse(Code.ALREADY_EXISTS, f"{node.path} already exists")
            return ask("replace", Render.STATUS, param=node.param, value=data)
        case "Replace":
            return ask("replace", Render.STATUS, param=node.param, value=data)
        case "Get":
            return ask("get", Render.PARAM, node.param)
        case "Delete":
            return ask("delete_param", Render.STATUS, param=node.param)
        case _:
            return _refuse(Code.NOT_ALLOWED, f"{command} on a leaf")


def _flag(command: str, ask: _Asker, flag: str, item: Item) -> Plan:
    if command == "Get":
        return ask("get", Render.FLAG, flag)
    if command == "Replace":
        data = item.data or ""
        value: ArgValue = {"true": True, "false": False}.get(data.strip(), data)
        return ask(f"set_{flag.lower()}", Render.STATUS, flag, value=value)
    return _refuse(Code.NOT_ALLOWED, f"{command} on the {flag} flag (Get and Replace only)")


def _property(
    command: str, prop: str, node: Node, uri: str, item: Item, tree: TreeConfig, actor: Actor
) -> Plan:
    leaves = tree.flags is FlagBinding.LEAVES
    if prop in FLAGS and not leaves:
        if not isinstance(node, InstanceNode):
            return _refuse(Code.NOT_SUPPORTED, f"{prop} is a property of MO instances only")
        return _flag(command, _Asker(actor, uri, node), prop, item)
    if prop not in STANDARD_PROPERTIES:
        return _refuse(Code.NOT_SUPPORTED, f"unknown property {prop!r}")
    if command != "Get":
        return _refuse(Code.NOT_ALLOWED, f"{command} on property {prop} (Get only)")
    if isinstance(node, Interior | ServiceNode):
        value = property_value(prop, node, tree, None)
        if value is None:
            return _refuse(Code.NOT_SUPPORTED, f"{prop} of an interior node")
        return Reply(200, results=(Item(source=uri, meta=_CHR, data=value),), reads=True)
    return _Asker(actor, uri, node)("get", Render.PROPERTY, prop)


def _listing(
    command: str,
    node: Node,
    uri: str,
    query: str,
    tree: TreeConfig,
    state: DeviceState,
    actor: Actor,
) -> Plan:
    if command != "Get":
        return _refuse(Code.NOT_ALLOWED, f"?list= is for Get, not {command}")
    if isinstance(node, InstanceNode):
        return _Asker(actor, uri, node)("get", Render(query))
    if not isinstance(node, ServiceNode):
        return _refuse(Code.NOT_SUPPORTED, "?list= on service roots and MO instances only")
    items = [Item(source=node.path, meta=_NODE)]
    for name, inst in state.service(node.service).instances.items():
        sub = InstanceNode(f"{node.path}/{name}", node.service, name)
        leaves = tree.flags is FlagBinding.LEAVES
        items.extend(structure(sub, inst, with_data=query == "StructData", leaves=leaves))
    return Reply(200, results=tuple(items), reads=True)


def structure(node: InstanceNode, inst: Instance, *, with_data: bool, leaves: bool) -> list[Item]:
    """The items of an instance's subtree, the instance first (``?list=Struct[Data]``)."""
    out = [Item(source=node.path, meta=_NODE)]
    for param, value in inst.params.items():
        out.append(
            Item(source=f"{node.path}/{param}", meta=_CHR, data=value if with_data else None)
        )
    if leaves:
        out.append(Item(source=f"{node.path}/Ext", meta=_NODE))
        out.append(Item(source=f"{node.path}/Ext/CCS", meta=_NODE))
        for flag in FLAGS:
            data = _bool(getattr(inst, flag.lower())) if with_data else None
            out.append(Item(source=f"{node.path}/Ext/CCS/{flag}", meta=_BOOL, data=data))
    return out


def _bool(value: bool) -> str:
    return "true" if value else "false"


def property_value(prop: str, node: Node, tree: TreeConfig, inst: Instance | None) -> str | None:
    """A standard property's value, or None where the node has no such property."""
    leaf = isinstance(node, ParamNode | FlagNode)
    match prop:
        case "ACL":
            return str(tree.acls.own(node.path))
        case "Name":
            return node.path.rpartition("/")[2]
        case "Format":
            return "bool" if isinstance(node, FlagNode) else "chr" if leaf else "node"
        case "Type":
            if isinstance(node, InstanceNode):
                return tree.root(node.service).mo_type or ""
            return "text/plain" if leaf else ""
        case "Size":
            value = leaf_value(node, inst)
            return None if value is None else str(len(value.encode("utf-8")))
        case _:
            return None


def leaf_value(node: Node, inst: Instance | None) -> str | None:
    """The value of a leaf node of an instance (None for interior nodes or absent leaves)."""
    if inst is None:
        return None
    if isinstance(node, ParamNode):
        return inst.params.get(node.param)
    if isinstance(node, FlagNode):
        return _bool(getattr(inst, node.flag.lower()))
    return None


def render(
    ask: Ask, outcome: Outcome, tree: TreeConfig
) -> tuple[int, tuple[Item, ...], str | None]:
    """The status and Results items of an answered :class:`Ask` (the state change, if any, is
    the outcome's)."""
    inst = outcome.result if isinstance(outcome.result, Instance) else None
    leaves = tree.flags is FlagBinding.LEAVES
    node = ask.node
    match ask.render:
        case Render.STATUS:
            return 200, (), None
        case Render.FLAG:
            assert ask.detail is not None and inst is not None
            return 200, (_one(ask.uri, _BOOL, _bool(getattr(inst, ask.detail.lower()))),), None
        case Render.PARAM:
            value = leaf_value(node, inst)
            if value is None:
                return 404, (), f"{node.path}: no such node"
            return 200, (_one(ask.uri, _CHR, value),), None
        case Render.CHILDREN:
            return 200, (_one(ask.uri, _NODE, "/".join(_children(node, inst, leaves))),), None
        case Render.STRUCT | Render.STRUCT_DATA:
            assert isinstance(node, InstanceNode) and inst is not None
            data = ask.render is Render.STRUCT_DATA
            return 200, tuple(structure(node, inst, with_data=data, leaves=leaves)), None
        case Render.PROPERTY:
            assert ask.detail is not None
            if isinstance(node, ParamNode) and leaf_value(node, inst) is None:
                return 404, (), f"{node.path}: no such node"
            value = property_value(ask.detail, node, tree, inst)
            if value is None:
                return 406, (), f"{node.path} has no {ask.detail} property"
            return 200, (_one(ask.uri, _CHR, value),), None
        case _:
            assert_never(ask.render)


def _one(uri: str, meta: Meta, data: str) -> Item:
    return Item(source=uri, meta=meta, data=data)


def _children(node: Node, inst: Instance | None, leaves: bool) -> list[str]:
    if isinstance(node, ExtNode):
        return ["CCS"] if node.depth == 1 else list(FLAGS)
    names = list(inst.params) if inst is not None else []
    return [*names, "Ext"] if leaves else names


def after(ask: Ask, outcome: Outcome) -> DeviceState:
    """The state after an answered :class:`Ask` that the engine allowed (200): the engine's."""
    return outcome.state
