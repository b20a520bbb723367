"""``team``: seatsync on a team's PostgreSQL database (docs/team.md).

``team init`` makes the database roles and grants; ``team migrate`` copies
this computer's database to the team database and switches to it;
``team status`` says which database is open, as which role, and how the
headless runner is doing.
"""

from __future__ import annotations

import argparse
import importlib

#: Modules under app/commands adding ``team`` subcommands (each has ``register(subparsers)``).
PARTS = ("team_roles", "team_move", "team_status")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("team", help="share seatsync with a team on one PostgreSQL database",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="team_command", metavar="TEAM_COMMAND", required=True)
    for part in PARTS:
        importlib.import_module(f"app.commands.{part}").register(commands)
