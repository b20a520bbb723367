"""Version 20: several Microsoft partner connections.

``microsoft_connection`` gains ``kind`` (``direct``: a direct-bill CSP
account; ``indirect_reseller``: an indirect reseller's account; NOT NULL
DEFAULT 'direct'). Each tenant belongs to the partner connection whose
Partner Center lists it (``tenant.partner_id``); tenants added while there
was one connection never had it set, so while exactly one connection
exists they are given it here.
"""

from __future__ import annotations

from peewee import SQL, CharField, Database
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(migrator.add_column("microsoft_connection", "kind",
                            CharField(max_length=24, default="direct", constraints=[SQL("DEFAULT 'direct'")]),
                            allow_not_null=True))
    ids = [row[0] for row in db.execute_sql('SELECT "id" FROM "microsoft_connection"').fetchall()]
    if len(ids) == 1:
        db.execute_sql(f'UPDATE "tenant" SET "partner_id" = {db.param} WHERE "partner_id" IS NULL', (ids[0],))
