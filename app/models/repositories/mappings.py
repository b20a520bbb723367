"""Mappings (a license row billed through a profile on an agreement) and exclusions.

Converts to and from the billing core's Mapping and Exclusion. One mapping
per row: (tenant, SKU, subscription when split, user filter when narrowed).
"""

from __future__ import annotations

from peewee import JOIN, fn

from app.billing import types as core
from app.models.billing import BillingProfile, Exclusion, Mapping, PsaProduct
from app.models.connections import Tenant
from app.models.repositories._base import Repository
from app.models.repositories.catalog import profile_row, profile_to_core
from app.models.repositories.customers import tenant_row


def _filter(user_filter: core.UserFilter | None) -> tuple[str, str]:
    return (user_filter.field.value, user_filter.value) if user_filter else ("", "")


#: A mapping's columns, read as plain tuples: building a model object per row (with its tenant, profile and
#: product joined) is what made reading 40,000 mappings take seconds.
_COLUMNS = (Tenant.tenant_id, Mapping.sku_id, Mapping.profile, Mapping.agreement_psa_id, Mapping.subscription_id,
            Mapping.filter_field, Mapping.filter_value, Mapping.basis, Mapping.basis_param,
            Mapping.usernames_in_description, Mapping.start_date_override, Mapping.negative_proration,
            Mapping.included_quantity, Mapping.minimum_quantity, Mapping.description_override)
_ORDER = (Tenant.name, Mapping.sku_id, Mapping.subscription_id, Mapping.filter_field, Mapping.filter_value)


def _mappings(where=None) -> list[core.Mapping]:
    """The mappings (all, or those ``where`` selects) in the list's order; each profile is read once."""
    query = Mapping.select(*_COLUMNS).join(Tenant).order_by(*_ORDER)
    rows = list((query if where is None else query.where(where)).tuples())
    if not rows:
        return []
    profiles = {row.id: profile_to_core(row)
                for row in BillingProfile.select(BillingProfile, PsaProduct).join(PsaProduct)}
    return [core.Mapping(
        tenant_id=tenant_id, sku_id=sku_id, profile=profiles[profile_id], agreement_id=agreement_id,
        subscription_id=subscription_id,
        user_filter=core.UserFilter(field=core.FilterField(field), value=value) if field else None,
        basis=core.QuantityBasis(basis), basis_param=basis_param, usernames_in_description=usernames,
        start_date_override=start_override, negative_proration=negative, included_quantity=included,
        minimum_quantity=minimum, description_override=description)
        for (tenant_id, sku_id, profile_id, agreement_id, subscription_id, field, value, basis, basis_param, usernames,
             start_override, negative, included, minimum, description) in rows]


def _row_of(key: core.RowKey) -> Mapping | None:
    candidates = (
        Mapping.select()
        .join(Tenant)
        .where(
            (Tenant.tenant_id == key.tenant_id)
            & (Mapping.sku_id == key.sku_id)
            & (Mapping.subscription_id == key.subscription_id)
        )
    )
    for row in candidates:
        field, value = row.filter_field, row.filter_value
        filter_key = core.UserFilter(field=core.FilterField(field), value=value).key if field else ""
        if filter_key == key.filter_key:
            return row
    return None


class Mappings(Repository):
    def save(self, mapping: core.Mapping) -> core.Mapping:
        """Create or replace the mapping of ``mapping.row``; its profile must be saved."""
        tenant = tenant_row(mapping.tenant_id)
        profile = profile_row(mapping.profile.id)
        field, value = _filter(mapping.user_filter)
        with self.atomic():
            row = _row_of(mapping.row) or Mapping(created_at=self._now())
            row.tenant = tenant
            row.sku_id = mapping.sku_id
            row.subscription_id = mapping.subscription_id
            row.filter_field = field
            row.filter_value = value
            row.profile = profile
            row.agreement_psa_id = mapping.agreement_id
            row.basis = mapping.basis.value
            row.basis_param = mapping.basis_param
            row.usernames_in_description = mapping.usernames_in_description
            row.start_date_override = mapping.start_date_override
            row.negative_proration = mapping.negative_proration
            row.included_quantity = mapping.included_quantity
            row.minimum_quantity = mapping.minimum_quantity
            row.description_override = mapping.description_override
            row.updated_at = self._now()
            row.save()
        result = self.get(mapping.row)
        assert result is not None
        return result

    def get(self, key: core.RowKey) -> core.Mapping | None:
        row = _row_of(key)
        return None if row is None else _mappings(Mapping.id == row.id)[0]

    def for_tenant(self, tenant_id: str) -> list[core.Mapping]:
        return _mappings(Tenant.tenant_id == tenant_id)

    def for_agreement(self, agreement_psa_id: str) -> list[core.Mapping]:
        return _mappings(Mapping.agreement_psa_id == agreement_psa_id)

    def all(self) -> list[core.Mapping]:
        return _mappings()

    def delete(self, key: core.RowKey) -> bool:
        row = _row_of(key)
        if row is None:
            return False
        row.delete_instance()
        return True


def exclusion_to_core(row: Exclusion) -> core.Exclusion:
    tenant = None if row.tenant_id is None else row.tenant
    return core.Exclusion(sku_id=row.sku_id, tenant_id=None if tenant is None else tenant.tenant_id, reason=row.reason)


def _exclusion_row(sku_id: str, tenant_id: str | None) -> Exclusion | None:
    query = Exclusion.select().where(fn.LOWER(Exclusion.sku_id) == sku_id.lower())
    if tenant_id is None:
        query = query.where(Exclusion.tenant.is_null())
    else:
        query = query.join(Tenant).where(Tenant.tenant_id == tenant_id)
    return query.first()


class Exclusions(Repository):
    """Licenses never billed: per tenant, or globally by SKU (SKU ids compared case-insensitively)."""

    def add(self, exclusion: core.Exclusion) -> core.Exclusion:
        tenant = None if exclusion.tenant_id is None else tenant_row(exclusion.tenant_id)
        with self.atomic():
            row = _exclusion_row(exclusion.sku_id, exclusion.tenant_id)
            if row is None:
                row = Exclusion(tenant=tenant, sku_id=exclusion.sku_id, created_at=self._now())
            row.reason = exclusion.reason
            row.save()
        return exclusion_to_core(row)

    def remove(self, sku_id: str, tenant_id: str | None = None) -> bool:
        row = _exclusion_row(sku_id, tenant_id)
        if row is None:
            return False
        row.delete_instance()
        return True

    def all(self) -> list[core.Exclusion]:
        query = Exclusion.select(Exclusion, Tenant).join(Tenant, join_type=JOIN.LEFT_OUTER).order_by(Exclusion.id)
        return [exclusion_to_core(row) for row in query]

    def for_tenant(self, tenant_id: str) -> list[core.Exclusion]:
        """The tenant's own exclusions and the global ones."""
        return [e for e in self.all() if e.tenant_id in (None, tenant_id)]
