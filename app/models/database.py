"""The database: one peewee proxy every model uses, opened on SQLite by default.

Models are bound to ``db``, a ``DatabaseProxy``; ``open_database`` points it
at a SQLite file (WAL journal so the UI can read while the sync writes,
foreign keys enforced) after bringing the schema up to date. A shared
PostgreSQL database for a team would be one more ``open_*`` here: nothing
else names SQLite, and the migrations use peewee's portable schema API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import SQL, Check, Database, DatabaseProxy, Model, NodeList, OperationalError, SqliteDatabase

from app.errors import SeatsyncError
from app.paths import private_file

db = DatabaseProxy()

#: Applied by peewee on every new connection (one per thread).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",  # safe with WAL; a power cut loses at most the last commit
    "busy_timeout": 10_000,  # ms: wait for another writer instead of failing at once
}


class DatabaseFailed(SeatsyncError):
    """seatsync's database could not be read or written."""
    advice = "Fix what is named above, then sync again: the next sync settles what was written."


#: What the database says, and what a person can do about it.
_CAUSES = (
    ("disk is full", "the disk is full: free some space"),
    ("readonly", "the database is read-only: check the permissions of seatsync's data folder"),
    ("read-only", "the database is read-only: check the permissions of seatsync's data folder"),
    ("locked", "another program holds the database locked: close it, or wait for it"),
    ("unable to open", "the database file cannot be opened: check that seatsync's data folder exists"),
    ("disk i/o error", "the disk failed to read or write the database"),
)


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn the database's failures into ``DatabaseFailed`` with a sentence a person can act on."""
    try:
        yield
    except OperationalError as error:
        text = str(error)
        why = next((cause for needle, cause in _CAUSES if needle in text.lower()), f"the database said: {text[:200]}")
        raise DatabaseFailed(f"({why})") from error


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
    """
    return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")


def open_database(path: Path | str) -> Database:
    """Open (creating if need be) the database at ``path``, migrate it, and bind the models.

    Raises ``DatabaseTooNew`` when the file was written by a newer seatsync;
    the file is then left untouched and closed.
    """
    from app.models.schema import migrate

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    private_file(path)  # 0600 on POSIX; SQLite gives its WAL, SHM and journal the database file's mode
    database = sqlite_database(path)
    database.connect()
    try:
        migrate(database)
    except BaseException:
        database.close()
        raise
    db.initialize(database)
    return database


def close_database() -> None:
    """Close this thread's connection and unbind the models."""
    if db.obj is not None:
        if not db.obj.is_closed():
            db.obj.close()
        db.initialize(None)
