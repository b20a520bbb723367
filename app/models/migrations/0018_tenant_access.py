"""Version 18: each tenant's GDAP standing, and when seatsync last checked its access.

``tenant`` gains ``gdap_state`` (app/services/microsoft/gdap.py ``GdapState``'s
name; NULL until checked), ``gdap_ends`` (the day its active relationship
ends, if it does), ``gdap_detail`` (the check's words: which roles are
missing, which relationship) and ``access_checked_at``. All nullable: the
columns are added in place, without rebuilding a table others reference.
"""

from __future__ import annotations

from peewee import CharField, Database, Field, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


class _Day(Field):
    field_type = "DAY"


class _Instant(Field):
    field_type = "INSTANT"


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(migrator.add_column("tenant", "gdap_state", CharField(max_length=32, null=True)),
        migrator.add_column("tenant", "gdap_ends", _Day(null=True)),
        migrator.add_column("tenant", "gdap_detail", TextField(null=True)),
        migrator.add_column("tenant", "access_checked_at", _Instant(null=True)))
