"""Custom licenses: rows of a tenant's own, counted by a rule (app/billing/custom.py; docs/billing.md, "Custom
licenses").

Adding one counts it first, with the tenant's other custom licenses, in a
full read of the tenant (which also keeps the tenant's snapshot, so the row
shows in the license table at once with its count). A rule that cannot be
counted, or a read that fails, stores nothing and says why. A custom license
a mapping or a sum still names cannot be removed: removing it would cancel
its line, so the mapping goes first, on purpose.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.billing.custom import CountRule, CustomLicense
from app.errors import SeatsyncError
from app.services.providers import MicrosoftProvider
from app.services.sync.inventory import InventoryRefused
from app.services.uow import UnitOfWork, connected


class CustomRefused(SeatsyncError):
    """This custom license cannot be added or removed."""


@dataclass(frozen=True, kw_only=True)
class CustomAdded:
    custom: CustomLicense
    seats: int  # its count now


class CustomLicenseService:
    def __init__(self, uow: UnitOfWork, microsoft: MicrosoftProvider) -> None:
        self.uow = uow
        self.microsoft = microsoft

    def of_tenant(self, tenant_id: str) -> list[CustomLicense]:
        with connected():
            return self.uow.custom_licenses.of_tenants([tenant_id]).get(tenant_id, [])

    def groups(self, tenant_id: str) -> list[tuple[str, str]]:
        """The tenant's groups, (id, name) sorted by name, to choose the one a row counts (reads Graph)."""
        reads = self.microsoft.custom_reads(self.microsoft.tenant_partner(tenant_id))
        return sorted(reads.groups(tenant_id), key=lambda group: group[1].casefold())

    def add(self, tenant_id: str, *, name: str, rule: CountRule, param: str = "",
            terms: Sequence[tuple[int, str]] = (), group_name: str = "", actor: str = "") -> CustomAdded:
        """Count the new custom license in a read of the tenant, then keep it; ``CustomRefused`` when it cannot
        be counted (nothing is kept)."""
        try:
            custom = CustomLicense(id=uuid.uuid4().hex, tenant_id=tenant_id, name=name.strip(), rule=rule,
                                   param=param.strip(), terms=tuple(terms))
        except ValueError as error:
            raise CustomRefused(f"({error})") from error
        with connected():
            existing = self.uow.custom_licenses.of_tenants([tenant_id]).get(tenant_id, [])
            tenant = self.uow.tenants.find(tenant_id)
            snapshot = self.uow.inventory.latest(tenant_id)
        if tenant is None:
            raise CustomRefused(f"(no tenant {tenant_id})")
        if any(c.name.casefold() == custom.name.casefold() for c in existing):
            raise CustomRefused(f"({tenant.name} already has a custom license named {custom.name!r})")
        known = {c.sku_id for c in existing}
        if snapshot is not None:
            known |= {lic.sku_id.lower() for lic in snapshot.licenses}
        missing = [sku for _, sku in custom.terms if sku.lower() not in known]
        if missing:
            raise CustomRefused(f"({tenant.name} has no license {', '.join(missing)} to count)")
        try:
            inventory = self.microsoft.inventory_service(tenant.partner_id).fetch(tenant_id, name=tenant.name,
                                                                 custom=(*existing, custom))
        except InventoryRefused as error:
            raise CustomRefused(f"({custom.name} was not added: {error.detail or error})") from error
        with connected():
            self.uow.custom_licenses.add(custom, group_name=group_name.strip(), actor=actor)
        counted = inventory.license(custom.sku_id)
        return CustomAdded(custom=custom, seats=counted.assigned if counted else 0)

    def remove(self, custom_id: str, *, actor: str = "") -> bool:
        """Remove it (False: there was none); ``CustomRefused`` while a mapping or a sum names it."""
        with connected():
            found = next((c for group in self.uow.custom_licenses.of_tenants().values() for c in group
                          if c.id == custom_id), None)
            if found is None:
                return False
            if any(m.sku_id.lower() == found.sku_id for m in self.uow.mappings.for_tenant(found.tenant_id)):
                raise CustomRefused(f"({found.name} is mapped: remove its mapping first, which cancels its line "
                                    "at the next sync)")
            summing = [c.name for c in self.uow.custom_licenses.of_tenants([found.tenant_id])[found.tenant_id]
                       if any(sku.lower() == found.sku_id for _, sku in c.terms)]
            if summing:
                raise CustomRefused(f"({found.name} is counted by {', '.join(summing)}: remove that first)")
            return self.uow.custom_licenses.remove(custom_id, actor=actor)
