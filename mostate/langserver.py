"""``mostate lsp``: a language server for spec files, over standard input and output.

Built on pygls, the Python language-server framework the LSP community keeps (with lsprotocol,
the protocol's types generated from its specification): it handles the JSON-RPC framing, the
document store and the life cycle, so this module is only the wiring from requests to
:mod:`mostate.authoring`, :mod:`mostate.fmt` and :class:`mostate.symbolic.Verifier`:

* diagnostics for every error of the file, on open, change and save (a "did you mean" in each);
* hover: an operation's, invariant's, property's, argument's or built-in's documentation;
* go to definition of an operation, invariant, property or argument;
* formatting (the layout of ``mostate fmt``);
* a code lens "verify OP" above each operation, whose command proves that operation's checks
  with Z3 (the ``.[verify]`` extra) and shows the verdicts.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import __version__
from .authoring import Problem, Span, check, definition, hover, operation_headers
from .errors import SpecError
from .fmt import FormatError, format_text

VERIFY_COMMAND = "mostate.verifyOperation"
"""The command of the code lens above each operation: arguments ``[uri, operation]``."""


def _source(uri: str) -> str:
    return to_fs_path(uri) or uri


def _range(span: Span) -> types.Range:
    return types.Range(
        start=types.Position(line=span.line, character=span.start),
        end=types.Position(line=span.line, character=span.end),
    )


def _diagnostic(problem: Problem) -> types.Diagnostic:
    return types.Diagnostic(
        range=_range(problem.span),
        message=problem.message,
        severity=types.DiagnosticSeverity.Error,
        source="mostate",
        data={"suggestion": problem.suggestion} if problem.suggestion else None,
    )


def publish(ls: LanguageServer, uri: str) -> None:
    """Send the diagnostics of the document at ``uri`` (none when it loads)."""
    document = ls.workspace.get_text_document(uri)
    _, found = check(document.source, _source(uri))
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=[_diagnostic(p) for p in found])
    )


def _opened(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


def _changed(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


def _saved(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


def _hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    spec, _ = check(document.source, _source(params.text_document.uri))
    text = hover(document.source, spec, params.position.line, params.position.character)
    if text is None:
        return None
    content = types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)
    return types.Hover(contents=content)


def _definition(ls: LanguageServer, params: types.DefinitionParams) -> types.Location | None:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    span = definition(
        document.source, _source(uri), params.position.line, params.position.character
    )
    return types.Location(uri=uri, range=_range(span)) if span is not None else None


def _formatting(
    ls: LanguageServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit] | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    try:
        done = format_text(document.source, _source(params.text_document.uri))
    except (SpecError, FormatError):
        return None  # the diagnostics say why; nothing is rewritten
    if not done.changed:
        return []
    lines = document.source.split("\n")
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(lines), character=0),
    )
    return [types.TextEdit(range=whole, new_text=done.after)]


def _lenses(ls: LanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    return [
        types.CodeLens(
            range=_range(Span(line, 0, 0)),
            command=types.Command(
                title=f"verify {name}", command=VERIFY_COMMAND, arguments=[uri, name]
            ),
        )
        for name, line in operation_headers(document.source, _source(uri)).items()
    ]


def _verify(ls: LanguageServer, uri: str, name: str) -> dict[str, Any]:
    """Prove one operation's checks; the verdicts go back to the caller and to the user."""
    document = ls.workspace.get_text_document(uri)
    spec, found = check(document.source, _source(uri))
    if spec is None or name not in spec.ops:
        why = "the spec does not load" if found else f"no operation {name!r}"
        return _tell(ls, {"operation": name, "error": why}, f"verify {name}: {why}")
    from .symbolic import Proved, Verifier, Violated  # Z3 only when asked for

    rows = list(Verifier(spec, depth=0).checks_for(name))
    counts = {
        "proved": sum(isinstance(c.verdict, Proved) for c in rows),
        "violated": sum(isinstance(c.verdict, Violated) for c in rows),
    }
    counts["unknown"] = len(rows) - counts["proved"] - counts["violated"]
    broken = sorted({f"{c.name} as {c.branch}" for c in rows if isinstance(c.verdict, Violated)})
    summary = ", ".join(f"{n} {word}" for word, n in counts.items())
    message = f"verify {name}: {summary}" + (f"; VIOLATED: {', '.join(broken)}" if broken else "")
    return _tell(ls, {"operation": name, **counts, "violated_checks": broken}, message)


def _tell(ls: LanguageServer, result: dict[str, Any], message: str) -> dict[str, Any]:
    kind = types.MessageType.Error if result.get("violated") or "error" in result else None
    ls.window_show_message(
        types.ShowMessageParams(type=kind or types.MessageType.Info, message=message)
    )
    return result


def make_server() -> LanguageServer:
    """A language server with every feature above (one per editor session: no state is shared
    between two)."""
    ls = LanguageServer("mostate", __version__)
    features: list[tuple[str, Any]] = [
        (types.TEXT_DOCUMENT_DID_OPEN, _opened),
        (types.TEXT_DOCUMENT_DID_CHANGE, _changed),
        (types.TEXT_DOCUMENT_DID_SAVE, _saved),
        (types.TEXT_DOCUMENT_HOVER, _hover),
        (types.TEXT_DOCUMENT_DEFINITION, _definition),
        (types.TEXT_DOCUMENT_FORMATTING, _formatting),
        (types.TEXT_DOCUMENT_CODE_LENS, _lenses),
    ]
    for method, handler in features:
        ls.feature(method)(handler)
    ls.command(VERIFY_COMMAND)(_verify)
    return ls


def serve() -> None:
    """Answer one editor over standard input and output until it says exit."""
    make_server().start_io()
