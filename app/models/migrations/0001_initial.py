"""The initial schema (version 1), as frozen model declarations.

Money, instants, days and JSON are TEXT columns (see app/models/fields.py);
plain peewee fields here keep this file independent of the app's code.
"""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    Check,
    Database,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def _one_of(column: str, *values: str):
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


class _V1(Model):
    class Meta:
        legacy_table_names = False


class PsaConnection(_V1):
    kind = CharField(max_length=16, constraints=[_one_of("kind", "connectwise", "autotask", "halopsa")])
    name = CharField(max_length=200)
    settings = TextField()
    created_at = TextField()

    class Meta:
        table_name = "psa_connection"


class MicrosoftConnection(_V1):
    name = CharField(max_length=200)
    partner_tenant_id = CharField(max_length=64)
    client_id = CharField(max_length=64)
    authority_url = TextField()
    graph_url = TextField()
    partner_center_url = TextField()
    created_at = TextField()

    class Meta:
        table_name = "microsoft_connection"


class PsaCompany(_V1):
    connection = ForeignKeyField(PsaConnection, on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    name = CharField(max_length=300)
    identifier = CharField(max_length=100)
    domains = TextField()
    active = BooleanField()

    class Meta:
        table_name = "psa_company"
        indexes = ((("connection", "psa_id"), True),)


class Tenant(_V1):
    tenant_id = CharField(max_length=64, unique=True)
    name = CharField(max_length=300)
    default_domain = CharField(max_length=300)
    verified_domains = TextField()
    consent_status = CharField(
        max_length=16,
        constraints=[_one_of("consent_status", "unknown", "granted", "missing", "expired", "revoked")],
    )
    partner = ForeignKeyField(MicrosoftConnection, null=True, on_delete="SET NULL")
    added_at = TextField()

    class Meta:
        table_name = "tenant"


class TenantCompany(_V1):
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
    company = ForeignKeyField(PsaCompany, on_delete="CASCADE")
    filter_field = CharField(max_length=32)
    filter_value = CharField(max_length=300)
    created_at = TextField()

    class Meta:
        table_name = "tenant_company"
        indexes = ((("tenant", "company", "filter_field", "filter_value"), True),)


class PsaAgreement(_V1):
    connection = ForeignKeyField(PsaConnection, on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    company_psa_id = CharField(max_length=64)
    name = CharField(max_length=300)
    type_name = CharField(max_length=200)
    cycle = CharField(max_length=16)
    anchor = CharField(max_length=16)
    start = TextField()
    prorates = BooleanField()
    status = CharField(max_length=16)
    currency = CharField(max_length=3)
    fetched_at = TextField()

    class Meta:
        table_name = "psa_agreement"
        indexes = ((("connection", "psa_id"), True), (("connection", "company_psa_id"), False))


class PsaProduct(_V1):
    connection = ForeignKeyField(PsaConnection, on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    identifier = CharField(max_length=200)
    description = TextField()
    price = TextField()
    cost = TextField()
    active = BooleanField()
    fetched_at = TextField()

    class Meta:
        table_name = "psa_product"
        indexes = ((("connection", "psa_id"), True),)


class BillingProfile(_V1):
    name = CharField(max_length=200)
    product = ForeignKeyField(PsaProduct, on_delete="RESTRICT")
    price_kind = CharField(max_length=16, constraints=[_one_of("price_kind", "psa", "fixed", "percent")])
    price_fixed = TextField(null=True)
    price_percent = TextField(null=True)
    billing_option = CharField(
        max_length=16, constraints=[_one_of("billing_option", "billable", "non_billable", "no_charge")]
    )
    allowed_agreement_types = TextField()
    created_at = TextField()
    updated_at = TextField()

    class Meta:
        table_name = "billing_profile"


class Mapping(_V1):
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    subscription_id = CharField(max_length=64)
    filter_field = CharField(max_length=32)
    filter_value = CharField(max_length=300)
    profile = ForeignKeyField(BillingProfile, on_delete="RESTRICT")
    agreement_psa_id = CharField(max_length=64)
    basis = CharField(
        max_length=32, constraints=[_one_of("basis", "assigned", "purchased", "upn_domain", "sum_of_licenses")]
    )
    basis_param = TextField()
    usernames_in_description = BooleanField()
    start_date_override = TextField(null=True)
    negative_proration = BooleanField()
    included_quantity = IntegerField(constraints=[Check("included_quantity >= 0")])
    minimum_quantity = IntegerField(constraints=[Check("minimum_quantity >= 0")])
    description_override = TextField()
    created_at = TextField()
    updated_at = TextField()

    class Meta:
        table_name = "mapping"
        indexes = ((("tenant", "sku_id", "subscription_id", "filter_field", "filter_value"), True),)


class Exclusion(_V1):
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    reason = TextField()
    created_at = TextField()

    class Meta:
        table_name = "exclusion"
        indexes = ((("tenant", "sku_id"), True),)


class InventorySnapshot(_V1):
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
    name = CharField(max_length=300)
    fetched_at = TextField()

    class Meta:
        table_name = "inventory_snapshot"
        indexes = ((("tenant", "fetched_at"), False),)


class SnapshotLicense(_V1):
    snapshot = ForeignKeyField(InventorySnapshot, on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    part_number = CharField(max_length=200)
    name = CharField(max_length=300)
    enabled = IntegerField()
    warning = IntegerField()
    suspended = IntegerField()
    locked_out = IntegerField()
    consumed = IntegerField()

    class Meta:
        table_name = "snapshot_license"
        indexes = ((("snapshot", "sku_id"), True),)


class SnapshotSubscription(_V1):
    license = ForeignKeyField(SnapshotLicense, on_delete="CASCADE")
    subscription_id = CharField(max_length=64)
    sku_id = CharField(max_length=64)
    offer_name = CharField(max_length=300)
    quantity = IntegerField()
    term = CharField(max_length=8)
    billing_cycle = CharField(max_length=16)
    status = CharField(max_length=32)
    commitment_end = TextField(null=True)
    cancellation_allowed_until = TextField(null=True)
    auto_renew = BooleanField()
    is_trial = BooleanField()

    class Meta:
        table_name = "snapshot_subscription"
        indexes = ((("license", "subscription_id"), True),)


class SyncRun(_V1):
    started_at = TextField()
    finished_at = TextField(null=True)
    status = CharField(
        max_length=16, constraints=[_one_of("status", "running", "succeeded", "partial", "failed", "cancelled")]
    )
    trigger = CharField(max_length=16)
    scope = CharField(max_length=64)
    operations_planned = IntegerField()
    operations_applied = IntegerField()
    operations_failed = IntegerField()
    findings = IntegerField()
    error = TextField()

    class Meta:
        table_name = "sync_run"
        indexes = ((("started_at",), False),)


class JournalEntry(_V1):
    op_key = CharField(max_length=128, unique=True)
    state = CharField(max_length=16, constraints=[_one_of("state", "pending", "done", "failed", "held")])
    operation = TextField()
    tenant_id = CharField(max_length=64)
    psa_record_id = CharField(max_length=64)
    attempts = IntegerField()
    error = TextField()
    sync_run = ForeignKeyField(SyncRun, null=True, on_delete="SET NULL")
    created_at = TextField()
    updated_at = TextField()

    class Meta:
        table_name = "journal_entry"
        indexes = ((("state",), False), (("tenant_id",), False))


class HeldOperation(_V1):
    entry = ForeignKeyField(JournalEntry, unique=True, on_delete="CASCADE")
    status = CharField(max_length=16, constraints=[_one_of("status", "held", "approved", "rejected")])
    reason = TextField()
    decided_by = CharField(max_length=200)
    decided_at = TextField(null=True)
    created_at = TextField()

    class Meta:
        table_name = "held_operation"
        indexes = ((("status",), False),)


class AuditEntry(_V1):
    at = TextField()
    actor = CharField(max_length=200)
    tenant_id = CharField(max_length=64)
    company_id = CharField(max_length=64)
    company_name = CharField(max_length=300)
    agreement_id = CharField(max_length=64)
    product_id = CharField(max_length=64)
    action = CharField(max_length=32)
    before_quantity = IntegerField(null=True)
    after_quantity = IntegerField(null=True)
    before_amount = TextField(null=True)
    after_amount = TextField(null=True)
    reason = TextField()
    psa_record_id = CharField(max_length=64)
    op_key = CharField(max_length=128)

    class Meta:
        table_name = "audit_entry"
        indexes = (
            (("at",), False),
            (("company_id", "at"), False),
            (("agreement_id", "at"), False),
            (("product_id", "at"), False),
        )


class Setting(_V1):
    key = CharField(max_length=200, primary_key=True)
    value = TextField()
    updated_at = TextField()

    class Meta:
        table_name = "setting"


#: Every table of version 1, parents before children.
MODELS = (
    PsaConnection,
    MicrosoftConnection,
    PsaCompany,
    Tenant,
    TenantCompany,
    PsaAgreement,
    PsaProduct,
    BillingProfile,
    Mapping,
    Exclusion,
    InventorySnapshot,
    SnapshotLicense,
    SnapshotSubscription,
    SyncRun,
    JournalEntry,
    HeldOperation,
    AuditEntry,
    Setting,
)


def up(db: Database) -> None:
    with db.bind_ctx(MODELS):
        db.create_tables(MODELS)
