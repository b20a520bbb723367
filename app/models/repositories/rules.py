"""Mapping rules, and the marks of the mappings a rule made.

Adding or removing a rule is audited in ``config_change`` (kind ``rule``) in
the same transaction. A mapping a rule made is saved by ``Mappings.save``
(audited there, like any mapping) and marked here at its version then; a
save by hand raises the version, so ``mapped_by_rule`` no longer names it.
"""

from __future__ import annotations

from typing import Any

from app.billing import types as core
from app.models.billing import Mapping
from app.models.connections import Tenant
from app.models.records import MappingRuleRecord, RecordNotFound
from app.models.repositories._base import Repository
from app.models.repositories.catalog import profile_row, profile_to_core
from app.models.repositories.mappings import _row_of, mapping_key
from app.models.repositories.versions import record_change
from app.models.rules import MappingRule, RuleMapping

KIND = "rule"


def _record(row: MappingRule) -> MappingRuleRecord:
    return MappingRuleRecord(
        id=row.id, sku_id=row.sku_id, profile=profile_to_core(row.profile), term=core.Term(row.term) if row.term
        else None, cycle=core.Cycle(row.billing_cycle) if row.billing_cycle else None,
        agreement_type=row.agreement_type, agreement_name=row.agreement_name, basis=core.QuantityBasis(row.basis),
        included_quantity=row.included_quantity, minimum_quantity=row.minimum_quantity,
        negative_proration=row.negative_proration, usernames_in_description=row.usernames_in_description,
        description_override=row.description_override, created_at=row.created_at, updated_by=row.updated_by)


def rule_doc(rule: MappingRuleRecord) -> dict[str, Any]:
    """A rule as the configuration history keeps it (JSON: its profile by id and name)."""
    return {"sku_id": rule.sku_id, "term": rule.term.value if rule.term else "",
            "billing_cycle": rule.cycle.value if rule.cycle else "", "profile_id": rule.profile.id,
            "profile": rule.profile.name, "agreement_type": rule.agreement_type,
            "agreement_name": rule.agreement_name, "basis": rule.basis.value,
            "included_quantity": rule.included_quantity, "minimum_quantity": rule.minimum_quantity,
            "negative_proration": rule.negative_proration, "usernames_in_description": rule.usernames_in_description,
            "description_override": rule.description_override}


class Rules(Repository):
    def all(self) -> list[MappingRuleRecord]:
        """Every rule, oldest first."""
        return [_record(row) for row in MappingRule.select().order_by(MappingRule.id)]

    def get(self, rule_id: int) -> MappingRuleRecord:
        row = MappingRule.get_or_none(MappingRule.id == rule_id)
        if row is None:
            raise RecordNotFound(f"(no mapping rule {rule_id})")
        return _record(row)

    def add(self, rule: MappingRuleRecord, *, actor: str = "") -> MappingRuleRecord:
        """Store the rule (its profile must be saved) and audit it; the stored rule, with its id."""
        profile = profile_row(rule.profile.id)
        with self.atomic():
            now = self._now()
            row = MappingRule.create(
                sku_id=rule.sku_id, term=rule.term.value if rule.term else "",
                billing_cycle=rule.cycle.value if rule.cycle else "", profile=profile,
                agreement_type=rule.agreement_type, agreement_name=rule.agreement_name, basis=rule.basis.value,
                included_quantity=rule.included_quantity, minimum_quantity=rule.minimum_quantity,
                negative_proration=rule.negative_proration, usernames_in_description=rule.usernames_in_description,
                description_override=rule.description_override, created_at=now, version=1, updated_by=actor)
            stored = _record(row)
            record_change(kind=KIND, key=str(row.id), action="created", before=None, after=rule_doc(stored),
                          actor=actor, at=now)
        return stored

    def remove(self, rule_id: int, *, actor: str = "") -> bool:
        """Remove the rule (False: there was none). The mappings it made stay, no longer marked as its."""
        with self.atomic():
            row = MappingRule.get_or_none(MappingRule.id == rule_id)
            if row is None:
                return False
            before = rule_doc(_record(row))
            row.delete_instance()
            record_change(kind=KIND, key=str(rule_id), action="removed", before=before, after=None, actor=actor,
                          at=self._now())
        return True

    def mark(self, row: core.RowKey, rule_id: int) -> None:
        """The row's mapping, as saved now, was made by the rule."""
        mapping = _mapping_row(row)
        RuleMapping.delete().where(RuleMapping.mapping == mapping.id).execute()
        RuleMapping.create(mapping=mapping, rule=rule_id, mapping_version=mapping.version)

    def mapped_by_rule(self, tenant_ids: list[str] | None = None) -> dict[str, int | None]:
        """The rows whose mapping a rule made and nobody has saved since (``mapping_key`` of each row ->
        the rule's id, None when the rule was removed), of ``tenant_ids`` or every tenant."""
        query = (RuleMapping.select(Tenant.tenant_id, Mapping.sku_id, Mapping.subscription_id, Mapping.filter_field,
                                    Mapping.filter_value, RuleMapping.rule)
                 .join(Mapping).join(Tenant).where(Mapping.version == RuleMapping.mapping_version))
        if tenant_ids is not None:
            query = query.where(Tenant.tenant_id.in_(tenant_ids))
        found: dict[str, int | None] = {}
        for tenant_id, sku_id, subscription_id, field, value, rule_id in query.tuples():
            user_filter = core.UserFilter(field=core.FilterField(field), value=value) if field else None
            key = core.RowKey(tenant_id=tenant_id, sku_id=sku_id, subscription_id=subscription_id,
                              filter_key=user_filter.key if user_filter else "")
            found[mapping_key(key)] = rule_id
        return found


def _mapping_row(key: core.RowKey) -> Mapping:
    row = _row_of(key)
    if row is None:
        raise RecordNotFound(f"(no mapping of {key.tenant_id} / {key.sku_id})")
    return row
