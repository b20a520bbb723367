"""Versioned saves of configuration rows, and the audit of every configuration change.

Several desktops edit one team database: two people may open the same
mapping, profile, exclusion or setting. Each row keeps a ``version`` (1 when
created, raised by every save) and who saved it last (``updated_by``). An
editor reads the version with the row and hands it back with its save
(``expected_version``); the save is ``UPDATE … WHERE id = ? AND version = ?``,
so whichever saves second finds no row at its version and is refused with
``EditConflict``, naming who saved first and when, instead of overwriting
them. On PostgreSQL the second UPDATE waits for the first transaction and
then sees the new version: the refusal holds across processes and computers.

``expected_version``: None skips the check (the sync, a bulk operation, a
caller that owns the row); 0 says the editor saw no row (a new one: refused
if someone created it meanwhile); any other number is the version the
editor started from.

Every change is written to ``config_change`` by ``record_change`` inside the
same transaction: who (the technician's name and, on PostgreSQL, the
database user), what (kind and key), and the row before and after as JSON
(money as text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from peewee import Model, SqliteDatabase

from app.models.config import ConfigChange
from app.models.database import db
from app.models.records import ConfigChangeRecord, EditConflict

Doc = Mapping[str, Any]


def database_user() -> str:
    """The database user this connection works as on PostgreSQL (who the server says is writing); '' on
    SQLite, where a file has no users."""
    if db.obj is None or isinstance(db.obj, SqliteDatabase):
        return ""
    return str(db.execute_sql("SELECT current_user").fetchone()[0])


def record_change(*, kind: str, key: str, action: str, before: Doc | None, after: Doc | None, actor: str,
                  at: datetime) -> None:
    """Audit one configuration change (call it inside the change's own transaction)."""
    ConfigChange.create(at=at, actor=actor, db_user=database_user(), kind=kind, key=key, action=action,
                        before=None if before is None else dict(before), after=None if after is None else dict(after))


def change_record(row: ConfigChange) -> ConfigChangeRecord:
    return ConfigChangeRecord(id=row.id, at=row.at, actor=row.actor, db_user=row.db_user, kind=row.kind, key=row.key,
                              action=row.action, before=row.before, after=row.after)


def last_change(kind: str, key: str) -> ConfigChange | None:
    return (ConfigChange.select().where((ConfigChange.kind == kind) & (ConfigChange.key == key))
            .order_by(ConfigChange.id.desc()).first())  # the last written: clocks of two desktops differ


def conflict(kind: str, key: str, what: str, row: Model | None) -> EditConflict:
    """The refusal of a stale save: who saved the row since (its ``updated_by``, else the audit's last
    change of it) and when (the audit's, else the row's ``updated_at``)."""
    latest = last_change(kind, key)
    if row is None:
        return EditConflict(what=what, by=latest.actor if latest else "", at=latest.at if latest else None,
                            verb="removed")
    by = row.updated_by or (latest.actor if latest else "")
    at = latest.at if latest is not None else getattr(row, "updated_at", None)
    verb = "created" if latest is not None and latest.action == "created" else "changed"
    return EditConflict(what=what, by=by, at=at, verb=verb)


def check_version(row: Model | None, expected: int | None, *, kind: str, key: str,
                  what: Callable[[], str]) -> None:
    """Refuse the save when the row is not at the version its editor started from (see the module)."""
    if expected is None:
        return
    if row is None:
        if expected != 0:
            raise conflict(kind, key, what(), None)
        return
    if row.version != expected:
        raise conflict(kind, key, what(), row)


def _this_version(model: type[Model], row: Model) -> Any:
    """WHERE the row is the one read, still at the version read."""
    key: Any = model._meta.primary_key
    version: Any = model.version
    return (key == getattr(row, key.name)) & (version == row.version)


def update_versioned(model: type[Model], row: Model, values: Mapping[Any, Any], *, actor: str) -> bool:
    """Write ``values`` to ``row`` only if it is still at the version read, raising the version; False when
    another transaction saved it first (nothing was written)."""
    version: Any = model.version
    changes = {**values, version: version + 1, model.updated_by: actor}
    return model.update(changes).where(_this_version(model, row)).execute() == 1


def delete_versioned(model: type[Model], row: Model) -> bool:
    """Delete ``row`` only if it is still at the version read; False when another transaction saved it first."""
    return model.delete().where(_this_version(model, row)).execute() == 1
