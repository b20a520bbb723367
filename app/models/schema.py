"""Schema migrations: numbered modules in app/models/migrations, applied in order.

Each module ``NNNN_name.py`` defines ``up(db)``. The ``schema_version``
table records every version applied; ``migrate`` applies the pending ones,
each in its own transaction, so a failure leaves the database at the last
good version. A database at a version this seatsync does not know was
written by a newer seatsync: ``DatabaseTooNew``, and nothing is touched.

A module that rebuilds a table other tables reference sets
``FOREIGN_KEYS = False``: SQLite then runs it with foreign key enforcement
off (dropping the old table would otherwise delete, or refuse to leave, the
rows referencing it; the pragma has no effect inside a transaction, so it is
set before the migration's transaction begins), checks every reference
before committing (``MigrationBrokeReferences``), and turns enforcement back on.

Modules are found with pkgutil (the PyInstaller build must collect them:
``collect_submodules("app.models.migrations")`` in installer.spec).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from peewee import CharField, Database, IntegerField, Model, ProgrammingError, SqliteDatabase

from app import __version__
from app.errors import SeatsyncError
from app.models.fields import InstantField
from app.models.session import MIGRATION_LOCK

PACKAGE = "app.models.migrations"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)")


class DatabaseTooNew(SeatsyncError):
    """This database was written by a newer seatsync: update seatsync to open it."""


class DatabaseNeedsUpgrade(SeatsyncError):
    """The team database must be upgraded by its owner before this seatsync can open it."""
    advice = "Ask the team database's owner to run: python main.py team init (as the owner), then start again."


class MigrationBrokeReferences(SeatsyncError):
    """A migration left rows referencing rows that are gone; it was rolled back."""


class SchemaVersion(Model):
    """One row per applied migration (this table itself never changes)."""

    version = IntegerField(primary_key=True)
    name = CharField(max_length=200)
    applied_at = InstantField()

    class Meta:
        table_name = "schema_version"


@dataclass(frozen=True, kw_only=True)
class Migration:
    version: int
    name: str
    up: Callable[[Database], None]
    #: False: run with foreign key enforcement off, every reference checked before commit.
    foreign_keys: bool = True


def discover() -> tuple[Migration, ...]:
    """Every migration module, in order; versions must run 1, 2, 3... without gaps."""
    package = importlib.import_module(PACKAGE)
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = _NAME.fullmatch(info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        found.append(Migration(version=int(match[1]), name=info.name, up=module.up,
                               foreign_keys=getattr(module, "FOREIGN_KEYS", True)))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps or repeats, found {versions}")
    return tuple(found)


def latest_version() -> int:
    return len(discover())


def current_version(db: Database) -> int:
    """The version the database is at (0: empty)."""
    with db.bind_ctx([SchemaVersion]):
        if not SchemaVersion.table_exists():
            return 0
        return SchemaVersion.select(SchemaVersion.version).order_by(SchemaVersion.version.desc()).scalar() or 0


def migrate(db: Database, *, target: int | None = None) -> list[int]:
    """Apply pending migrations (up to ``target``, default all); return the versions applied."""
    if isinstance(db, SqliteDatabase):  # SQLite: one writer at a time already (IMMEDIATE transactions)
        return _migrate(db, target)
    db.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        return _migrate(db, target)
    except ProgrammingError as error:
        if getattr(getattr(error, "orig", None), "pgcode", None) != "42501":  # insufficient_privilege
            raise
        raise DatabaseNeedsUpgrade(
            f"(it is at schema version {current_version(db)}; seatsync {__version__} needs version "
            f"{latest_version()}, and only the database's owner may change its tables)") from None
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def _migrate(db: Database, target: int | None) -> list[int]:
    migrations = discover()
    latest = len(migrations)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"no migration {target}: this seatsync knows versions 1..{latest}")
    found = current_version(db)
    if found > latest:
        raise DatabaseTooNew(
            f"{db.database} is at schema version {found}; seatsync {__version__} knows schema "
            f"versions up to {latest}.",
            path=str(db.database),
            found=found,
            latest=latest,
        )
    applied = []
    with db.bind_ctx([SchemaVersion]):
        if not found:  # made once; a team's user who may not create tables still opens a migrated database
            db.create_tables([SchemaVersion], safe=True)
        for migration in migrations[found:target]:
            with nullcontext() if migration.foreign_keys else _without_foreign_keys(db), db.atomic():
                migration.up(db)
                if not migration.foreign_keys:
                    _check_references(db, migration)
                SchemaVersion.create(version=migration.version, name=migration.name, applied_at=datetime.now(UTC))
            applied.append(migration.version)
    return applied


@contextmanager
def _without_foreign_keys(db: Database) -> Iterator[None]:
    """SQLite's foreign key enforcement off for the block, then as it was."""
    if not isinstance(db, SqliteDatabase):
        yield
        return
    enforced = db.execute_sql("PRAGMA foreign_keys").fetchone()[0]
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        if db.execute_sql("PRAGMA foreign_keys").fetchone()[0]:
            raise RuntimeError("a migration that rebuilds a referenced table cannot run inside a transaction")
        yield
    finally:
        if enforced:
            db.execute_sql("PRAGMA foreign_keys = ON")


def _check_references(db: Database, migration: Migration) -> None:
    if not isinstance(db, SqliteDatabase):
        return
    broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise MigrationBrokeReferences(f"({migration.name}: {len(broken)} row(s) of {', '.join(tables)} "
                                       "reference rows that are gone)")
