"""Version 15: what each tenant's latest sync found, kept per tenant.

Until now a sync's findings (an inactive agreement, another tool's line, ...)
lived only in the memory of the process that ran it: after a restart they
were gone until the next sync, and a run of the scheduler never showed them
to the window. ``tenant_finding`` holds the findings of each tenant's latest
sync that learnt them, one row per finding; the next such sync of the tenant
replaces its rows, so the table grows with the tenants, not with the runs.
``sync_run_id`` names the run (SET NULL if a run is ever removed); the
tenant is named by its id as text, like the outcomes'. ``kind`` has no
CHECK: a finding kind added later needs no migration. Earlier runs kept no
findings: the table starts empty.

On PostgreSQL the table announces its changes like every other one
(``notify_on_changes`` of migration 0010), so the other desktops refresh.
"""

from __future__ import annotations

import importlib

from peewee import CharField, Database, Field, ForeignKeyField, Model, SqliteDatabase, TextField


class _Instant(Field):
    field_type = "INSTANT"


class _SyncRun(Model):
    class Meta:
        table_name = "sync_run"


class TenantFinding(Model):
    tenant_id = CharField(max_length=64)
    sync_run = ForeignKeyField(_SyncRun, null=True, on_delete="SET NULL")
    found_at = _Instant()
    kind = CharField(max_length=64)
    sku_id = CharField(max_length=64)
    agreement_id = CharField(max_length=64)
    line_id = CharField(max_length=64)
    message = TextField()

    class Meta:
        table_name = "tenant_finding"
        legacy_table_names = False
        indexes = ((("tenant_id",), False),)


def up(db: Database) -> None:
    with db.bind_ctx([_SyncRun, TenantFinding]):
        db.create_tables([TenantFinding])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
