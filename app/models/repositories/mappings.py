"""Mappings: a license row billed through a profile on an agreement.

Converts to and from the billing core's Mapping. One mapping
per row: (tenant, SKU, subscription when split, user filter when narrowed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from peewee import IntegrityError

from app.billing import types as core
from app.models.billing import BillingProfile, Mapping, PsaProduct
from app.models.connections import Tenant, TenantCompany
from app.models.records import EditConflict
from app.models.repositories import summaries
from app.models.repositories._base import Repository, in_chunks
from app.models.repositories.catalog import profile_row, profile_to_core
from app.models.repositories.customers import tenant_row
from app.models.repositories.versions import (
    check_version,
    conflict,
    delete_versioned,
    record_change,
    update_versioned,
)

KIND = "mapping"


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
    ids = {profile_id for _, _, profile_id, *_ in rows}
    profiled = BillingProfile.select(BillingProfile, PsaProduct).join(PsaProduct)
    if len(ids) <= 100:  # a few mappings (a save reads one back): their profiles only, not every profile
        profiled = profiled.where(BillingProfile.id.in_(ids))
    profiles = {row.id: profile_to_core(row) for row in profiled}
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


def mapping_key(key: core.RowKey) -> str:
    """A mapping's name in the configuration history: its row's parts (tenant, SKU, subscription, filter)."""
    return "|".join((key.tenant_id, key.sku_id.lower(), key.subscription_id, key.filter_key))


def mapping_doc(mapping: core.Mapping, tenant_name: str) -> dict[str, Any]:
    """A mapping as the configuration history keeps it (JSON: its profile by id and name)."""
    return {"tenant_id": mapping.tenant_id, "tenant": tenant_name, "sku_id": mapping.sku_id,
            "subscription_id": mapping.subscription_id,
            "user_filter": mapping.user_filter.key if mapping.user_filter else "",
            "profile_id": mapping.profile.id, "profile": mapping.profile.name, "agreement_id": mapping.agreement_id,
            "basis": mapping.basis.value, "basis_param": mapping.basis_param,
            "usernames_in_description": mapping.usernames_in_description,
            "start_date_override": (mapping.start_date_override.isoformat()
                                    if mapping.start_date_override else None),
            "negative_proration": mapping.negative_proration, "included_quantity": mapping.included_quantity,
            "minimum_quantity": mapping.minimum_quantity, "description_override": mapping.description_override}


def _what(tenant_name: str, sku_id: str) -> str:
    return f"Mapping for {tenant_name} / {sku_id}"


class Mappings(Repository):
    """Mappings, each save checked against the version its editor started from (versions.py) and audited."""

    def save(self, mapping: core.Mapping, *, expected_version: int | None = None, actor: str = "") -> core.Mapping:
        """Create or replace the mapping of ``mapping.row``; its profile must be saved.

        ``expected_version``: the version the editor read (``versioned``; 0: it saw none), or None to save
        whatever is stored now. ``EditConflict`` when someone saved the row since; a save that changes
        nothing writes nothing.
        """
        tenant = tenant_row(mapping.tenant_id)
        profile = profile_row(mapping.profile.id)
        field, value = _filter(mapping.user_filter)
        key = mapping_key(mapping.row)
        what = lambda: _what(tenant.name, mapping.sku_id)  # noqa: E731
        with self.atomic():
            row = _row_of(mapping.row)
            check_version(row, expected_version, kind=KIND, key=key, what=what)
            before = None if row is None else mapping_doc(_mappings(Mapping.id == row.id)[0], tenant.name)
            intended = mapping_doc(replace(mapping, profile=profile_to_core(profile)), tenant.name)
            if before == intended:
                return self.get(mapping.row) or mapping
            now = self._now()
            values = {Mapping.tenant: tenant, Mapping.sku_id: mapping.sku_id,
                      Mapping.subscription_id: mapping.subscription_id, Mapping.filter_field: field,
                      Mapping.filter_value: value, Mapping.profile: profile,
                      Mapping.agreement_psa_id: mapping.agreement_id, Mapping.basis: mapping.basis.value,
                      Mapping.basis_param: mapping.basis_param,
                      Mapping.usernames_in_description: mapping.usernames_in_description,
                      Mapping.start_date_override: mapping.start_date_override,
                      Mapping.negative_proration: mapping.negative_proration,
                      Mapping.included_quantity: mapping.included_quantity,
                      Mapping.minimum_quantity: mapping.minimum_quantity,
                      Mapping.description_override: mapping.description_override, Mapping.updated_at: now}
            if row is None:
                try:
                    with self.atomic():
                        Mapping.insert({**values, Mapping.created_at: now, Mapping.version: 1,
                                        Mapping.updated_by: actor}).execute()
                except IntegrityError:
                    if expected_version is None:
                        raise
                    raise conflict(KIND, key, what(), _row_of(mapping.row)) from None
            elif not update_versioned(Mapping, row, values, actor=actor):
                raise conflict(KIND, key, what(), _row_of(mapping.row))
            result = self.get(mapping.row)
            assert result is not None
            record_change(kind=KIND, key=key, action="created" if row is None else "changed", before=before,
                          after=mapping_doc(result, tenant.name), actor=actor, at=now)
            summaries.refresh_tenants([mapping.tenant_id])
        return result

    def get(self, key: core.RowKey) -> core.Mapping | None:
        row = _row_of(key)
        return None if row is None else _mappings(Mapping.id == row.id)[0]

    def versioned(self, key: core.RowKey) -> tuple[core.Mapping | None, int]:
        """The row's mapping and its version, read together for an editor (None and 0: no mapping)."""
        row = _row_of(key)
        return (None, 0) if row is None else (_mappings(Mapping.id == row.id)[0], row.version)

    def stale(self, key: core.RowKey) -> EditConflict:
        """The refusal of an edit of the row begun before its last save: who saved (or removed) it, when."""
        row = _row_of(key)
        tenant = Tenant.get_or_none(Tenant.tenant_id == key.tenant_id)
        return conflict(KIND, mapping_key(key), _what(tenant.name if tenant else key.tenant_id, key.sku_id), row)

    def for_tenant(self, tenant_id: str) -> list[core.Mapping]:
        return _mappings(Tenant.tenant_id == tenant_id)

    def for_tenants(self, tenant_ids: Iterable[str]) -> list[core.Mapping]:
        """The mappings of ``tenant_ids``, in two queries per 500 tenants."""
        return [mapping for chunk in in_chunks(tenant_ids) for mapping in _mappings(Tenant.tenant_id.in_(chunk))]

    def for_agreement(self, agreement_psa_id: str) -> list[core.Mapping]:
        return _mappings(Mapping.agreement_psa_id == agreement_psa_id)

    def all(self) -> list[core.Mapping]:
        return _mappings()

    def count(self) -> int:
        """How many rows are mapped."""
        return Mapping.select().count()

    def any_billed(self) -> bool:
        """Whether a mapped row's tenant is billed to a PSA company: whether a sync has anything to do."""
        return Mapping.select().join(TenantCompany, on=TenantCompany.tenant == Mapping.tenant).exists()

    def mapped_skus(self) -> set[tuple[str, str]]:
        """(tenant id, lower-case SKU id) of every mapped row: what tells a mapped license from an unmapped one,
        without reading each mapping whole."""
        query = Mapping.select(Tenant.tenant_id, Mapping.sku_id).join(Tenant).distinct().tuples()
        return {(tenant_id, sku_id.lower()) for tenant_id, sku_id in query}

    def delete(self, key: core.RowKey, *, expected_version: int | None = None, actor: str = "") -> bool:
        """Remove the row's mapping (False: there was none); ``EditConflict`` when someone saved it since
        ``expected_version``."""
        with self.atomic():
            row = _row_of(key)
            name = lambda: _what(row.tenant.name if row else key.tenant_id, key.sku_id)  # noqa: E731
            check_version(row, expected_version, kind=KIND, key=mapping_key(key), what=name)
            if row is None:
                return False
            before = mapping_doc(_mappings(Mapping.id == row.id)[0], row.tenant.name)
            if not delete_versioned(Mapping, row):
                raise conflict(KIND, mapping_key(key), name(), _row_of(key))
            record_change(kind=KIND, key=mapping_key(key), action="removed", before=before, after=None,
                          actor=actor, at=self._now())
            summaries.refresh_tenants([key.tenant_id])
        return True
