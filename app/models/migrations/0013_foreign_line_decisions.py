"""Version 13: what a person decided about the lines other tools wrote.

``foreign_line_decision``: one row per line seatsync does not own on a PSA
connection's agreements (``connection_id``, ``line_psa_id`` unique) that a
person decided to adopt, cancel from a day, or ignore (app/billing/foreign.py);
until a line has one, the rows billing its product on its agreement are held.
Starts empty: every foreign line is undecided. On PostgreSQL the table
announces its changes like every other one (``notify_on_changes`` of 0010).
"""

from __future__ import annotations

import importlib

from peewee import CharField, Check, Database, Field, ForeignKeyField, IntegerField, Model, SqliteDatabase

ACTIONS = ("adopt", "cancel", "ignore")


class _Day(Field):
    field_type = "DAY"


class _Instant(Field):
    field_type = "INSTANT"


class _PsaConnection(Model):
    class Meta:
        table_name = "psa_connection"


class ForeignLineDecision(Model):
    connection = ForeignKeyField(_PsaConnection, on_delete="CASCADE")
    line_psa_id = CharField(max_length=64)
    agreement_psa_id = CharField(max_length=64)
    product_psa_id = CharField(max_length=64)
    reference = CharField(max_length=300, default="")
    quantity = IntegerField(default=0)
    action = CharField(max_length=16, constraints=[Check(f"action IN ({', '.join(repr(a) for a in ACTIONS)})")])
    decided_on = _Day()
    last_day = _Day(null=True)
    decided_by = CharField(max_length=200, default="")
    decided_at = _Instant()

    class Meta:
        table_name = "foreign_line_decision"
        legacy_table_names = False
        indexes = ((("connection", "line_psa_id"), True),)


def up(db: Database) -> None:
    with db.bind_ctx([_PsaConnection, ForeignLineDecision]):
        db.create_tables([ForeignLineDecision])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
