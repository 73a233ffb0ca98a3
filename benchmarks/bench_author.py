"""The spec author's loop, timed: `mostate fmt`, the language server's diagnostics, `explain`.

    python benchmarks/bench_author.py [--repeat 7]

Targets (issue 29), for the shipped spec: fmt under 200 ms, the language server's diagnostics
under 200 ms (a change sent by an editor to the diagnostics it gets back, over stdio, measured
in the editor), explain under 100 ms after start-up (the command in process once its modules
are imported: loading the spec, building the engine, explaining, printing). Each row is the
median of --repeat runs (the machine is shared: medians, not best or mean), with its ratio to
a baseline measured in
the same run: loading the spec (parse_spec, what every command pays) for fmt and diagnostics,
and the engine's answer to the same request (Engine.apply) for explain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from rich.console import Console
from rich.table import Table

from mostate import DeviceState, Engine, Request, default_spec_path, parse_spec
from mostate.authoring import check
from mostate.explain import explain
from mostate.fmt import format_text

ROOT = Path(__file__).resolve().parent.parent
TEXT = default_spec_path().read_text(encoding="utf-8")
TYPOS = TEXT.replace('when = "exists(target)"', 'when = "exists(targt)"', 1)
LOCKED = DeviceState.from_json({"MMS": {"a": {"active": True, "locked": True}, "b": {}}})
SWITCH = Request.from_json(
    {"actor": "user", "op": "set_active", "service": "MMS", "instance": "b", "value": True}
)
SERVER_SWITCH = Request.from_json({**SWITCH.to_json(), "actor": "server"})


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


async def diagnostics_ms(repeat: int) -> tuple[float, float]:
    """Median milliseconds from a didChange to its publishDiagnostics, through `mostate lsp`
    over stdio: for the shipped spec (no error) and for one with a typo (one error)."""
    client = LanguageClient("bench", "1")
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        arrived.set()

    await client.start_io(sys.executable, "-m", "mostate", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = (ROOT / "specs" / "ccs.toml").as_uri()
    arrived.clear()
    item = types.TextDocumentItem(uri=uri, language_id="toml", version=0, text=TEXT)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    await arrived.wait()
    medians = []
    version = 0
    for text in (TEXT, TYPOS):
        times = []
        for _ in range(repeat):
            version += 1
            arrived.clear()
            started = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            await asyncio.wait_for(arrived.wait(), 30)
            times.append(time.perf_counter() - started)
        medians.append(1000 * statistics.median(times))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return medians[0], medians[1]


def explain_command_ms(repeat: int) -> float:
    """Median milliseconds of `mostate explain REQUEST` after start-up (the command's parser
    built and its modules imported once, as when the process has started): the spec loaded,
    the engine built, the request explained and printed."""
    from mostate.cli import build_parser, main

    build_parser()
    request = (
        '{"actor": "user", "op": "set_active", "service": "MMS", "instance": "b", "value": true}'
    )

    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            main(["explain", request])

    run()
    return median_ms(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per row (median)")
    args = parser.parse_args()
    repeat = args.repeat
    engine = Engine(parse_spec(TEXT, "ccs.toml"))
    explain(engine, LOCKED, SWITCH)  # compile the operation once, as a running CLI has

    load = median_ms(lambda: parse_spec(TEXT, "ccs.toml"), repeat)
    fmt = median_ms(lambda: format_text(TEXT, "ccs.toml"), repeat)
    checked = median_ms(lambda: check(TYPOS, "ccs.toml"), repeat)
    clean, typo = asyncio.run(diagnostics_ms(repeat))
    apply = median_ms(lambda: engine.apply(LOCKED, SWITCH), repeat * 100)
    explained = median_ms(lambda: explain(engine, LOCKED, SWITCH), repeat * 10)
    switched = median_ms(lambda: explain(engine, LOCKED, SERVER_SWITCH), repeat * 10)
    command = explain_command_ms(repeat)

    table = Table(title=f"The author's loop on the shipped spec (median of {repeat})")
    for column in ("what", "ms", "baseline", "baseline ms", "ratio", "target"):
        table.add_column(column, justify="right" if column != "what" else "left")
    rows = [
        ("mostate fmt (format_text)", fmt, "parse_spec", load, "< 200 ms"),
        ("diagnostics, in process (check)", checked, "parse_spec", load, ""),
        ("diagnostics via mostate lsp, no error", clean, "parse_spec", load, "< 200 ms"),
        ("diagnostics via mostate lsp, a typo", typo, "parse_spec", load, "< 200 ms"),
        ("explain (a refusal), in process", explained, "Engine.apply", apply, "< 100 ms"),
        ("explain (an effect), in process", switched, "Engine.apply", apply, "< 100 ms"),
        ("mostate explain after start-up", command, "parse_spec", load, "< 100 ms"),
    ]
    for what, ms, base, base_ms, target in rows:
        table.add_row(what, f"{ms:.1f}", base, f"{base_ms:.3f}", f"{ms / base_ms:.1f}x", target)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
