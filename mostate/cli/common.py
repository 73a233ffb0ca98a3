"""What every subcommand shares: exit codes, loading specs and states, and the console."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from rich.console import Console

from .. import strictjson
from ..engine import Engine
from ..errors import RequestError, SpecError
from ..model import DeviceState
from ..rules import Spec
from ..spec import load_spec, parse_spec, specs_dir
from ..trace import TraceLine, read_lines

if TYPE_CHECKING:  # the campaign layer (and explore's extras) only when a campaign is planned
    from ..campaign.planner import Campaign

EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT: stopped by Ctrl-C (what was found so far is printed where a command can)."""


class CliError(Exception):
    """A usage problem the CLI reports in one line on stderr (exit 2 unless ``code`` says)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SpecFailure(CliError):
    """A spec that does not load: every error the loader found (exit 2; ``main`` shows each with
    its line and a caret, or as JSON under ``--format json``)."""

    def __init__(self, error: SpecError) -> None:
        super().__init__(str(error))
        self.error = error


def chosen_spec(args: argparse.Namespace) -> str | None:
    """The spec a command given :data:`.options.SPEC_ARGUMENT` was asked for (None: the shipped
    one)."""
    if args.spec_file and args.spec:
        raise CliError("give the spec once (SPEC or --spec)")
    path: str | None = args.spec_file or args.spec
    return path


def spec_from(path: str | None) -> Spec:
    """Load a spec (a file, or ``mutant:NAME`` for a shipped mutant); a spec error becomes
    ``file:line:col: message`` and exit 2."""
    try:
        if path == STDIN:
            return parse_spec(read_text(STDIN, "spec"), "<stdin>")
        return load_spec(shipped(path, "mutant", "mutants", ".toml"))
    except SpecError as err:
        raise SpecFailure(err) from None


def shipped(path: str | None, prefix: str, folder: str, suffix: str) -> str | None:
    """``PREFIX:NAME`` names a file shipped in ``specs/FOLDER`` (found from any folder, installed
    or in a checkout); anything else is a path as given.

    >>> shipped("mutant:user-can-lock", "mutant", "mutants", ".toml").endswith("user-can-lock.toml")
    True
    """
    if path is None or not path.startswith(f"{prefix}:"):
        return path
    name = path.split(":", 1)[1]
    where = specs_dir() / folder
    found = where / f"{name}{suffix}"
    if not found.is_file() or "/" in name:
        known = sorted(p.name.removesuffix(suffix) for p in where.glob(f"*{suffix}"))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {prefix}:{close[0]}?" if close else f" (one of: {', '.join(known)})"
        raise CliError(f"no shipped {prefix} {name!r}{hint}")
    return str(found)


def engine_from(path: str | None) -> Engine:
    return Engine(spec_from(path))


def read_json_file(path: str, what: str) -> Any:
    text = read_text(path, what)
    try:
        return strictjson.load(text)
    except RequestError as err:
        raise CliError(f"{path}: the {what} file: {err}") from None


def state_from(path: str | None, engine: Engine) -> DeviceState:
    """The state file at ``path`` (the empty device if None), checked against the spec's
    invariants: a state no device can be in is exit 2, never a run from somewhere else."""
    if path is None:
        return DeviceState()
    try:
        return engine.validate(DeviceState.from_json(read_json_file(path, "state")))
    except RequestError as err:
        raise CliError(f"{path}: {err}") from None


def trace_from(
    path: str, engine: Engine, what: str = "trace"
) -> tuple[DeviceState | None, list[TraceLine]]:
    """A trace file's start state (checked like a state file) and lines; a start that does not
    read, or that breaks an invariant, is exit 2 with the file and line."""
    try:
        start, lines = read_lines(read_text_lines(path, what))
        return (engine.validate(start) if start is not None else None), lines
    except RequestError as err:
        raise CliError(f"{path}: {err}") from None


MAX_INPUT = 64 * 2**20
"""The largest trace, state or package file read (bytes): /dev/zero is refused, not read until
memory runs out."""


STDIN = "-"
"""The name that stands for standard input wherever a command reads a file."""

_stdin_read: list[str] = []
"""What standard input was read as in this command (it can be read once)."""


def forget_stdin() -> None:
    """A new command starts: standard input is unread (for callers of ``main`` in a loop)."""
    _stdin_read.clear()


def read_bytes(path: str, what: str) -> bytes:
    """A file of at most MAX_INPUT bytes (``-``: standard input, once), or exit 2 saying why."""
    try:
        if path == STDIN:
            data = _read_stdin(what)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT + 1)
    except OSError as err:
        raise CliError(f"cannot read {what} {path}: {err.strerror or err}") from None
    if len(data) > MAX_INPUT:
        raise CliError(f"{path}: the {what} is larger than {MAX_INPUT // 2**20} MiB")
    return data


def _read_stdin(what: str) -> bytes:
    if _stdin_read:
        raise CliError(f"the {what} and the {_stdin_read[0]} cannot both be '-' (standard input)")
    _stdin_read.append(what)
    return sys.stdin.buffer.read(MAX_INPUT + 1)


def read_text(path: str, what: str) -> str:
    """A UTF-8 file of at most MAX_INPUT bytes (a BOM some editors write is skipped), or exit 2
    saying why."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CliError(f"cannot read {what} {path}: {err}") from None


