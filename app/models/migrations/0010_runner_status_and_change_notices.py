"""Version 10: the headless runner's health, and (on PostgreSQL) a notice on every change.

- ``runner_status``: one row per ``run-scheduler`` (app/models/team.py).
- On PostgreSQL, every statement that changes a table of seatsync's sends
  ``NOTIFY seatsync, '<table>'`` (delivered when its transaction commits,
  once per table however many rows changed), so the other desktops refresh
  what shows that table within a second (app/services/team/live.py). A
  trigger, not the app, sends it: a change from any desktop, the runner or a
  psql session is seen alike. SQLite has no such thing and needs none: one
  desktop owns its file.
"""

from __future__ import annotations

from peewee import CharField, Database, Field, IntegerField, Model, SqliteDatabase, TextField

CHANNEL = "seatsync"
NOT_NOTIFYING = ("schema_version", "sync_lock")


class _Instant(Field):
    field_type = "INSTANT"


class RunnerStatus(Model):
    name = CharField(max_length=200, primary_key=True)
    host = CharField(max_length=200)
    pid = IntegerField()
    started_at = _Instant()
    heartbeat_at = _Instant()
    last_run_at = _Instant(null=True)
    last_status = CharField(max_length=16, default="")
    last_summary = TextField(default="")
    next_run_at = _Instant(null=True)

    class Meta:
        table_name = "runner_status"
        legacy_table_names = False


def notify_on_changes(db: Database) -> None:
    """(PostgreSQL) The trigger that announces a change on each table of seatsync's; safe to run again,
    and run again by a later migration that adds a table."""
    db.execute_sql(f"""
        CREATE OR REPLACE FUNCTION seatsync_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END $$""")
    tables = [row[0] for row in db.execute_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()]
    for table in sorted(set(tables) - set(NOT_NOTIFYING)):
        db.execute_sql(f'DROP TRIGGER IF EXISTS seatsync_changed ON "{table}"')
        db.execute_sql(f'CREATE TRIGGER seatsync_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
                       "FOR EACH STATEMENT EXECUTE FUNCTION seatsync_changed()")


def up(db: Database) -> None:
    with db.bind_ctx([RunnerStatus]):
        db.create_tables([RunnerStatus])
    if not isinstance(db, SqliteDatabase):
        notify_on_changes(db)
