"""Version 2: run statistics, a SKU index on snapshot licenses, and sync locks.

- ``sync_run`` gains ``tenants_synced``, ``tenants_failed`` and
  ``operations_held`` (NOT NULL DEFAULT 0, so earlier runs read as zero);
- ``snapshot_license(sku_id)`` serves "this SKU across every tenant over
  time" (the per-tenant chart already uses ``(snapshot, sku_id)``);
- ``sync_lock`` keeps one sync per tenant when several apps share a database.
"""

from __future__ import annotations

from peewee import SQL, CharField, Database, IntegerField, Model, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


class SyncLock(Model):
    name = CharField(max_length=128, primary_key=True)
    owner = CharField(max_length=200)
    acquired_at = TextField()
    expires_at = TextField()

    class Meta:
        table_name = "sync_lock"


def _count() -> IntegerField:
    # NOT NULL DEFAULT 0 in one ALTER TABLE: portable, and on SQLite it avoids
    # the table rebuild that adding NOT NULL afterwards would need.
    return IntegerField(default=0, constraints=[SQL("DEFAULT 0")])


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(
        migrator.add_column("sync_run", "tenants_synced", _count(), allow_not_null=True),
        migrator.add_column("sync_run", "tenants_failed", _count(), allow_not_null=True),
        migrator.add_column("sync_run", "operations_held", _count(), allow_not_null=True),
        migrator.add_index("snapshot_license", ("sku_id",), False),
    )
    with db.bind_ctx([SyncLock]):
        db.create_tables([SyncLock])
