"""The public names of mostate.omadm are pinned: adding or dropping one is a decision."""

from __future__ import annotations

import mostate.omadm as omadm


def test_all_is_pinned() -> None:
    assert omadm.__all__ == [
        "Acl",
        "AclError",
        "AclTable",
        "Add",
        "Alert",
        "Answer",
        "Atomic",
        "Code",
        "Copy",
        "Delete",
        "Device",
        "Exec",
        "FlagBinding",
        "Get",
        "Item",
        "Meta",
        "Package",
        "PackageError",
        "Prompt",
        "Replace",
        "Report",
        "Results",
        "Sent",
        "Sequence",
        "Server",
        "ServiceRoot",
        "Status",
        "SyncHdr",
        "TreeConfig",
        "Ui",
        "UriError",
        "answering",
        "parse_package",
        "process",
        "write_package",
        "write_wbxml",
    ]


def test_every_exported_name_exists_and_is_documented() -> None:
    for name in omadm.__all__:
        value = getattr(omadm, name)
        assert value.__doc__, name


def test_the_engine_layer_never_imports_the_binding() -> None:
    import ast
    from pathlib import Path

    import mostate

    root = Path(mostate.__file__).parent
    for module in ("engine.py", "model.py", "rules.py", "concrete.py", "trace.py"):
        tree = ast.parse((root / module).read_text(encoding="utf-8"))
        imported = {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not any("omadm" in name for name in imported), module
