"""Mappings (a license row billed through a profile on an agreement) and exclusions.

Converts to and from the billing core's Mapping and Exclusion. One mapping
per row: (tenant, SKU, subscription when split, user filter when narrowed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from peewee import JOIN, IntegrityError, fn

from app.billing import types as core
from app.models.billing import BillingProfile, Exclusion, Mapping, PsaProduct
from app.models.connections import Tenant
from app.models.records import EditConflict
from app.models.repositories import summaries
from app.models.repositories._base import Repository
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
EXCLUSION = "exclusion"


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

    def for_tenants(self, tenant_ids: list[str]) -> list[core.Mapping]:
        """The mappings of ``tenant_ids`` (at most 500), in the list's order, in two queries."""
        return _mappings(Tenant.tenant_id.in_(tenant_ids))

    def for_agreement(self, agreement_psa_id: str) -> list[core.Mapping]:
        return _mappings(Mapping.agreement_psa_id == agreement_psa_id)

    def all(self) -> list[core.Mapping]:
        return _mappings()

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


def exclusion_key(sku_id: str, tenant_id: str | None) -> str:
    """An exclusion's name in the configuration history: its tenant ('*' for every tenant) and SKU."""
    return f"{tenant_id or '*'}|{sku_id.lower()}"


def _exclusion_doc(row: Exclusion) -> dict[str, Any]:
    tenant = None if row.tenant_id is None else row.tenant
    return {"tenant_id": tenant.tenant_id if tenant else None, "tenant": tenant.name if tenant else "",
            "sku_id": row.sku_id, "reason": row.reason}


def _exclusion_what(sku_id: str, tenant: Tenant | None) -> str:
    return f"Exclusion of {sku_id} in {tenant.name if tenant else 'every tenant'}"


def _excluded(tenant_id: str | None) -> None:
    """An exclusion came or went: the Companies list's figures of the tenant's companies, or of every company
    for an exclusion in every tenant."""
    if tenant_id is None:
        summaries.refresh_all()
    else:
        summaries.refresh_tenants([tenant_id])


class Exclusions(Repository):
    """Licenses never billed: per tenant, or globally by SKU (SKU ids compared case-insensitively).
    Each change is checked against the version its editor read and audited (versions.py)."""

    def add(self, exclusion: core.Exclusion, *, expected_version: int | None = None,
            actor: str = "") -> core.Exclusion:
        """Exclude the license, or change the reason of its exclusion; ``EditConflict`` when someone saved
        it since ``expected_version`` (0: the editor saw no such exclusion)."""
        tenant = None if exclusion.tenant_id is None else tenant_row(exclusion.tenant_id)
        key = exclusion_key(exclusion.sku_id, exclusion.tenant_id)
        what = lambda: _exclusion_what(exclusion.sku_id, tenant)  # noqa: E731
        with self.atomic():
            row = _exclusion_row(exclusion.sku_id, exclusion.tenant_id)
            check_version(row, expected_version, kind=EXCLUSION, key=key, what=what)
            now = self._now()
            if row is None:
                row = Exclusion.create(tenant=tenant, sku_id=exclusion.sku_id, reason=exclusion.reason,
                                       created_at=now, version=1, updated_by=actor)
                record_change(kind=EXCLUSION, key=key, action="created", before=None, after=_exclusion_doc(row),
                              actor=actor, at=now)
                _excluded(exclusion.tenant_id)
            elif row.reason != exclusion.reason:
                before = _exclusion_doc(row)
                if not update_versioned(Exclusion, row, {Exclusion.reason: exclusion.reason}, actor=actor):
                    raise conflict(EXCLUSION, key, what(),
                                   _exclusion_row(exclusion.sku_id, exclusion.tenant_id))
                row.reason = exclusion.reason
                record_change(kind=EXCLUSION, key=key, action="changed", before=before, after=_exclusion_doc(row),
                              actor=actor, at=now)
        return exclusion_to_core(row)

    def remove(self, sku_id: str, tenant_id: str | None = None, *, expected_version: int | None = None,
               actor: str = "") -> bool:
        """Remove the exclusion (False: there was none); ``EditConflict`` when someone saved it since
        ``expected_version``."""
        key = exclusion_key(sku_id, tenant_id)
        with self.atomic():
            row = _exclusion_row(sku_id, tenant_id)
            tenant = None if tenant_id is None else Tenant.get_or_none(Tenant.tenant_id == tenant_id)
            what = lambda: _exclusion_what(sku_id, tenant)  # noqa: E731
            check_version(row, expected_version, kind=EXCLUSION, key=key, what=what)
            if row is None:
                return False
            before = _exclusion_doc(row)
            if not delete_versioned(Exclusion, row):
                raise conflict(EXCLUSION, key, what(), _exclusion_row(sku_id, tenant_id))
            record_change(kind=EXCLUSION, key=key, action="removed", before=before, after=None, actor=actor,
                          at=self._now())
            _excluded(tenant_id)
        return True

    def versions(self) -> dict[tuple[str | None, str], int]:
        """Each exclusion's version, by (tenant id or None, lower-case SKU id), for an editor of the list."""
        query = (Exclusion.select(Exclusion.sku_id, Exclusion.version, Tenant.tenant_id)
                 .join(Tenant, join_type=JOIN.LEFT_OUTER).tuples())
        return {(tenant_id, sku_id.lower()): version for sku_id, version, tenant_id in query}

    def all(self) -> list[core.Exclusion]:
        query = Exclusion.select(Exclusion, Tenant).join(Tenant, join_type=JOIN.LEFT_OUTER).order_by(Exclusion.id)
        return [exclusion_to_core(row) for row in query]

    def for_tenant(self, tenant_id: str) -> list[core.Exclusion]:
        """The tenant's own exclusions and the global ones."""
        return [e for e in self.all() if e.tenant_id in (None, tenant_id)]
