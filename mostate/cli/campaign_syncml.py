"""``campaign plan --format syncml``: one SyncML DM 1.2 package per device, the commands a
server sends for that device's plan, as ``mostate dm build`` makes them (:meth:`Server.build`,
then the XML or WBXML writer).

Each package goes to a file named after its device id, escaped so that any id names one file
inside the folder and no other: every character but letters, digits, ``-``, ``_`` and ``.`` is
percent-encoded (``/`` becomes ``%2F``, ``%`` itself ``%25``), as is a leading ``.``, so two ids
never share a file, no id is a hidden file, ``.`` or ``..``, and none leads out of the folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from ..engine import Engine
from ..errors import RequestError
from ..model import Request
from ..omadm import Server, TreeConfig, write_package, write_wbxml
from .common import CliError

MAX_NAME = 240
"""The longest file name written, in bytes (most file systems stop at 255)."""


def file_name(device: str, suffix: str) -> str:
    """The file name of a device's package: its id percent-encoded, then ``suffix``.

    >>> file_name("IMEI:3504", ".xml"), file_name("../x", ".xml"), file_name(".d", ".xml")
    ('IMEI%3A3504.xml', '%2E.%2Fx.xml', '%2Ed.xml')
    """
    name = quote(device, safe="-_.")
    if name.startswith("."):
        name = "%2E" + name[1:]
    name += suffix
    if not device or len(name.encode()) > MAX_NAME:
        raise ValueError(f"device id {device[:40]!r}: too long (or empty) to name a file")
    return name


class PackageWriter:
    """Writes the package of every planned device of ``campaign plan``'s output lines into
    ``folder``; unreachable devices and bad lines get none.

    >>> import tempfile
    >>> from mostate import load_spec
    >>> folder = tempfile.mkdtemp()
    >>> writer = PackageWriter(Engine(load_spec()), TreeConfig(), folder)
    >>> plan = [{"actor": "server", "op": "add", "service": "MMS", "instance": "new"}]
    >>> writer.write(json.dumps({"device": "a/b", "plan": plan}) + "\\n")
    >>> os.listdir(folder), writer.written
    (['a%2Fb.xml'], 1)
    """

    def __init__(
        self,
        engine: Engine,
        tree: TreeConfig,
        folder: str | Path,
        *,
        server_id: str = "mostate",
        wbxml: bool = False,
    ) -> None:
        self.engine, self.tree, self.server_id, self.wbxml = engine, tree, server_id, wbxml
        self.folder = Path(os.path.realpath(folder))
        self.suffix = ".wbxml" if wbxml else ".xml"
        self.written = 0

    def write(self, text: str) -> None:
        """One package for each output line that carries a plan."""
        for line in text.splitlines():
            out = json.loads(line)
            if "plan" in out:
                requests = [Request.from_json(r) for r in out["plan"]]
                self.one(out["device"], requests)

    def one(self, device: str, requests: list[Request]) -> Path:
        """Write the package for ``device``'s plan; the path written."""
        try:
            path = self.folder / file_name(device, self.suffix)
        except ValueError as err:
            raise CliError(str(err)) from None
        if path.parent != self.folder:  # file_name escapes every separator: never taken
            raise CliError(f"device id {device!r} would leave {self.folder}")
        server = Server(self.engine, self.tree, server_id=self.server_id, client=device)
        try:
            package, _ = server.build(requests)
        except RequestError as err:
            raise CliError(f"device {device!r}: {err}") from None
        _write(path, write_wbxml(package) if self.wbxml else write_package(package))
        self.written += 1
        return path

    def close(self) -> None:
        """Put every package written on disk, once for all of them: a sync a package cost
        1.5 ms, more than building it. Until this returns (a crash mid-run), a package may be
        missing or empty; planning again writes them all."""
        os.sync()


def _write(path: Path, data: str | bytes) -> None:
    """The package in place whole: a temporary file (its name starts with a dot, which no
    package's does) renamed, so a reader never sees half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)
