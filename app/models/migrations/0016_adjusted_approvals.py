"""Version 16: a held change approved adjusted.

``held_operation`` gains ``adjusted`` (TEXT NULL): the operation as a person
approved it, part of the planned change or from a later day
(app/billing/adjust.py), as canonical JSON with the planned one's key; NULL
when it was approved as planned, or not approved. Every existing row is NULL.
"""

from __future__ import annotations

from peewee import Database, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


def up(db: Database) -> None:
    run(SchemaMigrator.from_database(db).add_column("held_operation", "adjusted", TextField(null=True)))