def read_text_lines(path: str, what: str) -> list[str]:
    """The lines of a file read one by one (a BOM skipped): a line that is not UTF-8 keeps its
    bytes as lone surrogates, for the reader to answer as malformed rather than refuse the
    whole file (:func:`mostate.trace.read_lines` does)."""
    data = read_bytes(path, what).removeprefix(b"\xef\xbb\xbf")
    return data.decode("utf-8", errors="surrogateescape").splitlines()


def check_writable(path: str, option: str, *, directory: bool = False) -> None:
    """Exit 2 now, before any work, if ``path`` cannot be written at the end of a long run: no
    folder to hold it, a folder where a file goes, or a file where a folder goes."""
    target = Path(path)
    parent = target.parent
    if not parent.is_dir():
        raise CliError(f"{option} {path}: there is no folder {parent}")
    if directory and target.exists() and not target.is_dir():
        raise CliError(f"{option} {path}: exists and is not a folder")
    if not directory and target.is_dir():
        raise CliError(f"{option} {path}: is a folder, not a file")
    if not os.access(target if directory and target.is_dir() else parent, os.W_OK):
        raise CliError(f"{option} {path}: cannot write there")


def console(stderr: bool = False) -> Console:
    """A rich console; plain (no colour codes) when not attached to a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    # Styles only on a terminal: output piped to a file or another program stays plain text,
    # whatever the environment says about colours.
    tty = stream.isatty()
    # Piped, a table is as wide as its content needs (up to PIPED_WIDTH): a script or a log
    # reads whole property names, not rich's 80-column guess cut with an ellipsis.
    width = None if tty else PIPED_WIDTH
    return _Console(stderr=stderr, highlight=False, soft_wrap=True, force_terminal=tty, width=width)


class _Console(Console):
    """A console that lets a closed pipe be a closed pipe: rich's own answer is
    ``SystemExit(1)``, the exit code of a violated property, which would make ``mostate verify |
    head -1`` report a violation; :func:`mostate.cli.main` turns the error into exit 141."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(32, "Broken pipe")


PIPED_WIDTH = 240
"""The widest a table printed to a pipe or a file may be."""


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def spec_digest(path: str | None) -> str:
    """The SHA-256 of the spec file's bytes (the shipped spec when None): what a campaign
    records of the spec it was planned with, and a server checks before it serves it."""
    import hashlib

    from ..spec import default_spec_path

    file = shipped(path, "mutant", "mutants", ".toml")
    where = Path(file) if file is not None else default_spec_path()
    try:
        return hashlib.sha256(where.read_bytes()).hexdigest()
    except OSError as err:
        raise CliError(f"cannot read the spec {where}: {err.strerror or err}") from None


def with_proof(campaign: Campaign, spec: Spec) -> Campaign:
    """``campaign`` with what the spec proves of its goal's conjuncts, which guides its plans'
    search (the same plans, sooner); as it is without Z3 (``mostate[verify]``)."""
    try:
        from ..symbolic.progress import prove_goal
    except ImportError:  # Z3 is an extra: plan without the proof (the plain search)
        return campaign
    return attrs.evolve(campaign, progress=prove_goal(spec, campaign.goal))
