"""The ACL grammar, inheritance from the nearest ancestor, and the per-server check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mostate.omadm import Acl, AclError, AclTable
from mostate.omadm.acl import COMMANDS


def test_grammar() -> None:
    acl = Acl.parse("Add=*&Get=srv1+srv2&Replace=srv1")
    assert acl.grants("Add", "anyone")
    assert acl.grants("Get", "srv1") and acl.grants("Get", "srv2") and not acl.grants("Get", "x")
    assert not acl.grants("Delete", "srv1")
    assert not acl.grants("Get", None)  # a server without an id only gets '*'
    assert Acl.parse("").empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Get", "is not COMMAND=IDS"),
        ("Copy=*", "unknown command 'Copy'"),
        ("Get=", "'' is not a server id"),
        ("Get=a+", "'' is not a server id"),
        ("Get=a b", "'a b' is not a server id"),
        ("Get=*&&Add=*", "'' is not COMMAND=IDS"),
    ],
)
def test_grammar_errors_name_the_culprit(text: str, message: str) -> None:
    with pytest.raises(AclError, match=message):
        Acl.parse(text)


server_ids = st.text("abcxyz019-_.:", min_size=1, max_size=6)
acls = st.dictionaries(
    st.sampled_from(COMMANDS), st.frozensets(st.one_of(st.just("*"), server_ids), min_size=1)
)


@given(acls)
def test_print_then_parse(grants: dict[str, frozenset[str]]) -> None:
    from mostate.frozenmap import FrozenMap

    acl = Acl(FrozenMap(grants))
    assert Acl.parse(str(acl)) == acl


def test_inheritance_from_the_nearest_ancestor() -> None:
    table = AclTable.from_strings({".": "Get=*", "./MMS": "Get=srv1&Replace=srv1", "./MMS/a": ""})
    assert table.effective("./MMS/a/MMSC") == Acl.parse("Get=srv1&Replace=srv1")
    assert table.effective("./WAP/x") == Acl.parse("Get=*")
    assert table.allows("Get", "./WAP/x", "srv9")
    assert not table.allows("Replace", "./WAP/x", "srv9")
    assert not table.allows("Get", "./MMS/a", "srv9")


def test_add_is_checked_on_the_parent() -> None:
    table = AclTable.from_strings({"./MMS": "Add=srv1&Get=*", "./MMS/a": "Add=srv2"})
    assert table.allows("Add", "./MMS/new", "srv1")
    assert not table.allows("Add", "./MMS/new", "srv2")
    assert table.allows("Add", "./MMS/a/leaf", "srv2")


def test_without_configuration_every_server_may_do_everything() -> None:
    table = AclTable()
    assert all(table.allows(cmd, "./MMS/a", "whoever") for cmd in COMMANDS)
    assert str(table.own(".")) == "Add=*&Delete=*&Exec=*&Get=*&Replace=*"
