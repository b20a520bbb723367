"""The sync's records: runs, each tenant's latest outcome and findings, the operation journal, held operations,
the audit log.

The journal makes every PSA write happen exactly once: an operation is
written here (pending) before its API call and settled after, under a
deterministic key (done, failed, unknown; an unknown one is settled later
by reading the PSA: done or not applied). It records writes attempted and
nothing else: operations waiting for a person live in ``held_operation``,
keyed by the same operation keys. The audit log is history: it keeps
identifiers as text, not foreign keys, so removing a tenant or a connection
never rewrites it. None of them ever holds a secret.
"""

from __future__ import annotations

from peewee import SQL, CharField, ForeignKeyField, IntegerField, TextField

from app.models.database import BaseModel, one_of
from app.models.fields import InstantField, MoneyField

RUN_STATUSES = ("running", "succeeded", "partial", "failed", "cancelled")
JOURNAL_STATES = ("pending", "done", "unknown", "failed", "not_applied")  # since 0003
HELD_STATUSES = ("held", "approved", "rejected", "applied", "superseded")  # since 0003
OUTCOMES = ("ok", "failed", "not_synced")  # since 0006


class SyncRun(BaseModel):
    started_at = InstantField()
    finished_at = InstantField(null=True)
    status = CharField(max_length=16, default="running", constraints=[one_of("status", RUN_STATUSES)])
    trigger = CharField(max_length=16, default="manual")  # a RunTrigger: schedule | manual | demo
    scope = CharField(max_length=64, default="")  # '' : all companies, else a PSA company id
    operations_planned = IntegerField(default=0)
    operations_applied = IntegerField(default=0)
    operations_failed = IntegerField(default=0)
    findings = IntegerField(default=0)
    error = TextField(default="")
    # Added by migration 0002.
    tenants_synced = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    tenants_failed = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    operations_held = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])

    class Meta:
        table_name = "sync_run"
        indexes = ((("started_at",), False),)


class TenantSyncOutcome(BaseModel):
    """How each tenant's latest finished run went: one row per tenant, replaced by each run that synced it
    (so the table grows with the tenants, not with the runs). Added by 0006."""

    tenant_id = CharField(max_length=64, unique=True)
    sync_run = ForeignKeyField(SyncRun, null=True, on_delete="SET NULL")
    finished_at = InstantField()
    status = CharField(max_length=16, constraints=[one_of("status", OUTCOMES)])
    writes = IntegerField(default=0)
    error = TextField(default="")

    class Meta:
        table_name = "tenant_sync_outcome"


class TenantFinding(BaseModel):
    """What a tenant's latest sync found (an inactive agreement, another tool's line, ...): one row per finding,
    the tenant's rows replaced by its next sync that learns its findings (it plans), kept through a sync that
    fails before planning or never reaches it. ``kind`` is a FindingKind's value, unchecked: a kind added later
    needs no migration. Added by 0015."""

    tenant_id = CharField(max_length=64)
    sync_run = ForeignKeyField(SyncRun, null=True, on_delete="SET NULL")
    found_at = InstantField()
    kind = CharField(max_length=64)
    sku_id = CharField(max_length=64, default="")
    agreement_id = CharField(max_length=64, default="")
    line_id = CharField(max_length=64, default="")
    message = TextField(default="")

    class Meta:
        table_name = "tenant_finding"
        indexes = ((("tenant_id",), False),)


class JournalEntry(BaseModel):
    """A write attempted on a PSA (shape of migration 0003)."""

    op_key = CharField(max_length=128, unique=True)
    state = CharField(max_length=16, default="pending", constraints=[one_of("state", JOURNAL_STATES)])
    operation = TextField()  # the Operation as canonical JSON (app/models/codec.py)
    tenant_id = CharField(max_length=64, default="")
    # Copied out of the operation so "what did seatsync last write" is a query, not a scan.
    kind = CharField(max_length=32, default="")
    agreement_id = CharField(max_length=64, default="")
    marker = CharField(max_length=128, default="")
    quantity = IntegerField(default=0)
    psa_record_id = CharField(max_length=64, default="")
    attempts = IntegerField(default=0)
    error = TextField(default="")
    sync_run = ForeignKeyField(SyncRun, null=True, backref="journal", on_delete="SET NULL")
    created_at = InstantField()
    updated_at = InstantField()

    class Meta:
        table_name = "journal_entry"
        # 0012 adds (state, tenant_id): every tenant's failed writes without reading the whole journal.
        indexes = ((("tenant_id", "state"), False), (("state", "tenant_id"), False))


class HeldEntry(BaseModel):
    """An operation waiting for a person (approval policy, a change cap, a suspicious drop),
    and what became of it. Keyed by the operation key, apart from the journal (0003)."""

    op_key = CharField(max_length=128, unique=True)
    tenant_id = CharField(max_length=64, default="")
    operation = TextField()  # the Operation as canonical JSON
    reason = TextField(default="")
    status = CharField(max_length=16, default="held", constraints=[one_of("status", HELD_STATUSES)])
    decided_by = CharField(max_length=200, default="")
    decided_at = InstantField(null=True)
    created_at = InstantField()
    updated_at = InstantField()
    adjusted = TextField(null=True)  # approved adjusted: the operation as approved (0016); NULL: as planned

    class Meta:
        table_name = "held_operation"
        indexes = ((("tenant_id", "status"), False), (("status",), False))


class AuditEntry(BaseModel):
    """One write to a PSA, explained."""

    at = InstantField()
    actor = CharField(max_length=200)  # "sync (schedule)", "sync (manual: alice)", "alice"
    tenant_id = CharField(max_length=64, default="")
    company_id = CharField(max_length=64, default="")
    company_name = CharField(max_length=300, default="")
    agreement_id = CharField(max_length=64, default="")
    product_id = CharField(max_length=64, default="")
    action = CharField(max_length=32, default="")  # the operation kind
    before_quantity = IntegerField(null=True)
    after_quantity = IntegerField(null=True)
    before_amount = MoneyField(null=True)
    after_amount = MoneyField(null=True)
    reason = TextField(default="")
    psa_record_id = CharField(max_length=64, default="")
    op_key = CharField(max_length=128, default="")
    # The PSA connection written to (0005): PSA ids repeat across connections. No foreign key: the audit
    # outlives a removed connection. NULL: not known (an entry from before 0005 that could not be placed).
    connection_id = IntegerField(null=True)

    class Meta:
        table_name = "audit_entry"
        indexes = (
            (("at",), False),
            (("company_id", "at"), False),
            (("agreement_id", "at"), False),
            (("product_id", "at"), False),
        )


class SyncLock(BaseModel):
    """Who syncs a tenant right now: one sync per tenant, across every app sharing
    the database. A lock past ``expires_at`` is stale (its holder died). Added by 0002."""

    name = CharField(max_length=128, primary_key=True)  # e.g. "tenant:<GUID>"
    owner = CharField(max_length=200)
    acquired_at = InstantField()
    expires_at = InstantField()

    class Meta:
        table_name = "sync_lock"
