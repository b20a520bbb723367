"""Version 17: custom licenses.

``custom_license``: a row of a tenant's own, with a name and a count rule
(all enabled member users, licensed users, a UPN domain's users, a group's
members, user or shared mailboxes, a sum of other rows, a fixed number).
Mappings name one by the SKU id ``custom:<custom_id>``. Removing the tenant
removes its custom licenses. Starts empty. On PostgreSQL the table
announces its changes like every other one (``notify_on_changes`` of 0010).
"""

from __future__ import annotations

import importlib

from peewee import (
    SQL,
    CharField,
    Check,
    Database,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

RULES = ("enabled_members", "licensed_users", "upn_domain", "group_members", "user_mailboxes", "shared_mailboxes",
         "sum", "fixed")


class _Instant(Field):
    field_type = "INSTANT"


class _Tenant(Model):
    class Meta:
        table_name = "tenant"


class CustomLicense(Model):
    tenant = ForeignKeyField(_Tenant, on_delete="CASCADE")
    custom_id = CharField(max_length=32, unique=True)
    name = CharField(max_length=200)
    rule = CharField(max_length=32, constraints=[Check(f"rule IN ({', '.join(repr(r) for r in RULES)})")])
    param = CharField(max_length=300, default="")
    group_name = CharField(max_length=300, default="")
    terms = TextField(default="[]")
    created_at = _Instant()
    version = IntegerField(default=1, constraints=[SQL("DEFAULT 1")])
    updated_by = CharField(max_length=200, default="", constraints=[SQL("DEFAULT ''")])

    class Meta:
        table_name = "custom_license"
        legacy_table_names = False


def up(db: Database) -> None:
    with db.bind_ctx([_Tenant, CustomLicense]):
        db.create_tables([CustomLicense])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
