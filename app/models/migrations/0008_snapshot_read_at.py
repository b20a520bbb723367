"""Version 8: an inventory snapshot is kept once per change, with the last read that found it.

A sync read every tenant's licenses and kept a full snapshot each time,
changed or not: the database grew with time, not with change. A read that
finds what the tenant's latest snapshot holds now only moves that
snapshot's ``read_at`` forward. Snapshots kept so far were each read once:
their ``read_at`` is their ``fetched_at``.
"""

from __future__ import annotations

from peewee import Database, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(migrator.add_column("inventory_snapshot", "read_at", TextField(null=True)))
    db.execute_sql('UPDATE "inventory_snapshot" SET "read_at" = "fetched_at"')
