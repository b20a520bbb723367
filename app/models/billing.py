"""What is billed and how: cached PSA agreements and products, billing profiles,
mappings and exclusions.

Agreements and products are a cache of the PSA (for the UI and the plan's
inputs), refreshed from it. PSA identifiers are kept as text whatever the
PSA uses, as in the billing core.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, Check, ForeignKeyField, IntegerField, TextField

from app.models.config import updated_by_field, version_field
from app.models.connections import PsaConnection, Tenant
from app.models.database import BaseModel, one_of
from app.models.fields import DayField, InstantField, JsonField, MoneyField

PRICE_KINDS = ("psa", "fixed", "percent")
BILLING_OPTIONS = ("billable", "non_billable", "no_charge")
BASES = ("assigned", "purchased", "upn_domain", "sum_of_licenses")
FOREIGN_ACTIONS = ("adopt", "cancel", "ignore")


class PsaAgreement(BaseModel):
    """A cached agreement (ConnectWise agreement, Autotask contract, Halo contract)."""

    connection = ForeignKeyField(PsaConnection, backref="agreements", on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    company_psa_id = CharField(max_length=64)
    name = CharField(max_length=300, default="")
    type_name = CharField(max_length=200, default="")
    cycle = CharField(max_length=16, default="monthly")
    anchor = CharField(max_length=16, default="calendar")
    start = DayField()
    prorates = BooleanField(default=True)
    status = CharField(max_length=16, default="active")
    currency = CharField(max_length=3, default="USD")
    fetched_at = InstantField()

    class Meta:
        table_name = "psa_agreement"
        indexes = (
            (("connection", "psa_id"), True),
            (("connection", "company_psa_id"), False),
        )


class PsaProduct(BaseModel):
    """A cached catalog item. Kept (marked inactive) when the PSA drops it, while profiles use it."""

    connection = ForeignKeyField(PsaConnection, backref="products", on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    identifier = CharField(max_length=200, default="")
    description = TextField(default="")
    price = MoneyField(default="0")
    cost = MoneyField(default="0")
    active = BooleanField(default=True)
    fetched_at = InstantField()

    class Meta:
        table_name = "psa_product"
        indexes = ((("connection", "psa_id"), True),)


class BillingProfile(BaseModel):
    """The link to one PSA product, with a price policy, billing option and allowed agreement types."""

    name = CharField(max_length=200)
    product = ForeignKeyField(PsaProduct, backref="profiles", on_delete="RESTRICT")
    price_kind = CharField(max_length=16, default="psa", constraints=[one_of("price_kind", PRICE_KINDS)])
    price_fixed = MoneyField(null=True)
    price_percent = MoneyField(null=True)
    billing_option = CharField(
        max_length=16, default="billable", constraints=[one_of("billing_option", BILLING_OPTIONS)]
    )
    allowed_agreement_types = JsonField(default=list)  # empty: any type
    created_at = InstantField()
    updated_at = InstantField()
    version = version_field()  # added by 0011, with updated_by
    updated_by = updated_by_field()

    class Meta:
        table_name = "billing_profile"


class Mapping(BaseModel):
    """A license row (tenant SKU, optionally one subscription, optionally a user filter)
    billed through a profile on an agreement. One mapping per row."""

    tenant = ForeignKeyField(Tenant, backref="mappings", on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    subscription_id = CharField(max_length=64, default="")  # '' unless the license is split
    filter_field = CharField(max_length=32, default="")  # '' : no user filter
    filter_value = CharField(max_length=300, default="")
    profile = ForeignKeyField(BillingProfile, backref="mappings", on_delete="RESTRICT")
    agreement_psa_id = CharField(max_length=64)
    basis = CharField(max_length=32, default="assigned", constraints=[one_of("basis", BASES)])
    basis_param = TextField(default="")
    usernames_in_description = BooleanField(default=False)
    start_date_override = DayField(null=True)
    negative_proration = BooleanField(default=False)
    included_quantity = IntegerField(default=0, constraints=[Check("included_quantity >= 0")])
    minimum_quantity = IntegerField(default=0, constraints=[Check("minimum_quantity >= 0")])
    description_override = TextField(default="")
    created_at = InstantField()
    updated_at = InstantField()
    version = version_field()  # added by 0011, with updated_by
    updated_by = updated_by_field()

    class Meta:
        table_name = "mapping"
        indexes = ((("tenant", "sku_id", "subscription_id", "filter_field", "filter_value"), True),)


class Exclusion(BaseModel):
    """A license never billed: in one tenant, or in every tenant (``tenant`` NULL)."""

    tenant = ForeignKeyField(Tenant, null=True, backref="exclusions", on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    reason = TextField(default="")
    created_at = InstantField()
    version = version_field()  # added by 0011, with updated_by
    updated_by = updated_by_field()

    class Meta:
        table_name = "exclusion"
        indexes = ((("tenant", "sku_id"), True),)


class IgnoredAccount(BaseModel):
    """A UPN pattern whose accounts' licenses are never billed: in one tenant, or in every tenant (``tenant``
    NULL); stored trimmed and in lower case (app/billing/ignored.py). Added by 0021."""

    tenant = ForeignKeyField(Tenant, null=True, backref="ignored_accounts", on_delete="CASCADE")
    pattern = CharField(max_length=256)
    reason = TextField(default="")
    created_at = InstantField()
    version = version_field()
    updated_by = updated_by_field()

    class Meta:
        table_name = "ignored_account"
        indexes = ((("tenant", "pattern"), True),)


class ForeignLineDecision(BaseModel):
    """What a person decided about a line seatsync does not own on one of a PSA connection's agreements
    (app/billing/foreign.py): adopt, cancel (from ``last_day`` on, its last billed day) or ignore.
    One decision per line; ``reference`` and ``quantity`` are the line as the person saw it. Added by 0013."""

    connection = ForeignKeyField(PsaConnection, backref="foreign_decisions", on_delete="CASCADE")
    line_psa_id = CharField(max_length=64)
    agreement_psa_id = CharField(max_length=64)
    product_psa_id = CharField(max_length=64)
    reference = CharField(max_length=300, default="")
    quantity = IntegerField(default=0)
    action = CharField(max_length=16, constraints=[one_of("action", FOREIGN_ACTIONS)])
    decided_on = DayField()
    last_day = DayField(null=True)
    decided_by = CharField(max_length=200, default="")
    decided_at = InstantField()

    class Meta:
        table_name = "foreign_line_decision"
        indexes = ((("connection", "line_psa_id"), True),)
