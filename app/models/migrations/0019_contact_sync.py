"""Version 19: contact sync.

``contact_sync_setting``: per PSA company, whether its Microsoft 365 users
are kept as its PSA contacts, which users (only licensed ones, without
shared/room/equipment mailbox accounts, only some domains), when a preview
was last shown, and how the last contact sync went. ``contact_match``: which
user seatsync matched to which contact (only those may later be made
inactive). ``contact_write``: the journal of contact writes, by key and
state (pending, done, unknown, failed, not applied), with who wrote what.
Removing the company removes its rows. All start empty. On PostgreSQL the
tables announce their changes like every other one (``notify_on_changes``
of 0010).
"""

from __future__ import annotations

import importlib

from peewee import (
    BooleanField,
    CharField,
    Check,
    Database,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    Node,
    SqliteDatabase,
    TextField,
)

STATES = ("pending", "done", "unknown", "failed", "not_applied")
KINDS = ("create", "update", "inactivate", "reactivate")


class _Instant(Field):
    field_type = "INSTANT"


class _Company(Model):
    class Meta:
        table_name = "psa_company"


def _one_of(column: str, values: tuple[str, ...]) -> Node:
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


class ContactSyncSetting(Model):
    company = ForeignKeyField(_Company, on_delete="CASCADE", unique=True)
    enabled = BooleanField(default=False)
    licensed_only = BooleanField(default=False)
    exclude_shared = BooleanField(default=False)
    domains = TextField(default="[]")
    previewed_at = _Instant(null=True)
    last_run_at = _Instant(null=True)
    last_result = TextField(default="")
    updated_at = _Instant()
    updated_by = CharField(max_length=200, default="")

    class Meta:
        table_name = "contact_sync_setting"
        legacy_table_names = False


class ContactMatch(Model):
    company = ForeignKeyField(_Company, on_delete="CASCADE")
    tenant_id = CharField(max_length=64)
    user_id = CharField(max_length=64)
    contact_id = CharField(max_length=64)
    matched_at = _Instant()

    class Meta:
        table_name = "contact_match"
        legacy_table_names = False
        indexes = ((("company", "user_id"), True),)


class ContactWrite(Model):
    op_key = CharField(max_length=128, unique=True)
    company = ForeignKeyField(_Company, on_delete="CASCADE")
    kind = CharField(max_length=16, constraints=[_one_of("kind", KINDS)])
    state = CharField(max_length=16, default="pending", constraints=[_one_of("state", STATES)])
    tenant_id = CharField(max_length=64, default="")
    user_id = CharField(max_length=64, default="")
    contact_id = CharField(max_length=64, default="")
    email = CharField(max_length=300, default="")
    fields = TextField(default="{}")
    actor = CharField(max_length=200, default="")
    attempts = IntegerField(default=0)
    error = TextField(default="")
    created_at = _Instant()
    updated_at = _Instant()

    class Meta:
        table_name = "contact_write"
        legacy_table_names = False
        indexes = ((("company", "state"), False),)


def up(db: Database) -> None:
    with db.bind_ctx([_Company, ContactSyncSetting, ContactMatch, ContactWrite]):
        db.create_tables([ContactSyncSetting, ContactMatch, ContactWrite])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)

