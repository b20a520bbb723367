"""Version 9: on PostgreSQL, money is NUMERIC, instants TIMESTAMPTZ and days DATE.

Versions 1 to 8 declared these columns TEXT, which is what SQLite keeps them
as (app/models/fields.py says why). A team's PostgreSQL database gives them
the engine's own types, so its money is exact arithmetic in SQL and its
instants compare as times. The text seatsync wrote converts as it stands
(canonical decimals; UTC ISO 8601 instants and days). On SQLite nothing
changes.

From this version on, a migration declares such a column with seatsync's
type names (a field whose ``field_type`` is "MONEY", "INSTANT" or "DAY"),
which each database maps to its engine's own (app/models/database.py).
"""

from __future__ import annotations

from peewee import Database, SqliteDatabase

COLUMNS = {
    "NUMERIC": (
        ("audit_entry", "after_amount"), ("audit_entry", "before_amount"), ("billing_profile", "price_fixed"),
        ("billing_profile", "price_percent"), ("psa_product", "cost"), ("psa_product", "price"),
    ),
    "TIMESTAMPTZ": (
        ("audit_entry", "at"), ("billing_profile", "created_at"), ("billing_profile", "updated_at"),
        ("exclusion", "created_at"), ("held_operation", "created_at"), ("held_operation", "decided_at"),
        ("held_operation", "updated_at"), ("inventory_snapshot", "fetched_at"), ("inventory_snapshot", "read_at"),
        ("journal_entry", "created_at"), ("journal_entry", "updated_at"), ("mapping", "created_at"),
        ("mapping", "updated_at"), ("microsoft_connection", "created_at"), ("psa_agreement", "fetched_at"),
        ("psa_connection", "created_at"), ("psa_product", "fetched_at"), ("setting", "updated_at"),
        ("sync_lock", "acquired_at"), ("sync_lock", "expires_at"), ("sync_run", "finished_at"),
        ("sync_run", "started_at"), ("tenant", "added_at"), ("tenant_company", "created_at"),
        ("tenant_sync_outcome", "finished_at"),
    ),
    "DATE": (
        ("mapping", "start_date_override"), ("psa_agreement", "start"),
        ("snapshot_subscription", "cancellation_allowed_until"), ("snapshot_subscription", "commitment_end"),
    ),
}


def up(db: Database) -> None:
    if isinstance(db, SqliteDatabase):
        return
    for kind, columns in COLUMNS.items():
        tables: dict[str, list[str]] = {}
        for table, column in columns:
            tables.setdefault(table, []).append(column)
        for table, names in tables.items():
            changes = ", ".join(f'ALTER COLUMN "{name}" TYPE {kind} USING "{name}"::{kind}' for name in names)
            db.execute_sql(f'ALTER TABLE "{table}" {changes}')
