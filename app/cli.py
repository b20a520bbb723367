"""Headless commands (argparse). No Qt import on this path.

Each command lives in its own module under ``app/commands/`` with
``register(subparsers)`` adding its parser and setting ``func`` (called with
the parsed arguments, returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from app import __version__
from app.errors import SeatsyncError

#: Modules under app/commands, in the order --help lists them.
COMMANDS = ("plan", "sync", "approvals", "tenants", "run-scheduler", "demo", "self-check")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DATABASE_TOO_NEW = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seatsync",
        description="Keeps MSP customers' PSA agreements in step with their Microsoft 365 licenses. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"seatsync {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"app.commands.{name.replace('-', '_')}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        from app.ui.app import run_window  # Qt is imported only here

        return run_window()
    from app.models import DatabaseTooNew

    try:
        return int(args.func(args) or EXIT_OK)
    except DatabaseTooNew as error:
        print(f"seatsync: {error}", file=sys.stderr)
        return EXIT_DATABASE_TOO_NEW
    except SeatsyncError as error:
        print(f"seatsync: {error}", file=sys.stderr)
        return EXIT_ERROR
