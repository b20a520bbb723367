"""Version 12: the Companies list's figures kept on each company, and an index the list reads by.

- ``psa_company`` gains ``list_licenses``, ``list_unmapped`` and
  ``list_unpriced`` (NOT NULL DEFAULT 0) and ``list_monthly`` (NULL): what
  the Companies list shows of the company beside its name, kept by every
  write that changes them (app/models/repositories/summaries.py). Companies
  of an earlier database start with ``list_monthly`` NULL, "not worked out
  yet": the list works those out once, from the data, and keeps them.
- ``journal_entry(state, tenant_id)``: the failed writes of every tenant
  without reading the whole journal.

On PostgreSQL the columns are the table's own, so the grants and the
notice on every change already cover them.
"""

from __future__ import annotations

from peewee import SQL, Database, IntegerField, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run


def _count() -> IntegerField:
    # NOT NULL with a DEFAULT in one ALTER TABLE: portable, and SQLite needs no table rebuild (as in 0002).
    return IntegerField(default=0, constraints=[SQL("DEFAULT 0")])


def up(db: Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    run(
        migrator.add_column("psa_company", "list_licenses", _count(), allow_not_null=True),
        migrator.add_column("psa_company", "list_unmapped", _count(), allow_not_null=True),
        migrator.add_column("psa_company", "list_unpriced", _count(), allow_not_null=True),
        migrator.add_column("psa_company", "list_monthly", TextField(null=True)),
        migrator.add_index("journal_entry", ("state", "tenant_id"), False),
    )
