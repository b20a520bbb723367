"""Schema migrations: numbered modules in app/models/migrations, applied in order.

Each module ``NNNN_name.py`` defines ``up(db)``. The ``schema_version``
table records every version applied; ``migrate`` applies the pending ones,
each in its own transaction, so a failure leaves the database at the last
good version. A database at a version this seatsync does not know was
written by a newer seatsync: ``DatabaseTooNew``, and nothing is touched.

Modules are found with pkgutil (the PyInstaller build must collect them:
``collect_submodules("app.models.migrations")`` in installer.spec).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from peewee import CharField, Database, IntegerField, Model

from app import __version__
from app.errors import SeatsyncError
from app.models.fields import InstantField

PACKAGE = "app.models.migrations"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)")


class DatabaseTooNew(SeatsyncError):
    """This database was written by a newer seatsync: update seatsync to open it."""


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


def discover() -> tuple[Migration, ...]:
    """Every migration module, in order; versions must run 1, 2, 3... without gaps."""
    package = importlib.import_module(PACKAGE)
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = _NAME.fullmatch(info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        found.append(Migration(version=int(match[1]), name=info.name, up=module.up))
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
        db.create_tables([SchemaVersion], safe=True)
        for migration in migrations[found:target]:
            with db.atomic():
                migration.up(db)
                SchemaVersion.create(version=migration.version, name=migration.name, applied_at=datetime.now(UTC))
            applied.append(migration.version)
    return applied
