"""The language server, driven over stdio as an editor drives it: diagnostics for every error,
hover, go to definition, formatting, and the code lens that verifies one operation."""

from __future__ import annotations

import asyncio
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from mostate.fmt import format_text

ROOT = Path(__file__).resolve().parents[2]
CCS = (ROOT / "specs" / "ccs.toml").read_text(encoding="utf-8")
TYPOS = CCS.replace('when = "exists(target)"', 'when = "exists(targt)"', 1).replace(
    'ops = ["add"]', 'ops = ["ad"]', 1
)


class Editor:
    """A client that keeps what the server published and said."""

    def __init__(self) -> None:
        self.client = LanguageClient("test-editor", "1")
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.messages: list[str] = []
        self.published = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnosed(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = params.diagnostics
            self.published.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def told(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "mostate", "lsp")
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    async def open(self, uri: str, text: str) -> list[types.Diagnostic]:
        self.published.clear()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="toml", version=1, text=text
                )
            )
        )
        await asyncio.wait_for(self.published.wait(), 30)
        return self.diagnostics[uri]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def at(text: str, needle: str, offset: int = 0) -> types.Position:
    for number, line in enumerate(text.split("\n")):
        if needle in line:
            return types.Position(line=number, character=line.index(needle) + offset)
    raise AssertionError(needle)


async def session() -> dict[str, Any]:
    """One editor session: what each request answered."""
    editor = Editor()
    await editor.start()
    try:
        bad, good = (ROOT / "typos.toml").as_uri(), (ROOT / "specs" / "ccs.toml").as_uri()
        seen: dict[str, Any] = {"errors": await editor.open(bad, TYPOS)}
        seen["clean"] = await editor.open(good, CCS)
        client = editor.client
        seen["hover_op"] = await client.text_document_hover_async(
            types.HoverParams(text_document=doc(good), position=at(CCS, "[ops.set_locked]", 6))
        )
        seen["hover_builtin"] = await client.text_document_hover_async(
            types.HoverParams(text_document=doc(good), position=at(CCS, "unchanged(i)", 2))
        )
        seen["definition"] = await client.text_document_definition_async(
            types.DefinitionParams(text_document=doc(good), position=at(CCS, 'ops = ["add"]', 9))
        )
        messy = CCS.replace('when = "exists(target)"', 'when  =  "exists( target )"', 1)
        await editor.open((ROOT / "messy.toml").as_uri(), messy)
        seen["formatting"] = await client.text_document_formatting_async(
            types.DocumentFormattingParams(
                text_document=doc((ROOT / "messy.toml").as_uri()),
                options=types.FormattingOptions(tab_size=2, insert_spaces=True),
            )
        )
        seen["lenses"] = await client.text_document_code_lens_async(
            types.CodeLensParams(text_document=doc(good))
        )
        lens = next(x for x in seen["lenses"] if x.command.title == "verify set_locked")
        seen["verified"] = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=lens.command.command, arguments=lens.command.arguments
            )
        )
        seen["messages"] = list(editor.messages)
    finally:
        await editor.stop()
    return seen


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    return asyncio.run(session())


@pytest.mark.slow  # about 3 s here (2 cores): a server process, and a proof through its lens
def test_every_error_is_a_diagnostic_with_its_range_and_suggestion(answers: dict[str, Any]) -> None:
    errors = answers["errors"]
    assert [(d.range.start.line, d.message) for d in errors] == [
        (24, "unknown name 'targt'; did you mean 'target'?"),
        (TYPOS.split("\n").index('ops = ["ad"]'), "unknown operation 'ad'; did you mean 'add'?"),
    ]
    first = errors[0].range
    assert (first.start.character, first.end.character) == (15, 20)  # exactly "targt"
    assert errors[0].data == {"suggestion": "target"}
    assert list(answers["clean"]) == []


@pytest.mark.slow  # shares the session above
def test_hover_definition_formatting_and_the_verify_lens(answers: dict[str, Any]) -> None:
    assert answers["hover_op"].contents.value.startswith("**operation set_locked**")
    assert "Only a DM server may" in answers["hover_op"].contents.value
    assert answers["hover_builtin"].contents.value.startswith("unchanged(x):")
    assert answers["definition"].range.start.line == CCS.split("\n").index("[ops.add]")
    (edit,) = answers["formatting"]
    assert edit.new_text == CCS == format_text(edit.new_text).after
    titles = {lens.command.title for lens in answers["lenses"]}
    assert {"verify add", "verify set_locked", "verify in_use"} <= titles
    verified = answers["verified"]
    assert verified["operation"] == "set_locked" and verified["violated"] == 0
    assert verified["proved"] > 10 and verified["unknown"] == 0
    assert any(m.startswith("verify set_locked: ") for m in answers["messages"])


SCHEMA = json.loads((ROOT / "mostate" / "spec.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((ROOT / "specs").rglob("*.toml")), ids=lambda p: p.name)
def test_the_schema_accepts_every_shipped_spec(path: Path) -> None:
    if path.name == "manifest.toml":
        return
    jsonschema.validate(tomllib.loads(path.read_text(encoding="utf-8")), SCHEMA)


def test_the_schema_names_the_keys_an_editor_completes() -> None:
    spec = tomllib.loads(CCS)
    spec["ops"]["add"]["steps"][0]["whn"] = "true"
    with pytest.raises(jsonschema.ValidationError, match="whn"):
        jsonschema.validate(spec, SCHEMA)
    step = SCHEMA["$defs"]["step"]["properties"]
    assert {"name", "refuse", "when", "actors", "confirm", "effect", "over"} == set(step)
