"""``team migrate``, ``team use``, ``team use-local``: which database seatsync opens.

  team migrate --to postgresql://user@host:5432/db [--password-stdin]
      copy this computer's database into the team database, check the copy
      table by table, and switch seatsync to it
  team use --to postgresql://user@host:5432/db [--password-stdin]
      open a team database that already holds the team's data (the second
      desktop, the headless runner) from the next start; nothing is copied
  team use-local
      open this computer's database again; the team database is untouched

migrate copies into an empty database only (it never merges two seatsync
databases): every table, ids kept, in one transaction, then compares each
table's rows, money sums, ids and first and last dates on both sides. Any
difference, or any failure, leaves the team database empty and seatsync on
this computer's database. On success this computer's database is kept as it
was, and a copy of it is kept beside it in the data folder
(seatsync.db.before-team-<date>-<time>).

The address names no password. When the server asks for one it is asked for
(not shown) on a terminal, or read as one line of standard input with
--password-stdin; it is kept in the keyring, never in the data folder.
PGPASSWORD and ~/.pgpass work too. A server that is not this machine is
reached over TLS with its certificate checked (sslmode=verify-full); add
?sslrootcert=/path/to/ca.pem to the address to name its certificate
authority. The data folder is SEATSYNC_DATA_DIR, else the platform's.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app import paths
from app.commands.common import BadArguments, is_terminal
from app.commands.render import printable, table

if TYPE_CHECKING:  # the database, the keyring and the move are imported where used: --help needs none of them
    from app.services.team.location import DatabaseLocation
    from app.services.team.move import MoveProgress, MoveReport, TeamProbe


def register(subparsers: argparse._SubParsersAction) -> None:
    move = subparsers.add_parser("migrate", help="copy this computer's database into an empty team database and "
                                                 "switch to it", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    use = subparsers.add_parser("use", help="open a team database that already holds the team's data",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for parser in (move, use):
        parser.add_argument("--to", required=True, metavar="URL",
                            help="the team database: postgresql://user@host:5432/database (no password in it)")
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the database user's password as one line of standard input")
    move.set_defaults(func=run_migrate)
    use.set_defaults(func=run_use)
    local = subparsers.add_parser("use-local", help="open this computer's database again (the team database "
                                                    "is untouched)", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    local.set_defaults(func=run_use_local)


# -- the address and the password -----------------------------------------------------------------------------


def _address(text: str) -> str:
    from app.models.database import connection_options

    url = text.strip()
    if urlsplit(url).password is not None:
        raise BadArguments("put no password in the address (the process list and the shell's history would show "
                           "it): give it with --password-stdin, or type it when asked")
    connection_options(url)  # a malformed address is named before anything is opened
    return url


def _connect(url: str, args: argparse.Namespace) -> tuple[str | None, TeamProbe]:
    """The password (from standard input, or asked for when the server wants one) and what the server is."""
    from app.models.database import DatabaseFailed
    from app.services.team.move import needs_password, probe

    secret = None
    if args.password_stdin:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        secret = line.rstrip("\r\n") or None
    try:
        return secret, probe(url, secret)
    except DatabaseFailed as error:
        if secret is not None or not needs_password(error) or not is_terminal(sys.stdin):
            raise
    user = urlsplit(url).username or getpass.getuser()
    secret = getpass.getpass(f"Password of {user} for the team database (not shown): ") or None
    return secret, probe(url, secret)


def _environment_note() -> str:
    from app.services.team.location import ENVIRONMENT

    if os.environ.get(ENVIRONMENT, "").strip():
        return (f"\nnote: {ENVIRONMENT} is set in this environment and wins over this setting: remove it for "
                "the setting to take effect here.")
    return ""


def _progress() -> Callable[[MoveProgress], None] | None:
    """Rows copied so far, on stderr, when a person watches it."""
    if not is_terminal(sys.stderr):
        return None

    def show(step: MoveProgress) -> None:
        sys.stderr.write(f"\r{step.stage} {step.table:<24} {step.copied}/{step.total} rows")
        sys.stderr.flush()

    return show


def report_table(report: MoveReport) -> str:
    rows = [(t.table, t.rows, "; ".join(f"{column} {total}" for column, total in t.sums)) for t in report.tables]
    return table(("Table", "Rows", "Money sums (equal on both sides)"), rows, right=(1,))


# -- the commands -----------------------------------------------------------------------------------------------


def run_migrate(args: argparse.Namespace) -> int:
    from app.services.secrets import SecretStore
    from app.services.team.move import move_to_team

    url = _address(args.to)
    data_dir = paths.data_dir()
    secret, found = _connect(url, args)
    show = _progress()
    try:
        report = move_to_team(data_dir / paths.DATABASE_NAME, url, secret, SecretStore(), data_dir, progress=show)
    finally:
        if show is not None:
            sys.stderr.write("\n")
    print(report_table(report))
    print(f"\n{report.rows} row(s) copied and checked in {report.seconds:.1f} s ({found.server}).")
    print(f"switched: seatsync now opens {printable(report.location.describe())}; this computer's database is "
          f"kept at {report.backup}" + _environment_note())
    return 0


def run_use(args: argparse.Namespace) -> int:
    from app.services.secrets import SecretStore
    from app.services.team.location import use_team

    url = _address(args.to)
    data_dir = paths.data_dir()
    secret, found = _connect(url, args)
    location = use_team(data_dir, url, SecretStore(), secret)
    print(printable(found.text()))
    if not found.schema:
        print("seatsync sets its tables up there when it next starts.")
    print(f"switched: seatsync now opens {printable(location.describe())}; this computer's database "
          f"({data_dir / paths.DATABASE_NAME}) is kept as it is" + _environment_note())
    return 0


def run_use_local(args: argparse.Namespace) -> int:
    from app.services.secrets import SecretStore
    from app.services.team.location import TeamSettingUnreadable, locate, use_local

    data_dir = paths.data_dir()
    try:
        before: DatabaseLocation | None = locate(data_dir, environ={})
    except TeamSettingUnreadable:
        before = None  # an unreadable setting is removed all the same
    after = use_local(data_dir, SecretStore())
    if before is not None and not before.is_team:
        print(f"seatsync already opens {after.describe()}." + _environment_note())
        return 0
    team = printable(before.describe()) if before is not None else "the team database"
    print(f"switched: seatsync now opens {after.describe()}; {team} is untouched (its data stays there, and this "
          "computer's database holds what it held before the move)" + _environment_note())
    return 0
