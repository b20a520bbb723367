"""Version 3: the journal takes the sync engine's states; held operations leave it.

- ``journal_entry.state`` becomes pending | done | unknown | failed |
  not_applied (was pending | done | failed | held), and the entry gains the
  operation's ``kind``, ``agreement_id``, ``marker`` and ``quantity`` as
  columns, so the quantity last written to a line is a query;
- ``held_operation`` is keyed by the operation key and keeps the operation
  itself, with its own status held | approved | rejected | applied |
  superseded (it was a child row of a journal entry in state ``held``).

A CHECK constraint cannot be altered on SQLite, so both tables are rebuilt
(https://www.sqlite.org/lang_altertable.html#otheralter): new tables under a
temporary name, rows copied, old tables dropped, new ones renamed into place,
indexes created. Portable: peewee's schema migrator renames and drops.

How version 2 rows carry over (the journal now records writes attempted only):
- done, failed: kept as they are;
- pending begun at least once: kept pending (the next sync reads the PSA
  before anything is retried);
- pending never begun (an approved hold that was not applied yet): leaves
  the journal, its hold stays approved;
- held never begun: leaves the journal, its hold stays; held after an
  attempt (a pending entry that was then held): kept as unknown, so the PSA
  is read before anything is written again;
- a hold approved whose entry is done becomes applied.
"""

from __future__ import annotations

import json
from typing import Any

from peewee import SQL, CharField, Check, Database, ForeignKeyField, IntegerField, Model, NodeList, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

JOURNAL_STATES = ("pending", "done", "unknown", "failed", "not_applied")
HELD_STATUSES = ("held", "approved", "rejected", "applied", "superseded")


def _one_of(column: str, values: tuple[str, ...]) -> SQL | NodeList:
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


class _SyncRun(Model):
    class Meta:
        table_name = "sync_run"


def _journal(table: str) -> type[Model]:
    class JournalEntry(Model):
        op_key = CharField(max_length=128, unique=True)
        state = CharField(max_length=16, constraints=[_one_of("state", JOURNAL_STATES)])
        operation = TextField()
        tenant_id = CharField(max_length=64)
        kind = CharField(max_length=32)
        agreement_id = CharField(max_length=64)
        marker = CharField(max_length=128)
        quantity = IntegerField()
        psa_record_id = CharField(max_length=64)
        attempts = IntegerField()
        error = TextField()
        sync_run = ForeignKeyField(_SyncRun, null=True, on_delete="SET NULL")
        created_at = TextField()
        updated_at = TextField()

        class Meta:
            table_name = table
            legacy_table_names = False
            indexes = ((("tenant_id", "state"), False),)

    return JournalEntry


def _held(table: str) -> type[Model]:
    class HeldOperation(Model):
        op_key = CharField(max_length=128, unique=True)
        tenant_id = CharField(max_length=64)
        operation = TextField()
        reason = TextField()
        status = CharField(max_length=16, constraints=[_one_of("status", HELD_STATUSES)])
        decided_by = CharField(max_length=200)
        decided_at = TextField(null=True)
        created_at = TextField()
        updated_at = TextField()

        class Meta:
            table_name = table
            legacy_table_names = False
            indexes = ((("tenant_id", "status"), False), (("status",), False))

    return HeldOperation


def _columns(operation: str) -> dict[str, Any]:
    """The operation's kind, agreement, marker and quantity; blanks when its text lacks them."""
    try:
        data = json.loads(operation)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        data = {}
    quantity = data.get("quantity")
    return {
        "kind": str(data.get("kind") or ""),
        "agreement_id": str(data.get("agreement_id") or ""),
        "marker": str(data.get("marker") or ""),
        "quantity": quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0,
    }


def _rows(db: Database, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute_sql(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _carry_over(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The version 2 rows, as version 3 journal entries and held operations."""
    entries = _rows(
        db,
        "SELECT id, op_key, state, operation, tenant_id, psa_record_id, attempts, error, sync_run_id, "
        "created_at, updated_at FROM journal_entry ORDER BY id",
    )
    holds = {
        row["entry_id"]: row
        for row in _rows(
            db, "SELECT entry_id, status, reason, decided_by, decided_at, created_at FROM held_operation ORDER BY id"
        )
    }
    journal, held = [], []
    for entry in entries:
        hold = holds.get(entry["id"])
        state = entry["state"]
        if hold is not None:
            status = "applied" if hold["status"] == "approved" and state == "done" else hold["status"]
            held.append(
                {
                    "op_key": entry["op_key"],
                    "tenant_id": entry["tenant_id"],
                    "operation": entry["operation"],
                    "reason": hold["reason"],
                    "status": status,
                    "decided_by": hold["decided_by"],
                    "decided_at": hold["decided_at"],
                    "created_at": hold["created_at"],
                    "updated_at": hold["decided_at"] or hold["created_at"],
                }
            )
        if state in ("held", "pending") and not entry["attempts"]:
            continue  # never sent to the PSA: not a write attempted
        if state == "held":
            state = "unknown"  # begun, then held: the PSA may have it
        journal.append(
            {
                "op_key": entry["op_key"],
                "state": state,
                "operation": entry["operation"],
                "tenant_id": entry["tenant_id"],
                **_columns(entry["operation"]),
                "psa_record_id": entry["psa_record_id"],
                "attempts": entry["attempts"],
                "error": entry["error"],
                "sync_run": entry["sync_run_id"],
                "created_at": entry["created_at"],
                "updated_at": entry["updated_at"],
            }
        )
    return journal, held


def up(db: Database) -> None:
    journal, held = _carry_over(db)
    new_journal, new_held = _journal("journal_entry_v3"), _held("held_operation_v3")
    with db.bind_ctx([_SyncRun, new_journal, new_held]):
        new_journal._schema.create_table(safe=False)
        new_held._schema.create_table(safe=False)
        for start in range(0, len(journal), 200):
            new_journal.insert_many(journal[start : start + 200]).execute()
        for start in range(0, len(held), 200):
            new_held.insert_many(held[start : start + 200]).execute()
    migrator = SchemaMigrator.from_database(db)
    # The child first: with foreign keys on, dropping journal_entry would
    # otherwise delete the held rows that reference it.
    run(
        migrator.drop_table("held_operation"),
        migrator.drop_table("journal_entry"),
        migrator.rename_table("journal_entry_v3", "journal_entry"),
        migrator.rename_table("held_operation_v3", "held_operation"),
    )
    final_journal, final_held = _journal("journal_entry"), _held("held_operation")
    with db.bind_ctx([_SyncRun, final_journal, final_held]):
        final_journal._schema.create_indexes(safe=False)
        final_held._schema.create_indexes(safe=False)
