"""Version 14: mapping rules, and which mappings a rule made.

- ``mapping_rule``: a SKU (optionally of one term and billing cycle) billed
  through a billing profile on each company's agreement of a type, or whose
  name matches a pattern, with a mapping's options. Starts empty.
- ``rule_mapping``: the mappings a rule made, each at the mapping's version
  when the rule wrote it (a save by hand raises the version: the mapping is
  the person's from then on). Starts empty.
- On PostgreSQL both tables announce their changes like every other one
  (``notify_on_changes`` of migration 0010).
"""

from __future__ import annotations

import importlib

from peewee import (
    SQL,
    BooleanField,
    CharField,
    Check,
    Database,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    SqliteDatabase,
    TextField,
)

TERMS = ("", "P1M", "P1Y", "P3Y")
CYCLES = ("", "monthly", "annual")
BASES = ("assigned", "purchased")


class _Instant(Field):
    field_type = "INSTANT"


def _one_of(column: str, values: tuple[str, ...]) -> SQL | NodeList:
    return Check(f"{column} IN ({', '.join(repr(v) for v in values)})")


class _Table(Model):
    class Meta:
        legacy_table_names = False


class BillingProfile(_Table):
    class Meta:
        table_name = "billing_profile"


class Mapping(_Table):
    class Meta:
        table_name = "mapping"


class MappingRule(_Table):
    sku_id = CharField(max_length=64)
    term = CharField(max_length=8, default="", constraints=[_one_of("term", TERMS)])
    billing_cycle = CharField(max_length=16, default="", constraints=[_one_of("billing_cycle", CYCLES)])
    profile = ForeignKeyField(BillingProfile, on_delete="RESTRICT")
    agreement_type = CharField(max_length=200, default="")
    agreement_name = CharField(max_length=300, default="")
    basis = CharField(max_length=32, default="assigned", constraints=[_one_of("basis", BASES)])
    included_quantity = IntegerField(default=0, constraints=[Check("included_quantity >= 0")])
    minimum_quantity = IntegerField(default=0, constraints=[Check("minimum_quantity >= 0")])
    negative_proration = BooleanField(default=False)
    usernames_in_description = BooleanField(default=False)
    description_override = TextField(default="")
    created_at = _Instant()
    version = IntegerField(default=1, constraints=[SQL("DEFAULT 1")])
    updated_by = CharField(max_length=200, default="", constraints=[SQL("DEFAULT ''")])

    class Meta:
        table_name = "mapping_rule"


class RuleMapping(_Table):
    mapping = ForeignKeyField(Mapping, on_delete="CASCADE", unique=True)
    rule = ForeignKeyField(MappingRule, null=True, on_delete="SET NULL")
    mapping_version = IntegerField()

    class Meta:
        table_name = "rule_mapping"


def up(db: Database) -> None:
    with db.bind_ctx([MappingRule, RuleMapping]):
        db.create_tables([MappingRule, RuleMapping])
    if not isinstance(db, SqliteDatabase):
        importlib.import_module("app.models.migrations.0010_runner_status_and_change_notices").notify_on_changes(db)
