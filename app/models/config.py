"""Who changed seatsync's configuration, and how: one row per change of a mapping, billing profile,
exclusion or setting (added by migration 0011).

Written in the same transaction as the change itself (app/models/repositories/versions.py), so a change
is never saved unaudited nor audited unsaved. Like the audit log of PSA writes it keeps identifiers as
text, not foreign keys: removing a tenant or a profile never rewrites the history of it.
"""

from __future__ import annotations

from peewee import SQL, CharField, IntegerField

from app.models.database import BaseModel, one_of
from app.models.fields import InstantField, JsonField

KINDS = ("mapping", "profile", "exclusion", "setting")
ACTIONS = ("created", "changed", "removed")


def version_field() -> IntegerField:
    """Which edit of a configuration row this is (1 for a new row), raised by every save: an editor that
    started from an older one is refused (app/models/repositories/versions.py). Added by 0011."""
    return IntegerField(default=1, constraints=[SQL("DEFAULT 1")])


def updated_by_field() -> CharField:
    """Who saved a configuration row last ('' when not known: rows from before 0011, or saved by the sync)."""
    return CharField(max_length=200, default="", constraints=[SQL("DEFAULT ''")])


class ConfigChange(BaseModel):
    """One configuration change: who (the technician, and the database user on PostgreSQL), what
    (``kind`` and ``key``), and the row before and after (JSON; money as text; NULL when there was none)."""

    at = InstantField()
    actor = CharField(max_length=200)
    db_user = CharField(max_length=200, default="")  # '' on SQLite: one person's file has no database users
    kind = CharField(max_length=32)  # one of KINDS
    key = CharField(max_length=300)  # which row of its kind (see versions.py for each kind's key)
    action = CharField(max_length=16, constraints=[one_of("action", ACTIONS)])
    before = JsonField(null=True)
    after = JsonField(null=True)

    class Meta:
        table_name = "config_change"
        indexes = ((("at",), False), (("kind", "key"), False))
