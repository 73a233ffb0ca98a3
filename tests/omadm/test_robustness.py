"""Random packages, valid and broken: the device never raises, and when it refuses the whole
package the state is unchanged. Valid packages round-trip through the codec."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from mostate import DeviceState, Engine
from mostate.omadm import (
    Add,
    Alert,
    Atomic,
    Copy,
    Delete,
    Device,
    Exec,
    FlagBinding,
    Get,
    Item,
    Meta,
    Package,
    Replace,
    Sequence,
    SyncHdr,
    TreeConfig,
    answering,
    parse_package,
    write_package,
)
from mostate.omadm.device import Answer
from mostate.omadm.messages import Command

START = DeviceState.from_json(
    {"MMS": {"a": {"active": True, "locked": True, "params": {"MMSC": "x"}}, "b": {}}}
)
URIS = [
    ".",
    "./MMS",
    "./MMS/a",
    "./MMS/b",
    "./MMS/c",
    "./MMS/a/MMSC",
    "./MMS/a?prop=Active",
    "./MMS/b?prop=Locked",
    "./MMS/a/Ext/CCS/Default",
    "./MMS/a?prop=ACL",
    "./MMS?list=StructData",
    "./WAP/x/y/z",
    "./MMS//bad",
]
words = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip())
data = st.one_of(
    st.none(),
    st.sampled_from(["true", "false", "", "x"]),
    st.text(max_size=10).map(lambda s: "".join(c for c in s if c >= " " or c in "\t\n\r")),
)
uris = st.one_of(st.sampled_from(URIS), words)
metas = st.one_of(st.none(), st.builds(Meta, st.sampled_from([None, "node", "chr", "bool"])))
items = st.builds(Item, target=st.one_of(st.none(), uris), meta=metas, data=data)
ids = st.integers(1, 99).map(str)
item_commands = st.one_of(
    *(
        st.builds(
            cls,
            ids,
            st.lists(items, min_size=1, max_size=3).map(tuple),
            no_resp=st.booleans(),
        )
        for cls in (Add, Replace, Delete, Get, Exec, Copy)
    )
)
alerts = st.builds(
    Alert,
    ids,
    st.sampled_from(["1100", "1101", "1102", "12x"]),
    st.lists(st.builds(Item, data=data), max_size=2).map(tuple),
)
commands: st.SearchStrategy[Command] = st.recursive(
    st.one_of(item_commands, alerts),
    lambda inner: st.one_of(
        st.builds(Atomic, ids, st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(Sequence, ids, st.lists(inner, min_size=1, max_size=3).map(tuple)),
    ),
    max_leaves=6,
)


def numbered(package: Package) -> Package:
    """The package with CmdIDs 1, 2, 3... in document order: unique, as a message needs."""
    counter = iter(range(1, 10_000))

    def renumber(command: Command) -> Command:
        cmd_id = str(next(counter))
        if isinstance(command, Atomic | Sequence):
            inner = tuple(renumber(c) for c in command.commands)
            return attrs.evolve(command, cmd_id=cmd_id, commands=inner)
        return attrs.evolve(command, cmd_id=cmd_id)

    body = tuple(renumber(c) for c in package.commands())
    return attrs.evolve(package, body=body)


packages = st.builds(
    Package,
    st.builds(SyncHdr, ids, ids, words, words),
    st.lists(commands, max_size=5).map(tuple),
).map(numbered)


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    """A valid package's bytes, cut, spliced or sprinkled with markup characters."""
    text = write_package(draw(packages)).encode()
    at = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["cut", "insert", "delete"]))
    if how == "cut":
        return text[:at]
    if how == "insert":
        junk = draw(st.sampled_from([b"<", b"&", b"]]>", b"<!DOCTYPE x>", b"\x00", b"\xff"]))
        return text[:at] + junk + text[at:]
    return text[:at] + text[at + draw(st.integers(1, 40)) :]


@given(packages)
def test_valid_packages_round_trip(package: Package) -> None:
    assert parse_package(write_package(package)) == package


@given(
    st.one_of(packages.map(write_package), broken(), st.binary(max_size=200)),
    st.sampled_from(list(FlagBinding)),
    st.sampled_from(list(Answer)),
)
def test_the_device_never_raises(
    payload: str | bytes, binding: FlagBinding, answer: Answer
) -> None:
    device = Device(ENGINE, TreeConfig(flags=binding))
    after, response = device.process(START, payload, ui=answering(then=answer))
    header = response.statuses()[0]
    assert header.cmd == "SyncHdr"
    if header.code != 200:
        assert header.code == 400 and after == START
        assert response.statuses() == (header,)
    parse_package(write_package(response))  # the answer itself is always well formed


def _engine() -> Engine:
    from mostate import load_spec

    return Engine(load_spec())


ENGINE = _engine()
