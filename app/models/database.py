"""The database: one peewee proxy every model uses, on SQLite by default or a team's PostgreSQL.

Models are bound to ``db``, a ``DatabaseProxy``; ``open_database`` points it
at a SQLite file (WAL journal so the UI can read while the sync writes,
foreign keys enforced) or, given a ``postgresql://`` URL, at a team's
PostgreSQL database (docs/team.md), after bringing the schema up to date.

Money, instants and days are columns of seatsync's own types
(app/models/fields.py), which each engine maps to its own: TEXT on SQLite
(exact, and ordered as text), NUMERIC, TIMESTAMPTZ and DATE on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
from peewee import (
    SQL,
    Check,
    Database,
    DatabaseProxy,
    InterfaceError,
    InternalError,
    Model,
    NodeList,
    OperationalError,
    ProgrammingError,
    SqliteDatabase,
)
from playhouse.pool import PooledPostgresqlDatabase

from app.errors import SeatsyncError
from app.models.yielding import YieldingSqliteDatabase
from app.paths import private_file

db = DatabaseProxy()

#: Applied by peewee on every new connection (one per thread).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",  # safe with WAL; a power cut loses at most the last commit
    "busy_timeout": 10_000,  # ms: wait for another writer instead of failing at once
}


#: seatsync's column types (app/models/fields.py) in each engine's own.
SQLITE_TYPES = {"MONEY": "TEXT", "INSTANT": "TEXT", "DAY": "TEXT"}
POSTGRESQL_TYPES = {"MONEY": "NUMERIC", "INSTANT": "TIMESTAMPTZ", "DAY": "DATE"}
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


class DatabaseFailed(SeatsyncError):
    """seatsync's database could not be read or written."""
    advice = "Fix what is named above, then sync again: the next sync settles what was written."


#: What the database says, and what a person can do about it.
_CAUSES = (  # the first that matches says it
    ("read-only transaction", "the team database is read-only (a standby server, or read-only for this user): "
     "connect to the primary server"),
    ("disk is full", "the disk is full: free some space"),
    ("readonly", "the database is read-only: check the permissions of seatsync's data folder"),
    ("read-only", "the database is read-only: check the permissions of seatsync's data folder"),
    ("locked", "another program holds the database locked: close it, or wait for it"),
    ("unable to open", "the database file cannot be opened: check that seatsync's data folder exists"),
    ("disk i/o error", "the disk failed to read or write the database"),
    ("password authentication failed", "the team database refused the user name or password: check them in "
     "Settings > Team database"),
    ("no password supplied", "the team database asks for a password: enter it in Settings > Team database"),
    ("certificate verify failed", "the team database's certificate is not trusted: give its certificate "
     "authority in Settings > Team database (sslrootcert)"),
    ("does not exist", "the team database or its user does not exist: check the address"),
    ("connection refused", "the team database's server is not answering: check its address and that it runs"),
    ("could not connect", "the team database's server cannot be reached: check its address and the network"),
    ("could not translate host name", "the team database's host name is unknown: check its address"),
    ("timeout expired", "the team database's server did not answer in time: check the network"),
    ("server closed the connection", "the team database's server closed the connection: try again"),
)


class RoleRefused(DatabaseFailed):
    """The team database refused this change."""
    advice = ("Ask someone whose role may do it, or ask the team database's owner for that role "
              "(python main.py team add-user).")


#: SQLSTATE insufficient_privilege: a grant, or seatsync's trigger on held changes, refused the statement.
INSUFFICIENT_PRIVILEGE = "42501"
#: Says who was refused and which role the change needs, from the database's message (set by
#: app/services/team/roles.py, which knows the roles; app/models knows no roles).
_explain_refusal: Callable[[str], str] = lambda message: f"the database said: {message.strip()[:200]}"  # noqa: E731


