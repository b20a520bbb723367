"""Custom licenses (added by migration 0017): rows of a tenant's own, counted by a rule from its users, groups
and mailboxes (app/billing/custom.py). A mapping names one by its SKU id ``custom:<custom_id>``."""

from __future__ import annotations

from peewee import CharField, ForeignKeyField

from app.billing.custom import CountRule
from app.models.config import updated_by_field, version_field
from app.models.connections import Tenant
from app.models.database import BaseModel, one_of
from app.models.fields import InstantField, JsonField

RULES = tuple(rule.value for rule in CountRule)


class CustomLicense(BaseModel):
    """``terms``: for a sum, ``[[+1 or -1, sku id], ...]``; ``param``: the rule's domain, group id or number;
    ``group_name``: the group's name when it was chosen, shown beside the row."""

    tenant = ForeignKeyField(Tenant, backref="custom_licenses", on_delete="CASCADE")
    custom_id = CharField(max_length=32, unique=True)
    name = CharField(max_length=200)
    rule = CharField(max_length=32, constraints=[one_of("rule", RULES)])
    param = CharField(max_length=300, default="")
    group_name = CharField(max_length=300, default="")
    terms = JsonField(default=list)
    created_at = InstantField()
    version = version_field()
    updated_by = updated_by_field()

    class Meta:
        table_name = "custom_license"
