"""Headless commands (argparse). No Qt import on this path."""

from __future__ import annotations

import argparse

from app import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seatsync", description=__doc__)
    parser.add_argument("--version", action="version", version=f"seatsync {__version__}")
    parser.add_subparsers(dest="command")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        from app.ui.app import run_window  # Qt is imported only here

        return run_window()
    return 0
