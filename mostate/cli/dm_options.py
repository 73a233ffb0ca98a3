"""How a CCS state maps onto the DM tree, as options: ``dm`` and ``campaign`` share them (a
package built for a campaign reads the tree as ``dm build`` does)."""

from __future__ import annotations

import argparse

from ..omadm import AclError, AclTable, FlagBinding, ServiceRoot, TreeConfig, UriError
from ..omadm.tree import split_uri
from .common import CliError


def tree_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how a CCS state maps onto the DM tree (dm and campaign share
    them: a package built for a campaign reads the tree as ``dm build`` does)."""
    parser.add_argument(
        "--flags-as",
        choices=[b.value for b in FlagBinding],
        default=FlagBinding.PROPERTIES.value,
        help="flags as node properties (?prop=Active) or as leaves (<instance>/Ext/CCS/Active)",
    )
    parser.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="SERVICE=PATH[=URN]",
        help="where a service lives (default: ./SERVICE) and its MO type URN",
    )
    parser.add_argument(
        "--acl", action="append", default=[], metavar="URI=ACL", help="a node's ACL"
    )


def tree_from(args: argparse.Namespace) -> TreeConfig:
    """The tree configuration the options describe; a bad option is a usage error."""
    roots = []
    for spec in args.root:
        service, sep, rest = spec.partition("=")
        path, _, urn = rest.partition("=")
        if not sep or not service or not path:
            raise CliError(f"--root {spec!r}: expected SERVICE=PATH[=URN]")
        roots.append(ServiceRoot(service, _path(path, "--root"), urn or None))
    acls = {}
    for spec in args.acl:
        uri, sep, text = spec.partition("=")
        if not sep:
            raise CliError(f"--acl {spec!r}: expected URI=ACL")
        acls[_path(uri, "--acl")] = text
    try:
        table = AclTable.from_strings(acls)
    except AclError as err:
        raise CliError(str(err)) from None
    return TreeConfig(tuple(roots), FlagBinding(args.flags_as), table)


def _path(uri: str, option: str) -> str:
    try:
        path, query = split_uri(uri)
    except UriError as err:
        raise CliError(f"{option}: {err}") from None
    if query is not None:
        raise CliError(f"{option}: {uri!r} is a node path, without '?'")
    return path
