"""The option groups commands share, each declared once as an argparse parent parser.

A command lists the groups it takes (``parents=[options.SPEC(), options.FORMAT()]``) instead of
adding copies of their options: ``--spec`` means one thing, with one help text, in every
command that takes it, and a change to it is made here. The values the groups' options take
(:func:`positive`, :func:`seconds`) are checked here too, so every command refuses a bad one
with the same words.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

from .dm_options import tree_options

Group = Callable[[], argparse.ArgumentParser]


def positive(text: str) -> int:
    """A whole number of at least 1 (an argparse type).

    >>> positive("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def seconds(text: str) -> float:
    """A positive number of seconds (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return value


def _group(build: Callable[[argparse.ArgumentParser], None]) -> Group:
    """A parent parser made once, the first time a command asks for it."""

    @functools.cache
    def parent() -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(add_help=False)
        build(parser)
        return parser

    parent.__doc__ = build.__doc__
    return parent


def _spec(parser: argparse.ArgumentParser) -> None:
    """``--spec SPEC``."""
    parser.add_argument("--spec", metavar="SPEC", help="spec file (default: the shipped ccs.toml)")


def _spec_argument(parser: argparse.ArgumentParser) -> None:
    """``SPEC`` or ``--spec SPEC``, for commands that take no other positional argument."""
    parser.add_argument(
        "spec_file", metavar="SPEC", nargs="?", help="spec file (default: the shipped ccs.toml)"
    )
    _spec(parser)


def _format(parser: argparse.ArgumentParser) -> None:
    """``--format text|json``."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people, json for machines",
    )


def _timeout(parser: argparse.ArgumentParser) -> None:
    """``--timeout S``: seconds per solver check."""
    parser.add_argument(
        "--timeout", type=seconds, default=10.0, metavar="S", help="seconds per solver check"
    )


def _rlimit(parser: argparse.ArgumentParser) -> None:
    """``--rlimit N``: Z3's resource limit per check (for commands that run Z3, which import
    it anyway)."""
    from ..symbolic import Budget

    parser.add_argument(
        "--rlimit", type=positive, default=Budget().rlimit, help="Z3 resource limit per check"
    )


DEFAULT_TIME_LIMIT = 300.0
"""Seconds a whole run of ``verify``, ``diff`` or ``mutate`` may take unless told otherwise."""


def _time_limit(parser: argparse.ArgumentParser) -> None:
    """``--time-limit S``: the deadline of a whole run (``verify``, ``diff``, ``mutate``),
    counted from the command's start (:mod:`mostate.cli.limits`)."""
    parser.add_argument(
        "--time-limit",
        type=seconds,
        default=DEFAULT_TIME_LIMIT,
        metavar="S",
        help=f"seconds for the whole run, every phase included (default {DEFAULT_TIME_LIMIT:g});"
        " what is not decided by then is reported UNKNOWN with the reason",
    )


def _connection(parser: argparse.ArgumentParser) -> None:
    """How a simulated device talks to a DM server: WBXML or XML, and the CAs it trusts."""
    parser.add_argument("--wbxml", action="store_true", help="speak WBXML instead of XML")
    parser.add_argument("--ca-file", metavar="PEM", help="trust only these CAs for https")


def _account(parser: argparse.ArgumentParser, *, device: bool) -> None:
    """How a side learns the account and its secrets: files or environment variables, never
    the command line (where ``ps`` shows them)."""
    whose = "this device's" if device else "the devices'"
    parser.add_argument("--server-id", default="mostate", help="the server's id (header Source)")
    kinds = ["basic", "md5", "hmac"]
    parser.add_argument(
        "--client-auth", choices=kinds, default="md5", help="how devices prove themselves"
    )
    parser.add_argument(
        "--server-auth", choices=kinds, default="md5", help="how the server proves itself"
    )
    parser.add_argument("--client-name", help=f"{whose} user name (default: the device id)")
    if device:  # a server shares one client secret only by --fleet-secret-file
        parser.add_argument(
            "--client-secret-file",
            metavar="FILE",
            help=f"{whose} secret, read from FILE (default: $MOSTATE_CLIENT_SECRET)",
        )
    parser.add_argument("--server-name", help="the server's user name (default: the server id)")
    parser.add_argument(
        "--server-secret-file",
        metavar="FILE",
        help="the server's secret, read from FILE (default: $MOSTATE_SERVER_SECRET)",
    )
    parser.add_argument(
        "--insecure-demo",
        action="store_true",
        help="use the well-known demo account (mostate/mostate): for tutorials, never for devices",
    )


def _device_account(parser: argparse.ArgumentParser) -> None:
    """A device's account: its secrets (``--client-secret-file``, ``--server-secret-file``)."""
    _account(parser, device=True)


def _server_account(parser: argparse.ArgumentParser) -> None:
    """A server's account for its devices: no client secret (``--fleet-secret-file`` shares
    one, explicitly)."""
    _account(parser, device=False)


SPEC = _group(_spec)
SPEC_ARGUMENT = _group(_spec_argument)
FORMAT = _group(_format)
TIMEOUT = _group(_timeout)
RLIMIT = _group(_rlimit)
TIME_LIMIT = _group(_time_limit)
TREE = _group(tree_options)
CONNECTION = _group(_connection)
DEVICE_ACCOUNT = _group(_device_account)
SERVER_ACCOUNT = _group(_server_account)
