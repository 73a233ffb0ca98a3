"""DM tree access control lists: the grammar, inheritance, and the check per server id.

An ACL is ``Add=*&Get=srv1+srv2&Replace=srv1`` (OMA-DM TND 1.2): for each command, the server
ids it is granted to, or ``*`` for every server. A node whose ACL is empty inherits the ACL of
its nearest ancestor; the root's ACL, when none is configured, grants every command to every
server (``Add=*&Delete=*&Exec=*&Get=*&Replace=*``, as the real device's DDF does). Add is
checked on the parent of the node being added, every other command on the node itself.

ACLs are DM tree policy, not CCS rules: they are checked here, before the engine runs, and the
device's user (its local UI) is never subject to them.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..errors import MostateError
from ..frozenmap import FrozenMap

COMMANDS = ("Add", "Delete", "Exec", "Get", "Replace")
_ID_FORBIDDEN = frozenset("&=+* \t\r\n")


class AclError(MostateError, ValueError):
    """An ACL string that does not follow the grammar."""


@attrs.frozen
class Acl:
    """One node's ACL: the server ids (or ``*``) each command is granted to.

    >>> acl = Acl.parse("Add=*&Get=srv1+srv2&Replace=srv1")
    >>> acl.grants("Get", "srv2"), acl.grants("Replace", "srv2"), acl.grants("Add", "any")
    (True, False, True)
    >>> str(acl)
    'Add=*&Get=srv1+srv2&Replace=srv1'
    """

    grants_by_command: FrozenMap[str, frozenset[str]] = FrozenMap()

    @property
    def empty(self) -> bool:
        return not self.grants_by_command

    def grants(self, command: str, server_id: str | None) -> bool:
        ids = self.grants_by_command.get(command, frozenset())
        return "*" in ids or (server_id is not None and server_id in ids)

    def __str__(self) -> str:
        return "&".join(
            f"{cmd}={'+'.join(sorted(ids))}" for cmd, ids in self.grants_by_command.items()
        )

    @classmethod
    def parse(cls, text: str) -> Acl:
        """Read an ACL; raises :class:`AclError` naming the part that is wrong.

        >>> Acl.parse("Get=srv1&Copy=*")
        Traceback (most recent call last):
        ...
        mostate.omadm.acl.AclError: ACL 'Get=srv1&Copy=*': unknown command 'Copy'
        """
        grants: dict[str, set[str]] = {}
        for part in text.split("&") if text else ():
            command, sep, ids = part.partition("=")
            if not sep:
                raise AclError(f"ACL {text!r}: {part!r} is not COMMAND=IDS")
            if command not in COMMANDS:
                raise AclError(f"ACL {text!r}: unknown command {command!r}")
            for server_id in ids.split("+"):
                _check_id(text, server_id)
                grants.setdefault(command, set()).add(server_id)
        return cls(FrozenMap((cmd, frozenset(ids)) for cmd, ids in grants.items()))


def _check_id(text: str, server_id: str) -> None:
    if server_id == "*":
        return
    if not server_id or not _ID_FORBIDDEN.isdisjoint(server_id):
        raise AclError(f"ACL {text!r}: {server_id!r} is not a server id or '*'")


ROOT_DEFAULT = Acl.parse("Add=*&Delete=*&Exec=*&Get=*&Replace=*")


def parent(uri: str) -> str:
    """The parent of a normalised node URI (the root is its own parent).

    >>> parent("./MMS/a"), parent("./MMS"), parent(".")
    ('./MMS', '.', '.')
    """
    head, sep, _ = uri.rpartition("/")
    return head if sep else "."


@attrs.frozen
class AclTable:
    """The ACLs a device holds, by normalised node URI (``.``, ``./MMS``, ``./MMS/a``).

    >>> table = AclTable.from_strings({"./MMS": "Get=*&Replace=srv1"})
    >>> table.allows("Replace", "./MMS/a/MMSC", "srv1"), table.allows("Replace", "./MMS/a", "x")
    (True, False)
    >>> table.allows("Add", "./MMS/b", "srv2"), table.allows("Add", "./WAP/b", "srv2")
    (False, True)
    """

    acls: FrozenMap[str, Acl] = FrozenMap()

    @classmethod
    def from_strings(cls, acls: Mapping[str, str]) -> AclTable:
        return cls(FrozenMap((uri, Acl.parse(text)) for uri, text in acls.items()))

    def own(self, uri: str) -> Acl:
        """The node's own ACL (empty when it inherits); the root's default when unset."""
        found = self.acls.get(uri)
        if found is None and uri == ".":
            return ROOT_DEFAULT
        return found if found is not None else Acl()

    def effective(self, uri: str) -> Acl:
        """The ACL that applies: the node's own, else its nearest ancestor's."""
        while True:
            acl = self.own(uri)
            if not acl.empty or uri == ".":
                return acl
            uri = parent(uri)

    def allows(self, command: str, uri: str, server_id: str | None) -> bool:
        """Whether ``server_id`` may run ``command`` on the node at ``uri``."""
        checked = parent(uri) if command == "Add" else uri
        return self.effective(checked).grants(command, server_id)
