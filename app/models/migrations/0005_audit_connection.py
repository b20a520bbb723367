"""Version 5: each audit entry names the PSA connection it was written to.

Two PSA connections may number their companies, agreements and products
alike, so a PSA id alone does not say whose record an entry names: History
filtered "company 12" across both PSAs. ``audit_entry.connection_id`` is
nullable and no foreign key (the audit outlives a removed connection).
Earlier entries get the connection whose cached agreements hold their
agreement id, when exactly one does; otherwise it stays unknown (NULL).
"""

from __future__ import annotations

from peewee import Database, IntegerField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(migrator.add_column("audit_entry", "connection_id", IntegerField(null=True)))
    db.execute_sql(
        "UPDATE audit_entry SET connection_id = ("
        "  SELECT MIN(a.connection_id) FROM psa_agreement a WHERE a.psa_id = audit_entry.agreement_id)"
        " WHERE (SELECT COUNT(DISTINCT a.connection_id) FROM psa_agreement a"
        "        WHERE a.psa_id = audit_entry.agreement_id) = 1")
