"""A campaign's inventory as lines, read as they are used: a JSON-lines file, standard input, or
a Parquet file's rows (``device``, ``state``) made into lines. ``campaign plan`` and ``campaign
create`` read it alike."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TextIO

from .common import CliError


def needs_campaign(package: str) -> str:
    """``needs dask: pip install 'mostate[campaign]'``."""
    return f"needs {package}: pip install 'mostate[campaign]'"


def inventory_lines(path: str) -> Iterator[str]:
    """The inventory's lines, read as they are used; a .parquet file's rows made into lines."""
    if path.endswith(".parquet"):
        return _parquet_lines(path)
    if path == "-":
        return iter(sys.stdin)
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the generator
    except OSError as err:
        raise CliError(f"cannot read inventory {path}: {err.strerror or err}") from None
    return _closing(handle)


def _closing(handle: TextIO) -> Iterator[str]:
    with handle:
        try:
            yield from handle
        except UnicodeDecodeError as err:
            raise CliError(f"{handle.name}: not UTF-8 text: {err}") from None


def _parquet_lines(path: str) -> Iterator[str]:
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise CliError(f"a .parquet inventory {needs_campaign('pyarrow')}") from None
    try:
        source = pq.ParquetFile(path)
        batches = source.iter_batches(columns=["device", "state"])
    except (OSError, KeyError, ValueError) as err:
        raise CliError(f"cannot read inventory {path}: {err}") from None
    for batch in batches:
        for device, state in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            yield f'{{"device": {json.dumps(device)}, "state": {state or "null"}}}\n'
