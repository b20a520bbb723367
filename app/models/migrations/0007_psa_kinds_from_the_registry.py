"""Version 7: the database no longer lists the PSA kinds a connection may be of.

Which PSAs seatsync speaks is the PSA registry's to say
(app/services/psa/factory.py), so a new PSA needs no migration: the CHECK
constraint on ``psa_connection.kind`` goes. SQLite cannot drop a constraint,
so the table is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter):
a new table under a temporary name, every row copied with its id, the old
table dropped, the new one renamed into place. PostgreSQL drops the
constraint itself.

The companies, agreements and products of a connection reference it: the
migration runs with foreign key enforcement off (``FOREIGN_KEYS = False``,
app/models/schema.py), so dropping the old table deletes none of them, and
every reference is checked before the migration commits.
"""

from __future__ import annotations

from peewee import CharField, Database, Model, SqliteDatabase, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

FOREIGN_KEYS = False


def _connection(table: str) -> type[Model]:
    class PsaConnection(Model):
        kind = CharField(max_length=16)
        name = CharField(max_length=200)
        settings = TextField()
        created_at = TextField()

        class Meta:
            table_name = table
            legacy_table_names = False

    return PsaConnection


def up(db: Database) -> None:
    if not isinstance(db, SqliteDatabase):
        db.execute_sql('ALTER TABLE "psa_connection" DROP CONSTRAINT IF EXISTS "psa_connection_kind_check"')
        return
    rebuilt = _connection("psa_connection_v7")
    with db.bind_ctx([rebuilt]):
        rebuilt._schema.create_table(safe=False)
    db.execute_sql('INSERT INTO "psa_connection_v7" ("id", "kind", "name", "settings", "created_at") '
                   'SELECT "id", "kind", "name", "settings", "created_at" FROM "psa_connection"')
    migrator = SchemaMigrator.from_database(db)
    run(migrator.drop_table("psa_connection"), migrator.rename_table("psa_connection_v7", "psa_connection"))
