"""Version 11: versioned configuration edits, and every configuration change audited.

- ``mapping``, ``billing_profile``, ``exclusion`` and ``setting`` gain
  ``version`` (NOT NULL DEFAULT 1: every existing row is at its first
  version) and ``updated_by`` (NOT NULL DEFAULT '': not known before now).
  A save names the version its editor started from and is refused when
  another desktop saved a newer one meanwhile, so two edits of one row never
  silently overwrite each other (app/models/repositories/versions.py).
- ``config_change``: one row per configuration change (created, changed,
  removed), with who (the technician and the database user), what (a kind and
  a key), and the row before and after as JSON. Starts empty.
- On PostgreSQL the new table announces its changes like every other one
  (``notify_on_changes`` of migration 0010), so History refreshes on every desktop.
"""

from __future__ import annotations

import importlib

from peewee import SQL, CharField, Check, Database, Field, IntegerField, Model, SqliteDatabase, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

VERSIONED = ("mapping", "billing_profile", "exclusion", "setting")
ACTIONS = ("created", "changed", "removed")


class _Instant(Field):
    field_type = "INSTANT"


class ConfigChange(Model):
    at = _Instant()
    actor = CharField(max_length=200)
    db_user = CharField(max_length=200, default="")
    kind = CharField(max_length=32)
    key = CharField(max_length=300)
    action = CharField(max_length=16, constraints=[Check(f"action IN ({', '.join(repr(a) for a in ACTIONS)})")])
    before = TextField(null=True)
    after = TextField(null=True)

    class Meta:
        table_name = "config_change"
        legacy_table_names = False
        indexes = ((("at",), False), (("kind", "key"), False))


def _version() -> IntegerField:
    # NOT NULL with a DEFAULT in one ALTER TABLE: portable, and SQLite needs no table rebuild (as in 0002).
    return IntegerField(default=1, constraints=[SQL("DEFAULT 1")])


def _updated_by() -> CharField:
    return CharField(max_length=200, default="", constraints=[SQL("DEFAULT ''")])


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    steps = []
    for table in VERSIONED:
        steps.append(migrator.add_column(table, "version", _version(), allow_not_null=True))
        steps.append(migrator.add_column(table, "updated_by", _updated_by(), allow_not_null=True))
    run(*steps)
    with db.bind_ctx([ConfigChange]):
        db.create_tables([ConfigChange])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
