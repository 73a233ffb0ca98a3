"""The DM tree view of a device state: which node a URI names, and the URIs of the engine's data.

A service is an interior node holding its MO instances (``./MMS/<instance>/<param>``); where each
service lives and its MO type URN are configuration (:class:`TreeConfig`); a service that is not
configured lives at ``./<service>``. The three flags of the change request are reached in one of
two ways, chosen by :attr:`TreeConfig.flags`:

* ``FlagBinding.PROPERTIES``: node properties ``./MMS/a?prop=Active`` (``Default``, ``Locked``);
* ``FlagBinding.LEAVES``: leaves ``./MMS/a/Ext/CCS/Active``, for deployments that cannot add
  properties (DM 1.2.1 forbids new ones). A parameter named ``Ext`` is then not reachable.

Nothing here decides a request: :mod:`mostate.omadm.mapping` turns a command on a node into an
engine request (or a tree-level answer), and the engine decides.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from ..errors import MostateError
from ..model import FLAGS as INSTANCE_FLAGS
from .acl import AclTable

FLAGS = tuple(flag.capitalize() for flag in INSTANCE_FLAGS)
"""The change request's flags as DM names them (``Active``...): the instance's flags
(:data:`mostate.model.FLAGS`) capitalised; the engine's fields are their lower-case forms."""
STANDARD_PROPERTIES = ("ACL", "Format", "Name", "Size", "Type")
LIST_QUERIES = ("Struct", "StructData")


class FlagBinding(enum.Enum):
    """How the Active/Default/Locked flags appear in the DM tree."""

    PROPERTIES = "properties"
    LEAVES = "leaves"


