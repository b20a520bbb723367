"""``demo``: try seatsync without credentials, on its built-in example."""

from __future__ import annotations

import argparse

from app.commands import plan as plan_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="try seatsync on its built-in example, without credentials",
                                   description=__doc__)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return plan_command.run(argparse.Namespace(example=True, today=None, json=False))
