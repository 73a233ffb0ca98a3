"""The DM tree view: URIs to engine requests, node properties, and each status code they give.

Every test that touches a flag runs in both bindings (``?prop=Active`` and ``Ext/CCS/Active``),
through the ``tree`` fixture; ``tree.flag_uri`` names the flag in the binding under test.
"""

from __future__ import annotations

import pytest

from mostate import DeviceState, Engine, load_spec
from mostate.omadm import (
    Add,
    Delete,
    Device,
    Exec,
    FlagBinding,
    Get,
    Item,
    Meta,
    Replace,
    ServiceRoot,
    TreeConfig,
    UriError,
)
from mostate.omadm.tree import InstanceNode, Interior, ParamNode, ServiceNode, split_uri

NODE = Meta("node")
STATE = DeviceState.from_json(
    {
        "MMS": {
            "a": {"active": True, "params": {"MMSC": "http://a"}},
            "b": {"locked": True},
        }
    }
)


def results(response) -> list[str | None]:
    return [item.data for r in response.results() for item in r.items]


# -- URIs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path"),
    [("./MMS/a", "./MMS/a"), ("MMS/a/", "./MMS/a"), (".", "."), ("./MMS", "./MMS")],
)
def test_uris_are_normalised(uri: str, path: str) -> None:
    assert split_uri(uri)[0] == path


@pytest.mark.parametrize("uri", ["./MMS//a", "./MMS/../x", "", "./a\x00b"])
def test_malformed_uris_are_400(uri: str) -> None:
    with pytest.raises(UriError) as err:
        split_uri(uri)
    assert err.value.code == 400


def test_configured_roots_and_intermediate_nodes() -> None:
    tree = TreeConfig(roots=(ServiceRoot("APN", "./ManagedObjects/ConnMO/APN"),))
    assert tree.resolve("./ManagedObjects").node == Interior("./ManagedObjects", ("ConnMO",))
    assert tree.resolve("./ManagedObjects/ConnMO/APN").node == ServiceNode(
        "./ManagedObjects/ConnMO/APN", "APN"
    )
    assert tree.resolve("./ManagedObjects/ConnMO/APN/1").node == InstanceNode(
        "./ManagedObjects/ConnMO/APN/1", "APN", "1"
    )
    assert tree.resolve("./MMS/a/MMSC").node == ParamNode("./MMS/a/MMSC", "MMS", "a", "MMSC")
    with pytest.raises(UriError) as err:
        tree.resolve("./MMS/a/b/c")
    assert err.value.code == 404


# -- commands mapped to the engine -----------------------------------------------------------


def test_add_instance_with_leaves_is_one_engine_add(run, tree: TreeConfig) -> None:
    add = Add(
        "2",
        (
            Item("./MMS/new", meta=NODE),
            Item("./MMS/new/MMSC", meta=Meta("chr"), data="http://new"),
        ),
    )
    after, codes, _ = run(STATE, add)
    assert codes == [("Add", 200)]
    assert after.instance("MMS", "new") is not None
    assert after.instance("MMS", "new").params["MMSC"] == "http://new"
    # Adding it again is the engine's 418, and its leaves are not applied either.
    again = Add("3", (Item("./MMS/new", meta=NODE), Item("./MMS/new/MMSC", data="x")))
    after2, codes, _ = run(after, again)
    assert codes == [("Add", 418)]
    assert after2 == after


def test_leaf_add_replace_get_delete(run, tree: TreeConfig) -> None:
    state, codes, _ = run(STATE, Add("2", (Item("./MMS/a/proxy", data="p"),)))
    assert codes == [("Add", 200)]
    _, codes, _ = run(state, Add("2", (Item("./MMS/a/proxy", data="q"),)))
    assert codes == [("Add", 418)]
    state, codes, _ = run(state, Replace("2", (Item("./MMS/a/proxy", data="q"),)))
    assert codes == [("Replace", 200)]
    _, codes, response = run(state, Get("2", (Item("./MMS/a/proxy"),)))
    assert codes == [("Get", 200)] and results(response) == ["q"]
    state, codes, _ = run(state, Delete("2", (Item("./MMS/a/proxy"),)))
    assert codes == [("Delete", 200)]
    assert state == STATE
    _, codes, _ = run(state, Delete("2", (Item("./MMS/a/proxy"),)))
    assert codes == [("Delete", 404)]


