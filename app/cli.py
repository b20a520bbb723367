"""Headless commands (argparse). No Qt import on this path.

Each command lives in its own module under ``app/commands/`` with
``register(subparsers)`` adding its parser and setting ``func`` (called with
the parsed arguments, returning the exit code). Descriptions come from the
modules' docstrings; --help shows them without their reST markup. A command
line that starts with a command's name is parsed by that command's parser
alone, which parses it the same way without importing the other commands.

Exit codes: 0 success, 1 a failure the message explains, 2 bad arguments,
3 a database written by a newer seatsync. An error is printed once, on
stderr, after one "seatsync: ".
"""

from __future__ import annotations

import argparse
import importlib
import sys

from app import __version__
from app.commands.common import BadArguments, error_line
from app.commands.render import plain_help
from app.errors import SeatsyncError

#: Modules under app/commands, in the order --help lists them.
COMMANDS = ("plan", "sync", "approvals", "migrate", "rules", "ignored", "settings", "tenants", "connections", "team",
            "run-scheduler", "demo", "self-check")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DATABASE_TOO_NEW = 0, 1, 2, 3


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` (one of ``COMMANDS``) alone."""
    parser = argparse.ArgumentParser(
        prog="seatsync",
        description="Keeps MSP customers' PSA agreements in step with their Microsoft 365 licenses. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"seatsync {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if command is None else (command,):
        importlib.import_module(f"app.commands.{name.replace('-', '_')}").register(subparsers)
    plain_parser_help(parser)
    return parser


def subparsers_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name (aliases left out)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if sub not in found.values():
                    found[name] = sub
    return found


def plain_parser_help(parser: argparse.ArgumentParser) -> None:
    """Strip reST markup from ``parser``'s and its subcommands' descriptions and help texts."""
    if parser.description:
        parser.description = plain_help(parser.description)
    if parser.epilog:
        parser.epilog = plain_help(parser.epilog)
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            action.help = plain_help(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.help:
                    choice.help = plain_help(choice.help)
    for sub in subparsers_of(parser).values():
        plain_parser_help(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # What follows a command's name only its parser reads: the others serve --help and an unknown command.
    args = build_parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
    if args.command is None:
        from app.bootstrap import open_context
        from app.ui.app import run_window  # Qt is imported only here

        return run_window(open_services=open_context)
    try:
        return int(args.func(args) or EXIT_OK)
    except SeatsyncError as error:
        from app.models import DatabaseTooNew

        print(error_line(error), file=sys.stderr)
        if isinstance(error, DatabaseTooNew):
            return EXIT_DATABASE_TOO_NEW
        return EXIT_USAGE if isinstance(error, BadArguments) else EXIT_ERROR