class UriError(MostateError, ValueError):
    """A URI that names no node; ``code`` is the status to answer (400 malformed, 404, 406)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@attrs.frozen
class ServiceRoot:
    """Where one service's instances live, and the MO type URN of each instance.

    >>> ServiceRoot("MMS", "./MMS", "urn:oma:mo:oma-mms:1.0").path
    './MMS'
    """

    service: str
    path: str
    mo_type: str | None = None


@attrs.frozen
class Interior:
    """A permanent interior node above the service roots (``.``, ``./ManagedObjects``)."""

    path: str
    children: tuple[str, ...]


@attrs.frozen
class ServiceNode:
    path: str
    service: str


@attrs.frozen
class InstanceNode:
    path: str
    service: str
    instance: str


@attrs.frozen
class ParamNode:
    path: str
    service: str
    instance: str
    param: str


@attrs.frozen
class ExtNode:
    """``<instance>/Ext`` (depth 1) or ``<instance>/Ext/CCS`` (depth 2) in the leaf binding."""

    path: str
    service: str
    instance: str
    depth: int


@attrs.frozen
class FlagNode:
    """``<instance>/Ext/CCS/<flag>`` in the leaf binding."""

    path: str
    service: str
    instance: str
    flag: str


Node = Interior | ServiceNode | InstanceNode | ParamNode | ExtNode | FlagNode


@attrs.frozen
class Target:
    """A resolved URI: the node, and the query after ``?`` (``prop=X`` or ``list=Y``) if any."""

    node: Node
    prop: str | None = None
    list_query: str | None = None


@attrs.frozen
class TreeConfig:
    """Where services live in the DM tree, how flags appear, and the ACLs.

    >>> tree = TreeConfig(roots=(ServiceRoot("APN", "./ManagedObjects/ConnMO/APN"),))
    >>> tree.flag_uri("APN", "1", "Active"), tree.flag_uri("MMS", "a", "Locked")
    ('./ManagedObjects/ConnMO/APN/1?prop=Active', './MMS/a?prop=Locked')
    >>> node = tree.resolve("./ManagedObjects/ConnMO/APN/1/Setting").node
    >>> node.service, node.instance, node.param
    ('APN', '1', 'Setting')
    """

    roots: tuple[ServiceRoot, ...] = ()
    flags: FlagBinding = FlagBinding.PROPERTIES
    acls: AclTable = AclTable()

    def root(self, service: str) -> ServiceRoot:
        for root in self.roots:
            if root.service == service:
                return root
        return ServiceRoot(service, f"./{service}")

    def instance_uri(self, service: str, instance: str) -> str:
        return f"{self.root(service).path}/{instance}"

    def param_uri(self, service: str, instance: str, param: str) -> str:
        return f"{self.instance_uri(service, instance)}/{param}"

    def flag_uri(self, service: str, instance: str, flag: str) -> str:
        """The URI of a flag (``Active``, ``Default``, ``Locked``) in this binding."""
        base = self.instance_uri(service, instance)
        if self.flags is FlagBinding.LEAVES:
            return f"{base}/Ext/CCS/{flag}"
        return f"{base}?prop={flag}"

    def resolve(self, uri: str) -> Target:
        """The node a URI names; raises :class:`UriError` (with the status) when none."""
        path, query = split_uri(uri)
        segments = path.split("/")[1:]
        node = self._node(path, segments)
        if query is None:
            return Target(node)
        key, _, value = query.partition("=")
        if key == "prop" and value:
            return Target(node, prop=value)
        if key == "list" and value in LIST_QUERIES:
            return Target(node, list_query=value)
        raise UriError(406, f"{uri}: unsupported query {query!r}")

    def _node(self, path: str, segments: list[str]) -> Node:
        best: ServiceRoot | None = None
        for root in self.roots:
            depth = root.path.count("/")
            prefix = root.path.split("/")[1:]
            if segments[:depth] == prefix and (best is None or depth > best.path.count("/")):
                best = root
        if best is not None:
            return self._under(path, best.service, segments[best.path.count("/") :])
        above = _children_below(segments, (r.path.split("/")[1:] for r in self.roots))
        if above or not segments:
            return Interior(path, above)
        return self._under(path, segments[0], segments[1:])

    def _under(self, path: str, service: str, rest: list[str]) -> Node:
        leaves = self.flags is FlagBinding.LEAVES
        match rest:
            case []:
                return ServiceNode(path, service)
            case [instance]:
                return InstanceNode(path, service, instance)
            case [instance, "Ext"] if leaves:
                return ExtNode(path, service, instance, 1)
            case [instance, "Ext", "CCS"] if leaves:
                return ExtNode(path, service, instance, 2)
            case [instance, "Ext", "CCS", flag] if leaves and flag in FLAGS:
                return FlagNode(path, service, instance, flag)
            case [instance, param]:
                return ParamNode(path, service, instance, param)
            case _:
                raise UriError(404, f"{path}: no such node")


def _children_below(segments: list[str], roots: Iterable[list[str]]) -> tuple[str, ...]:
    depth = len(segments)
    return tuple(sorted({r[depth] for r in roots if len(r) > depth and r[:depth] == segments}))


def split_uri(uri: str) -> tuple[str, str | None]:
    """A URI's normalised path (``./A/B``) and its query; raises :class:`UriError` (400).

    >>> split_uri("MMS/a/?prop=Active"), split_uri(".")
    (('./MMS/a', 'prop=Active'), ('.', None))
    >>> split_uri("./MMS//a")
    Traceback (most recent call last):
    ...
    mostate.omadm.tree.UriError: './MMS//a': empty or relative segment
    """
    path, sep, query = uri.partition("?")
    if "\x00" in uri or not path:
        raise UriError(400, f"{uri!r}: not a node URI")
    if path != "." and not path.startswith("./"):
        path = "./" + path
    if len(path) > 2:
        path = path.rstrip("/")
    segments = path.split("/")[1:]
    if any(s in ("", ".", "..") for s in segments):
        raise UriError(400, f"{uri!r}: empty or relative segment")
    return path, (query if sep else None)