def test_interior_gets_list_children(run, tree: TreeConfig) -> None:
    _, codes, response = run(
        STATE, Get("2", (Item("."),)), Get("3", (Item("./MMS"),)), Get("4", (Item("./MMS/a"),))
    )
    assert codes == [("Get", 200)] * 3
    ext = ["Ext"] if tree.flags is FlagBinding.LEAVES else []
    assert results(response) == ["MMS", "a/b", "/".join(["MMSC", *ext])]


def test_delete_instance_and_missing_nodes(run, tree: TreeConfig) -> None:
    after, codes, _ = run(
        STATE,
        Delete("2", (Item("./MMS/b"),)),
        Delete("3", (Item("./MMS/ghost"),)),
        Get("4", (Item("./MMS/ghost/MMSC"),)),
        Get("5", (Item("./MMS/a/nothing"),)),
    )
    assert codes == [("Delete", 200), ("Delete", 404), ("Get", 404), ("Get", 404)]
    assert after.instance("MMS", "b") is None


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (Replace("2", (Item("./MMS/a", data="x"),)), 405),  # an instance has no value
        (Exec("2", (Item("./MMS/a/MMSC"),)), 405),  # nothing is executable
        (Add("2", (Item("./MMS"),)), 405),  # a service root is permanent
        (Delete("2", (Item("."),)), 405),
        (Add("2", (Item("./MMS/x", meta=Meta("chr"), data="v"),)), 405),  # a leaf as instance
        (Add("2", (Item("./MMS/a/sub", meta=NODE),)), 405),  # instances hold leaves only
        (Get("2", (Item("./MMS/a/b/c/d"),)), 404),
        (Get("2", (Item("./MMS//a"),)), 400),
        (Get("2", (Item(None),)), 400),  # an item without a target
        (Get("2", (Item("./MMS/a?list=TNDS"),)), 406),
        (Get("2", (Item("./MMS/a?what=ever"),)), 406),
    ],
)
def test_protocol_refusals(run, command, code: int) -> None:
    after, codes, _ = run(STATE, command)
    assert codes == [(command.NAME, code)]
    assert after == STATE


# -- the flags, in both bindings -------------------------------------------------------------


@pytest.mark.parametrize("flag", ["Active", "Default", "Locked"])
def test_get_and_replace_a_flag(run, tree: TreeConfig, flag: str) -> None:
    uri = tree.flag_uri("MMS", "a", flag)
    expected = {"Active": "true", "Default": "false", "Locked": "false"}[flag]
    _, codes, response = run(STATE, Get("2", (Item(uri),)))
    assert codes == [("Get", 200)] and results(response) == [expected]
    flipped = "false" if expected == "true" else "true"
    after, codes, _ = run(STATE, Replace("2", (Item(uri, data=flipped),)))
    assert codes == [("Replace", 200)]
    assert getattr(after.instance("MMS", "a"), flag.lower()) is (flipped == "true")


def test_setting_active_clears_the_other_through_the_engine(run, tree: TreeConfig) -> None:
    after, codes, _ = run(
        STATE, Replace("2", (Item(tree.flag_uri("MMS", "b", "Active"), data="true"),))
    )
    assert codes == [("Replace", 200)]
    assert after.instance("MMS", "b").active
    assert not after.instance("MMS", "a").active


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("Add", 405),  # Add on a property (or on a permanent flag leaf)
        ("Delete", 405),
        ("Exec", 405),
    ],
)
def test_flag_commands_other_than_get_and_replace(
    run, tree: TreeConfig, command: str, code: int
) -> None:
    cls = {"Add": Add, "Delete": Delete, "Exec": Exec}[command]
    after, codes, _ = run(
        STATE, cls("2", (Item(tree.flag_uri("MMS", "a", "Active"), data="true"),))
    )
    assert codes == [(command, code)]
    assert after == STATE


