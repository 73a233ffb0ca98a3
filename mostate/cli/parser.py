"""The argument parser every ``mostate`` command and subcommand is built with.

It answers a mistyped subcommand or option with the closest known one, at every level
(``mostate verfy``, ``mostate dm proces``, ``mostate verify --strcit``), whatever the way a
command declares its options (directly or through parent parsers): the suggestion is taken from
the parser's own actions when argparse reports the error. ``add_subparsers`` makes its
subparsers of the same class, so building the top-level parser with it is enough.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import NoReturn

from ..suggest import closest, did_you_mean

_INVALID_CHOICE = re.compile(r"invalid choice: '?([^'\s]+)'?")
_UNRECOGNIZED = "unrecognized arguments: "


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors say "did you mean"."""

    _seen: tuple[str, ...] = ()

    def parse_known_args(  # type: ignore[override]  # same signature, typed loosely upstream
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Kept for error(): "--goal is required" after "--gaol x" deserves a suggestion too.
        self._seen = tuple(args or ())
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Exit 2 with the usage and ``message``, plus the closest known word to a wrong one.

        >>> p = Parser(prog="p", exit_on_error=False)
        >>> _ = p.add_argument("--strict", action="store_true")
        >>> p.suggestion("unrecognized arguments: --strcit")
        "; did you mean '--strict'?"
        """
        super().error(message + self.suggestion(message))

    def suggestion(self, message: str) -> str:
        """The "did you mean" that ``message`` (an argparse error) deserves, or ""."""
        invalid = _INVALID_CHOICE.search(message)
        if invalid is not None:
            return did_you_mean(closest(invalid.group(1), self._choices()))
        words = self._seen
        if message.startswith(_UNRECOGNIZED):
            words = tuple(message[len(_UNRECOGNIZED) :].split())
        known = self._option_strings()
        for word in words:
            option = word.split("=", 1)[0]
            if option.startswith("-") and option not in known:
                near = closest(option, known)
                if near is not None:
                    return did_you_mean(near)
        return ""

    def _choices(self) -> list[str]:
        return [
            str(choice)
            for action in self._actions
            if action.choices is not None
            for choice in action.choices
        ]

    def _option_strings(self) -> list[str]:
        return [option for action in self._actions for option in action.option_strings]
