"""The contact sync's records (added by migration 0019): each company's settings, which Microsoft 365 user
seatsync matched to which PSA contact, and the journal of its contact writes (docs/contacts.md).

The journal makes each contact write happen once: a write is recorded
(pending) before its request and settled after (done, failed, or unknown
when its answer was lost); an unknown write is settled by reading the
company's contacts back before anything is sent again. It also says who
wrote what and when, beside the audit log's entry of each write done.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from app.models.connections import Company
from app.models.database import BaseModel, one_of
from app.models.fields import InstantField, JsonField

CONTACT_WRITE_STATES = ("pending", "done", "unknown", "failed", "not_applied")
CONTACT_WRITE_KINDS = ("create", "update", "inactivate", "reactivate")


class ContactSyncSetting(BaseModel):
    """A company's contact sync: on or off, which users, when a person last saw a preview, and how the last
    sync of its contacts went (in words)."""

    company = ForeignKeyField(Company, backref="contact_sync", on_delete="CASCADE", unique=True)
    enabled = BooleanField(default=False)
    licensed_only = BooleanField(default=False)
    exclude_shared = BooleanField(default=False)
    domains = JsonField(default=list)
    previewed_at = InstantField(null=True)
    last_run_at = InstantField(null=True)
    last_result = TextField(default="")
    updated_at = InstantField()
    updated_by = CharField(max_length=200, default="")

    class Meta:
        table_name = "contact_sync_setting"


class ContactMatch(BaseModel):
    """A Microsoft 365 user seatsync matched to (or created) a PSA contact of the company: the contacts it may
    later make inactive."""

    company = ForeignKeyField(Company, backref="contact_matches", on_delete="CASCADE")
    tenant_id = CharField(max_length=64)
    user_id = CharField(max_length=64)
    contact_id = CharField(max_length=64)
    matched_at = InstantField()

    class Meta:
        table_name = "contact_match"
        indexes = ((("company", "user_id"), True),)


class ContactWrite(BaseModel):
    """One contact write, by its key (app/services/contacts/plan.py ``op_key``)."""

    op_key = CharField(max_length=128, unique=True)
    company = ForeignKeyField(Company, backref="contact_writes", on_delete="CASCADE")
    kind = CharField(max_length=16, constraints=[one_of("kind", CONTACT_WRITE_KINDS)])
    state = CharField(max_length=16, default="pending", constraints=[one_of("state", CONTACT_WRITE_STATES)])
    tenant_id = CharField(max_length=64, default="")
    user_id = CharField(max_length=64, default="")
    contact_id = CharField(max_length=64, default="")
    email = CharField(max_length=300, default="")  # a create's address: how a lost answer is settled
    fields = JsonField(default=dict)  # the fields written, by port name
    actor = CharField(max_length=200, default="")
    attempts = IntegerField(default=0)
    error = TextField(default="")
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        table_name = "contact_write"
        indexes = ((("company", "state"), False),)
