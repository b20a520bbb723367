"""Version 6: how each tenant's latest finished run went, kept per tenant.

Until now only the run record said how a sync went, so one failed tenant of
a run of every company marked every company "partly failed". The table
``tenant_sync_outcome`` holds one row per tenant (``tenant_id`` unique),
replaced by each run that synced it: it grows with the tenants, never with
the runs. ``sync_run_id`` names the run (SET NULL if a run is ever
removed); the tenant is named by its id as text, like the journal's.
Earlier runs left no per-tenant outcome: the table starts empty.
"""

from __future__ import annotations

from peewee import CharField, Check, Database, ForeignKeyField, IntegerField, Model, TextField

OUTCOMES = ("ok", "failed", "not_synced")


class _SyncRun(Model):
    class Meta:
        table_name = "sync_run"


class TenantSyncOutcome(Model):
    tenant_id = CharField(max_length=64, unique=True)
    sync_run = ForeignKeyField(_SyncRun, null=True, on_delete="SET NULL")
    finished_at = TextField()
    status = CharField(max_length=16, constraints=[Check(f"status IN ({', '.join(repr(v) for v in OUTCOMES)})")])
    writes = IntegerField()
    error = TextField()

    class Meta:
        table_name = "tenant_sync_outcome"
        legacy_table_names = False


def up(db: Database) -> None:
    with db.bind_ctx([_SyncRun, TenantSyncOutcome]):
        db.create_tables([TenantSyncOutcome])
