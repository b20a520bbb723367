"""``team init``, ``team add-user``, ``team role``: the team database's roles (docs/team.md).

PostgreSQL itself refuses what a person's role may not do, whichever
program asks: a viewer reads; a technician also syncs; billing also maps
licenses, edits profiles, exclusions and settings, and approves or rejects
held changes; an owner may do everything, the connections too.

Each command works on the team database seatsync is set to (Settings, or
SEATSYNC_DATABASE_URL) unless ``--database postgresql://user@host/db``
names another. The password is the keyring's for the configured database,
else where PostgreSQL's own tools look (PGPASSWORD, ~/.pgpass).
"""

from __future__ import annotations

import argparse
import getpass
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.commands.common import BadArguments

if TYPE_CHECKING:
    from peewee import Database

    from app.services.team.location import DatabaseLocation

ROLES = ("owner", "billing", "technician", "viewer")


def register(subparsers: argparse._SubParsersAction) -> None:
    init = _command(subparsers, "init", "make the roles and grants on the team database (as its owner)", run_init)
    add = _command(subparsers, "add-user", "make a login user with a role (or change a user's role)", run_add_user)
    add.add_argument("name", metavar="NAME", help="the database user's name")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    secret.add_argument("--no-password", action="store_true",
                        help="set no password (an existing user keeps theirs)")
    role = _command(subparsers, "role", "which role seatsync is connected with, and what it may do", run_role)
    for parser in (init, add, role):
        parser.add_argument("--database", metavar="URL",
                            help="the team database (default: the one seatsync is set to)")


def _command(subparsers: argparse._SubParsersAction, name: str, summary: str,
             run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A ``team`` subcommand; its description is ``run``'s docstring."""
    parser = subparsers.add_parser(name, help=summary, description=inspect.cleandoc(run.__doc__ or ""),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)
    return parser


def _location(args: argparse.Namespace) -> tuple[DatabaseLocation, DatabaseLocation]:
    """(the database to work on, the one seatsync is set to)."""
    from app import paths
    from app.services.team.location import DatabaseLocation, locate

    configured = locate(paths.data_dir())
    location = DatabaseLocation(args.database) if args.database else configured
    if args.database and not location.is_team:
        raise BadArguments(f"--database takes a postgresql:// address, not {args.database[:100]!r}")
    return location, configured


@contextmanager
def _team_database(args: argparse.Namespace) -> Iterator[tuple[Database, str]]:
    """The team database (opened, migrated, bound) and its description; closed after."""
    from app.models import close_database, db, open_database
    from app.services.secrets import SecretStore
    from app.services.team.location import password
    from app.services.team.roles import NotATeamDatabase

    location, configured = _location(args)
    if not location.is_team:
        raise NotATeamDatabase(f"seatsync is set to {location.describe()}")
    secret = password(SecretStore(), location) if location == configured else None
    open_database(location.target, password=secret)
    try:
        yield db.obj, location.describe()
    finally:
        close_database()


def run_init(args: argparse.Namespace) -> int:
    """Make seatsync's four roles on the team database (seatsync_owner, seatsync_billing,
    seatsync_technician, seatsync_viewer) and grant each table to them; the database is
    brought up to date first. Run it as the user that owns the database (it needs CREATEROLE),
    and again after each seatsync upgrade: it is safe to run any number of times.
    """
    from app.services.team.roles import init_roles

    with _team_database(args) as (database, where):
        done = init_roles(database)
    print(f"{where}:")
    for line in done:
        print(f"  {line}")
    print("Next: python main.py team add-user NAME --role owner|billing|technician|viewer")
    return 0


def _password(args: argparse.Namespace, name: str) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != secret:
            raise BadArguments("the two passwords differ: nothing was changed")
    if not secret:
        raise BadArguments("the password is empty (give --no-password for none): nothing was changed")
    return secret


def run_add_user(args: argparse.Namespace) -> int:
    """Make a login user on the team database with a role: owner, billing, technician or viewer.
    The password is asked without echo (or read from standard input with --password-stdin) and
    reaches the server already hashed. An existing user gets the role given instead of the one
    it had (and the new password, if one is given). Run ``team init`` first.
    """
    from app.services.team.roles import Role, add_user

    secret = _password(args, args.name)
    with _team_database(args) as (database, where):
        done = add_user(database, args.name, Role(args.role), secret)
    print(f"{where}: {done}.")
    return 0


def run_role(args: argparse.Namespace) -> int:
    """Say which database user seatsync connects as, its role, and what that role may do."""
    from app.services.team.roles import Connected, Role, whoami

    location, _ = _location(args)
    if location.is_team:
        with _team_database(args) as (database, where):
            me = whoami(database)
    else:  # one desktop owns its file: everything is allowed
        me, where = Connected(user="", role=Role.OWNER), location.describe()
    who = f" as {me.user}" if me.user else ""
    print(f"Connected to {where}{who}: {me.role.value}.")
    for doing, allowed in me.role.abilities():
        print(f"  {'may' if allowed else 'may not'}: {doing}")
    return 0
