"""Mapping rules: a SKU billed through a billing profile on each company's agreement of a type or name
(added by migration 0014), and which mappings a rule made.

A rule names the agreement by its type or by a case-insensitive glob of its name, never by id: it applies to
every linked company, each with agreements of its own (app/services/customers/rules.py chooses them).
"""

from __future__ import annotations

from peewee import BooleanField, CharField, Check, ForeignKeyField, IntegerField, TextField

from app.models.billing import BillingProfile, Mapping
from app.models.config import updated_by_field, version_field
from app.models.database import BaseModel, one_of
from app.models.fields import InstantField

TERMS = ("", "P1M", "P1Y", "P3Y")  # '' : any term
CYCLES = ("", "monthly", "annual")  # '' : any billing cycle
RULE_BASES = ("assigned", "purchased")


class MappingRule(BaseModel):
    """This SKU (of this term and billing cycle, when set) bills through ``profile`` on the company's
    agreement of ``agreement_type`` or whose name matches ``agreement_name`` (one of the two is set)."""

    sku_id = CharField(max_length=64)
    term = CharField(max_length=8, default="", constraints=[one_of("term", TERMS)])
    billing_cycle = CharField(max_length=16, default="", constraints=[one_of("billing_cycle", CYCLES)])
    profile = ForeignKeyField(BillingProfile, backref="rules", on_delete="RESTRICT")
    agreement_type = CharField(max_length=200, default="")
    agreement_name = CharField(max_length=300, default="")
    basis = CharField(max_length=32, default="assigned", constraints=[one_of("basis", RULE_BASES)])
    included_quantity = IntegerField(default=0, constraints=[Check("included_quantity >= 0")])
    minimum_quantity = IntegerField(default=0, constraints=[Check("minimum_quantity >= 0")])
    negative_proration = BooleanField(default=False)
    usernames_in_description = BooleanField(default=False)
    description_override = TextField(default="")
    created_at = InstantField()
    version = version_field()
    updated_by = updated_by_field()

    class Meta:
        table_name = "mapping_rule"


class RuleMapping(BaseModel):
    """A mapping a rule made, at the mapping's version then: a later save by hand raises the version, and
    the mapping is the person's from then on."""

    mapping = ForeignKeyField(Mapping, backref="rule_marks", on_delete="CASCADE", unique=True)
    rule = ForeignKeyField(MappingRule, null=True, backref="marks", on_delete="SET NULL")
    mapping_version = IntegerField()

    class Meta:
        table_name = "rule_mapping"
