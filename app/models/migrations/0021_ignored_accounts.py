"""Version 21: ignored accounts.

``ignored_account``: a UPN pattern naming a customer tenant's admin,
service or test accounts whose licenses are never billed, in one tenant or
(``tenant_id`` NULL) in every tenant (app/billing/ignored.py). Starts
empty. ``snapshot_license`` gains ``ignored`` (NOT NULL DEFAULT 0): the
seats ignored accounts held when the tenant was read, so a snapshot
explains what its rows billed without keeping the users. On PostgreSQL the
new table announces its changes like every other one (``notify_on_changes``
of 0010).
"""

from __future__ import annotations

import importlib

from peewee import SQL, CharField, Database, Field, ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


class _Instant(Field):
    field_type = "INSTANT"


class _Tenant(Model):
    class Meta:
        table_name = "tenant"


class IgnoredAccount(Model):
    tenant = ForeignKeyField(_Tenant, null=True, on_delete="CASCADE")
    pattern = CharField(max_length=256)
    reason = TextField(default="")
    created_at = _Instant()
    version = IntegerField(default=1, constraints=[SQL("DEFAULT 1")])
    updated_by = CharField(max_length=200, default="", constraints=[SQL("DEFAULT ''")])

    class Meta:
        table_name = "ignored_account"
        legacy_table_names = False
        indexes = ((("tenant", "pattern"), True),)


def up(db: Database) -> None:
    with db.bind_ctx([_Tenant, IgnoredAccount]):
        db.create_tables([IgnoredAccount])
    migrator = SchemaMigrator.from_database(db)
    run(migrator.add_column("snapshot_license", "ignored", IntegerField(default=0, constraints=[SQL("DEFAULT 0")]),
                            allow_not_null=True))
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
