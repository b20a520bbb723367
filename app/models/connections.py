"""Who seatsync talks to, and the customers it knows: connections, companies, tenants.

Only non-secret settings are stored here; every credential is in the OS
keyring (app/services/secrets.py).
"""

from __future__ import annotations

from peewee import SQL, BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from app.models.database import BaseModel, one_of
from app.models.fields import DayField, InstantField, JsonField

CONSENT_STATUSES = ("unknown", "granted", "missing", "expired", "revoked")
#: A partner connection's Partner Center account: a direct-bill CSP's, or an indirect reseller's (added by 0020).
PARTNER_KINDS = ("direct", "indirect_reseller")


class PsaConnection(BaseModel):
    """A PSA account: its kind (a key of the PSA registry, app/services/psa/factory.py, which checks it),
    display name and non-secret settings.

    ``settings`` holds the non-secret fields of its kind's registry entry,
    e.g. {"site": ..., "company_id": ..., "client_id": ...}.
    """

    kind = CharField(max_length=16)
    name = CharField(max_length=200)
    settings = JsonField(default=dict)
    created_at = InstantField()

    class Meta:
        table_name = "psa_connection"


class MicrosoftConnection(BaseModel):
    """A partner account's Microsoft app (its client secret is in the keyring); one per partner tenant."""

    name = CharField(max_length=200)
    partner_tenant_id = CharField(max_length=64)
    client_id = CharField(max_length=64)
    authority_url = TextField()
    graph_url = TextField()
    partner_center_url = TextField()
    created_at = InstantField()
    #: A ``PARTNER_KINDS`` value (added by 0020).
    kind = CharField(max_length=24, default="direct", constraints=[SQL("DEFAULT 'direct'")])

    class Meta:
        table_name = "microsoft_connection"


class Company(BaseModel):
    """A PSA company (ConnectWise company, Autotask company, Halo client), and what the Companies list shows
    of it beside: its tenants' licenses, unmapped licenses, unpriced lines and monthly amount, kept by every
    write that changes them (app/models/repositories/summaries.py; added by 0012)."""

    connection = ForeignKeyField(PsaConnection, backref="companies", on_delete="CASCADE")
    psa_id = CharField(max_length=64)
    name = CharField(max_length=300)
    identifier = CharField(max_length=100, default="")
    domains = JsonField(default=list)
    active = BooleanField(default=True)
    list_licenses = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    list_unmapped = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    list_unpriced = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])
    #: Per currency, largest first, as JSON ``[["USD", "123.45"], ...]``; NULL: not worked out yet.
    list_monthly = TextField(null=True)

    class Meta:
        table_name = "psa_company"
        indexes = ((("connection", "psa_id"), True),)


class Tenant(BaseModel):
    """A customer's Microsoft 365 tenant, added from Partner Center."""

    tenant_id = CharField(max_length=64, unique=True)  # the directory's GUID
    name = CharField(max_length=300)
    default_domain = CharField(max_length=300, default="")
    verified_domains = JsonField(default=list)
    consent_status = CharField(
        max_length=16, default="unknown", constraints=[one_of("consent_status", CONSENT_STATUSES)]
    )
    #: The partner connection whose Partner Center lists it; NULL only for a tenant added before 0020 while
    #: several connections existed (it is read through the only connection there is, else refused).
    partner = ForeignKeyField(MicrosoftConnection, null=True, backref="tenants", on_delete="SET NULL")
    added_at = InstantField()
    #: GDAP as the partner's relationships last showed it (added by 0018): a ``GdapState`` name, the day the
    #: active relationship ends, the check's words; NULL until checked.
    gdap_state = CharField(max_length=32, null=True)
    gdap_ends = DayField(null=True)
    gdap_detail = TextField(null=True)
    access_checked_at = InstantField(null=True)

    class Meta:
        table_name = "tenant"


class TenantCompany(BaseModel):
    """A tenant billed to a PSA company, wholly or for the users a filter selects.

    ``filter_field`` is '' for the whole tenant, else a FilterField value
    (office, department, city, state, upn_domain, group).
    """

    tenant = ForeignKeyField(Tenant, backref="company_links", on_delete="CASCADE")
    company = ForeignKeyField(Company, backref="tenant_links", on_delete="CASCADE")
    filter_field = CharField(max_length=32, default="")
    filter_value = CharField(max_length=300, default="")
    created_at = InstantField()

    class Meta:
        table_name = "tenant_company"
        indexes = ((("tenant", "company", "filter_field", "filter_value"), True),)
