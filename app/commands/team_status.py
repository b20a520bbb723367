"""``team status``: which database seatsync opens here, and how the team's runner is doing.

Prints the database (this computer's file, or the team database's server
and name, never a password), its schema version, and one line per
headless runner that reported into it: its last sync and how it went, its
next, or that it has not been heard from (a stopped service).
"""

from __future__ import annotations

import argparse

from app.commands.common import app_context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help="which database is open, and how the runner is doing",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models import current_version, db
    from app.services.team.health import runner_line

    with app_context() as context, context.uow:
        where = context.location.describe() if context.location else "a database opened by the caller"
        print(f"database: {where}, schema version {current_version(db.obj)}")
        runners = context.uow.runners.all()
        print(runner_line(runners, context.now()).replace(" · ", "\n") if runners else
              "runner: none has reported into this database (docs/team.md says how to run one)")
    return 0