def explain_refusals_with(explain: Callable[[str], str]) -> None:
    global _explain_refusal
    _explain_refusal = explain


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn the database's failures into ``DatabaseFailed`` with a sentence a person can act on
    (``RoleRefused`` when the team database refused a change to this user's role)."""
    try:
        yield
    except (OperationalError, InterfaceError, InternalError, psycopg2.OperationalError, psycopg2.InterfaceError,
            psycopg2.InternalError) as error:
        text = str(error)
        why = next((cause for needle, cause in _CAUSES if needle in text.lower()), f"the database said: {text[:200]}")
        raise DatabaseFailed(f"({why})") from error
    except (ProgrammingError, psycopg2.ProgrammingError) as error:
        driver = getattr(error, "orig", error)  # peewee's wraps the driver's
        if getattr(driver, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
            raise
        message = str(getattr(driver, "pgerror", "") or driver).strip().removeprefix("ERROR:").strip()
        raise RoleRefused(_explain_refusal(message.splitlines()[0] if message else "")) from error


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def one_of(column: str, values: tuple[str, ...]) -> SQL | NodeList:
    """A CHECK constraint keeping ``column`` to ``values`` (the enums' values)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return Check(f"{column} IN ({listed})")


def sqlite_database(path: Path | str) -> SqliteDatabase:
    """A SQLite database on ``path`` with seatsync's pragmas (not yet connected).

    Transactions begin IMMEDIATE: a transaction that reads and then writes
    would otherwise fail at once with "database is locked" when another
    thread wrote in between, instead of waiting its turn (busy_timeout).
    Its reads off the main thread let the window in (app/models/yielding.py).
    """
    return YieldingSqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                                  field_types=SQLITE_TYPES)


def is_database_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class BadDatabaseAddress(SeatsyncError):
    """This team database address cannot be used."""
    advice = "Give it as postgresql://user@host:5432/database (the password goes in the keyring, not the address)."


def connection_options(url: str, password: str | None = None) -> dict[str, object]:
    """psycopg2's keyword arguments for a ``postgresql://`` URL.

    A server that is not on this machine is reached over TLS with its
    certificate and host name verified (``sslmode=verify-full``) unless the
    URL names another mode; ``sslrootcert`` in the URL names the certificate
    authority to trust. ``password`` (from the keyring) wins over one in the URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise BadDatabaseAddress(f"({url.split('@')[-1][:200]!r} names no database)")
    try:
        port = parts.port
    except ValueError as error:
        raise BadDatabaseAddress(f"(its port is not a number: {error})") from None
    options: dict[str, object] = dict(parse_qsl(parts.query))
    options.update(dbname=unquote(parts.path.strip("/")), host=parts.hostname or "localhost")
    if port:
        options["port"] = port
    if parts.username:
        options["user"] = unquote(parts.username)
    if password or parts.password:
        options["password"] = password or unquote(parts.password or "")
    if parts.hostname not in LOCAL_HOSTS and not str(parts.hostname or "").startswith("/"):
        options.setdefault("sslmode", "verify-full")
    options.setdefault("connect_timeout", 10)
    options.setdefault("application_name", "seatsync")
    return options


def postgresql_database(url: str, password: str | None = None) -> PooledPostgresqlDatabase:
    """A team's PostgreSQL database at ``url`` (not yet connected).

    Pooled: a unit of work's connection goes back to the pool when it ends,
    and the next one (on any thread) takes it instead of logging in again.
    """
    options = connection_options(url, password)
    name = options.pop("dbname")
    return PooledPostgresqlDatabase(name, max_connections=32, stale_timeout=300, timeout=30,
                                    field_types=POSTGRESQL_TYPES, **options)


def open_database(target: Path | str, *, password: str | None = None) -> Database:
    """Open the database at ``target`` (a SQLite file, made if need be, or a ``postgresql://`` URL),
    migrate it, and bind the models.

    Raises ``DatabaseTooNew`` when the database was written by a newer
    seatsync; it is then left untouched and closed.
    """
    from app.models.schema import migrate

    if is_database_url(target):
        database: Database = postgresql_database(str(target), password)
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        private_file(path)  # 0600 on POSIX; SQLite gives its WAL, SHM and journal the database file's mode
        database = sqlite_database(path)
    with database_errors():
        database.connect()
    try:
        migrate(database)
        if isinstance(database, PooledPostgresqlDatabase):
            from app.models import session

            session.begin(database)
    except BaseException:
        database.close()
        _close_pool(database)
        raise
    db.initialize(database)
    return database


def _close_pool(database: Database) -> None:
    if isinstance(database, PooledPostgresqlDatabase):
        from app.models import session

        session.end()
        database.close_all()


def close_database() -> None:
    """Close this thread's connection (and a team database's pool) and unbind the models."""
    if db.obj is not None:
        if not db.obj.is_closed():
            db.obj.close()
        _close_pool(db.obj)
        db.initialize(None)
