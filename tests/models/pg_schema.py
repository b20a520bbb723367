"""A PostgreSQL database's schema as comparable rows: columns, constraints and indexes (names aside
where PostgreSQL makes them up)."""

from __future__ import annotations

import re

from peewee import Database

_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name != 'schema_version'
"""
_CONSTRAINTS = """
SELECT c.conrelid::regclass::text, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE n.nspname = current_schema() AND c.conrelid::regclass::text != 'schema_version'
"""
_INDEXES = """
SELECT tablename, regexp_replace(indexdef, 'INDEX \\S+ ON', 'INDEX ON')
FROM pg_indexes WHERE schemaname = current_schema() AND tablename != 'schema_version'
"""


def describe(db: Database) -> dict[str, list[tuple]]:
    def rows(sql: str) -> list[tuple]:
        return sorted(tuple(row) for row in db.execute_sql(sql).fetchall())

    columns = [(t, c, kind, null, re.sub(r"nextval\('\w+'::regclass\)", "nextval(...)", default))
               for t, c, kind, null, default in rows(_COLUMNS)]
    return {"columns": columns, "constraints": rows(_CONSTRAINTS), "indexes": rows(_INDEXES)}