def test_flag_of_a_missing_instance_is_the_engines_404(run, tree: TreeConfig) -> None:
    uri = tree.flag_uri("MMS", "ghost", "Active")
    _, codes, _ = run(STATE, Get("2", (Item(uri),)), Replace("3", (Item(uri, data="true"),)))
    assert codes == [("Get", 404), ("Replace", 404)]


def test_a_flag_value_that_is_not_a_boolean_is_the_engines_400(run, tree: TreeConfig) -> None:
    uri = tree.flag_uri("MMS", "a", "Locked")
    after, codes, _ = run(STATE, Replace("2", (Item(uri, data="yes"),)))
    assert codes == [("Replace", 400)]
    assert after == STATE


def test_unknown_property_is_406(run) -> None:
    _, codes, _ = run(STATE, Get("2", (Item("./MMS/a?prop=Colour"),)))
    assert codes == [("Get", 406)]


def test_ccs_properties_live_on_instances_only() -> None:
    device = Device(Engine(load_spec()))
    _, response = device.process(
        STATE,
        _package(
            Get("2", (Item("./MMS?prop=Active"),)), Get("3", (Item("./MMS/a/MMSC?prop=Active"),))
        ),
    )
    assert [s.code for s in response.statuses()[1:]] == [406, 406]


def test_ccs_properties_are_unknown_in_the_leaf_binding() -> None:
    device = Device(Engine(load_spec()), TreeConfig(flags=FlagBinding.LEAVES))
    _, response = device.process(STATE, _package(Get("2", (Item("./MMS/a?prop=Active"),))))
    assert [s.code for s in response.statuses()[1:]] == [406]


def _package(*commands):
    from mostate.omadm import Package, SyncHdr

    return Package(SyncHdr("1", "1", "device", "srv1"), commands)


# -- standard properties ---------------------------------------------------------------------


def test_standard_properties() -> None:
    tree = TreeConfig(roots=(ServiceRoot("MMS", "./MMS", "urn:oma:mo:oma-mms:1.0"),))
    device = Device(Engine(load_spec()), tree)
    uris = [
        "./MMS/a?prop=Type",
        "./MMS/a?prop=Format",
        "./MMS/a?prop=Name",
        "./MMS/a/MMSC?prop=Format",
        "./MMS/a/MMSC?prop=Size",
        "./MMS/a/MMSC?prop=Type",
        "./MMS?prop=ACL",
        ".?prop=ACL",
    ]
    _, response = device.process(STATE, _package(Get("2", tuple(Item(u) for u in uris))))
    assert [s.code for s in response.statuses()[1:]] == [200] * len(uris)
    assert results(response) == [
        "urn:oma:mo:oma-mms:1.0",
        "node",
        "a",
        "chr",
        "8",
        "text/plain",
        "",  # inherits
        "Add=*&Delete=*&Exec=*&Get=*&Replace=*",
    ]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (Replace("2", (Item("./MMS/a?prop=ACL", data="Get=*"),)), 405),  # ACLs are configuration
        (Add("2", (Item("./MMS/a?prop=Name", data="x"),)), 405),
        (Get("2", (Item("./MMS/ghost?prop=Name"),)), 404),
        (Get("2", (Item("./MMS/a/none?prop=Size"),)), 404),
        (Get("2", (Item("./MMS/a?prop=Size"),)), 406),  # interior nodes have no Size
    ],
)
def test_standard_property_refusals(item, code: int) -> None:
    device = Device(Engine(load_spec()))
    after, response = device.process(STATE, _package(item))
    assert [s.code for s in response.statuses()[1:]] == [code]
    assert after == STATE


def test_list_struct_data_of_an_instance(run, tree: TreeConfig) -> None:
    _, codes, response = run(STATE, Get("2", (Item("./MMS/a?list=StructData"),)))
    assert codes == [("Get", 200)]
    sources = {item.source: item.data for r in response.results() for item in r.items}
    assert sources["./MMS/a/MMSC"] == "http://a"
    if tree.flags is FlagBinding.LEAVES:
        assert sources["./MMS/a/Ext/CCS/Active"] == "true"
