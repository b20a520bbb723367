"""Custom licenses of tenants. Adding, changing or removing one is audited in ``config_change`` (kind
``custom_license``) in the same transaction; a change is refused when someone saved the row since its editor
read it (``version``)."""

from __future__ import annotations

from typing import Any

from app.billing.custom import CountRule, CustomLicense
from app.models.connections import Tenant
from app.models.custom import CustomLicense as CustomLicenseRow
from app.models.records import RecordNotFound
from app.models.repositories._base import Repository
from app.models.repositories.versions import check_version, conflict, record_change, update_versioned

KIND = "custom_license"


def _core(row: CustomLicenseRow, tenant_id: str) -> CustomLicense:
    return CustomLicense(id=row.custom_id, tenant_id=tenant_id, name=row.name, rule=CountRule(row.rule),
                         param=row.param, terms=tuple((int(sign), str(sku)) for sign, sku in row.terms))


def custom_doc(custom: CustomLicense, group_name: str = "") -> dict[str, Any]:
    """A custom license as the configuration history keeps it."""
    return {"tenant_id": custom.tenant_id, "name": custom.name, "rule": custom.rule.value, "param": custom.param,
            "group_name": group_name, "terms": [list(term) for term in custom.terms]}


class CustomLicenses(Repository):
    def of_tenants(self, tenant_ids: list[str] | None = None) -> dict[str, list[CustomLicense]]:
        """Each tenant's custom licenses (of ``tenant_ids``, or every tenant), oldest first: a sum counts only
        rows before it."""
        query = (CustomLicenseRow.select(CustomLicenseRow, Tenant.tenant_id).join(Tenant)
                 .order_by(CustomLicenseRow.id))
        if tenant_ids is not None:
            query = query.where(Tenant.tenant_id.in_(tenant_ids))
        found: dict[str, list[CustomLicense]] = {}
        for row in query:
            found.setdefault(row.tenant.tenant_id, []).append(_core(row, row.tenant.tenant_id))
        return found

    def group_names(self, tenant_id: str) -> dict[str, str]:
        """custom id -> the name of the group a "group members" row counts, as it was when chosen."""
        query = (CustomLicenseRow.select(CustomLicenseRow.custom_id, CustomLicenseRow.group_name).join(Tenant)
                 .where(Tenant.tenant_id == tenant_id, CustomLicenseRow.group_name != ""))
        return {custom_id: name for custom_id, name in query.tuples()}

    def add(self, custom: CustomLicense, *, group_name: str = "", actor: str = "") -> None:
        """Store a new custom license of its tenant."""
        tenant = Tenant.get_or_none(Tenant.tenant_id == custom.tenant_id)
        if tenant is None:
            raise RecordNotFound(f"(no tenant {custom.tenant_id})")
        with self.atomic():
            now = self._now()
            CustomLicenseRow.create(tenant=tenant, custom_id=custom.id, name=custom.name, rule=custom.rule.value,
                                    param=custom.param, group_name=group_name,
                                    terms=[list(term) for term in custom.terms], created_at=now, version=1,
                                    updated_by=actor)
            record_change(kind=KIND, key=custom.id, action="created", before=None,
                          after=custom_doc(custom, group_name), actor=actor, at=now)

    def find(self, custom_id: str) -> CustomLicense | None:
        """The custom license of this id (None: there is none)."""
        row = (CustomLicenseRow.select(CustomLicenseRow, Tenant.tenant_id).join(Tenant)
               .where(CustomLicenseRow.custom_id == custom_id).first())
        return None if row is None else _core(row, row.tenant.tenant_id)

    def version(self, custom_id: str) -> int:
        """The row's version, which a change names (RecordNotFound when there is none)."""
        return int(self.current(custom_id, None).version)

    def current(self, custom_id: str, expected_version: int | None) -> CustomLicenseRow:
        """Its row, still at the version its editor read (``EditConflict`` naming who saved it since)."""
        row = CustomLicenseRow.get_or_none(CustomLicenseRow.custom_id == custom_id)
        check_version(row, expected_version, kind=KIND, key=custom_id,
                      what=lambda: f"the custom license {row.name if row else custom_id}")
        if row is None:
            raise RecordNotFound(f"(custom license {custom_id} was removed)")
        return row

    def change(self, custom: CustomLicense, *, group_name: str = "", expected_version: int | None = None,
               actor: str = "") -> None:
        """Store a custom license's new name and rule (its id, so its row and mapping, stay)."""
        with self.atomic():
            row = self.current(custom.id, expected_version)
            before = custom_doc(_core(row, row.tenant.tenant_id), row.group_name)
            values = {CustomLicenseRow.name: custom.name, CustomLicenseRow.rule: custom.rule.value,
                      CustomLicenseRow.param: custom.param, CustomLicenseRow.group_name: group_name,
                      CustomLicenseRow.terms: [list(term) for term in custom.terms]}
            if not update_versioned(CustomLicenseRow, row, values, actor=actor):
                raise conflict(KIND, custom.id, f"the custom license {row.name}", CustomLicenseRow.get_or_none(
                    CustomLicenseRow.custom_id == custom.id))
            record_change(kind=KIND, key=custom.id, action="changed", before=before,
                          after=custom_doc(custom, group_name), actor=actor, at=self._now())

    def remove(self, custom_id: str, *, actor: str = "") -> bool:
        """Remove it (False: there was none)."""
        with self.atomic():
            row = CustomLicenseRow.get_or_none(CustomLicenseRow.custom_id == custom_id)
            if row is None:
                return False
            before = custom_doc(_core(row, row.tenant.tenant_id), row.group_name)
            row.delete_instance()
            record_change(kind=KIND, key=custom_id, action="removed", before=before, after=None, actor=actor,
                          at=self._now())
        return True
